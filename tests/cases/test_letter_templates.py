"""The firm's letter texts (/staff/courriers/): who reads, who edits, and what a text must hold."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from django.test import Client

from core.models import AuditEntry
from mediation.cases import letter_texts
from mediation.cases.letters import Kind
from mediation.cases.models import LetterTemplate
from tests.factories import AdminFactory, UserFactory

LIST = "/staff/courriers/"
EDIT = f"/staff/courriers/{Kind.ACKNOWLEDGEMENT}/modifier/"
DETAIL = f"/staff/courriers/{Kind.ACKNOWLEDGEMENT}/"
VALID_BODY = (
    "Bonjour {{ recipient_name }}, dossier {{ reference }} reçu le {{ received_on|date:'j F Y' }}. "
    "Réponse sur la recevabilité avant le {{ admissibility_due_on|date:'j F Y' }}. La médiation est gratuite."
)


@pytest.fixture
def admin(tenant_a: Any, client_a: Client) -> Any:
    user = AdminFactory(email="admin@alpha.fr")
    client_a.force_login(user)
    return user


@pytest.fixture
def mediator(tenant_a: Any, client_a: Client) -> Any:
    user = UserFactory(role="mediator")
    client_a.force_login(user)
    return user


def test_list_shows_every_letter_default_or_customised(admin: Any, client_a: Client, use_tenant: Any) -> None:
    LetterTemplate.objects.create(kind=Kind.PROPOSAL, subject="s {{ reference }}", body="b")
    response = client_a.get(LIST)
    assert response.status_code == 200
    html = unescape(response.content.decode())
    for text in letter_texts.DEFAULTS.values():
        assert str(text.label) in html
    assert html.count("personnalisé") == 1
    assert EDIT in html


def test_mediator_reads_but_cannot_edit(mediator: Any, client_a: Client, use_tenant: Any) -> None:
    listing = client_a.get(LIST).content.decode()
    assert "/modifier/" not in listing
    detail = client_a.get(DETAIL)
    assert detail.status_code == 200
    assert "Mentions obligatoires" in detail.content.decode()
    assert "gratuite" in detail.content.decode()  # the preview of the default text
    assert client_a.get(EDIT).status_code == 403
    assert client_a.post(EDIT, {"subject": "x", "body": VALID_BODY}).status_code == 403
    use_tenant("alpha")
    assert not LetterTemplate.objects.exists()


def test_finance_cannot_read_letters(tenant_a: Any, client_a: Client) -> None:
    client_a.force_login(UserFactory(role="finance"))
    assert client_a.get(LIST).status_code == 403


def test_anonymous_goes_to_login(tenant_a: Any, client_a: Client) -> None:
    assert client_a.get(LIST).status_code == 302


def test_admin_saves_a_text_with_an_audit_row(admin: Any, client_a: Client, use_tenant: Any) -> None:
    response = client_a.post(EDIT, {"subject": "Bien reçu : {{ reference }}", "body": VALID_BODY})
    assert response.status_code == 302
    use_tenant("alpha")
    template = LetterTemplate.objects.get(kind=Kind.ACKNOWLEDGEMENT)
    assert template.subject == "Bien reçu : {{ reference }}"
    assert template.updated_by == admin
    entry = AuditEntry.objects.get(action="letter_template.update")
    assert entry.actor_email == "admin@alpha.fr"
    assert entry.changes["body"][1] == VALID_BODY


def test_preview_renders_without_saving(admin: Any, client_a: Client, use_tenant: Any) -> None:
    response = client_a.post(EDIT, {"subject": "Bien reçu : {{ reference }}", "body": VALID_BODY, "preview": "1"})
    assert response.status_code == 200
    assert "Bien reçu : 2026-00042" in response.content.decode()
    use_tenant("alpha")
    assert not LetterTemplate.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{% if reference %}jamais fermé", "ne peut pas être utilisé"),
        ("{{ reference|filtre_inconnu }}", "ne peut pas être utilisé"),
        ("{% include 'base.html' %}", "n&#x27;est pas autorisée"),
        ("{% debug %}", "n&#x27;est pas autorisée"),
        ("{% load static %}", "n&#x27;est pas autorisée"),
        (VALID_BODY + " {{ case.consumer_email }}", "Variable inconnue : case"),
    ],
)
def test_a_broken_text_is_a_form_error(admin: Any, client_a: Client, use_tenant: Any, body: str, message: str) -> None:
    response = client_a.post(EDIT, {"subject": "Objet {{ reference }}", "body": body})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'aria-describedby="id_body_error' in html or "aria-invalid" in html
    use_tenant("alpha")
    assert not LetterTemplate.objects.exists()


def test_a_missing_mandatory_variable_is_refused(admin: Any, client_a: Client, use_tenant: Any) -> None:
    body = VALID_BODY.replace("{{ admissibility_due_on|date:'j F Y' }}", "bientôt")
    response = client_a.post(EDIT, {"subject": "Objet {{ reference }}", "body": body})
    assert response.status_code == 400
    assert "Mention obligatoire absente" in response.content.decode()
    assert "admissibility_due_on" in response.content.decode()
    use_tenant("alpha")
    assert not LetterTemplate.objects.exists()


def test_reset_goes_back_to_the_default(admin: Any, client_a: Client, use_tenant: Any) -> None:
    LetterTemplate.objects.create(kind=Kind.ACKNOWLEDGEMENT, subject="s {{ reference }}", body=VALID_BODY)
    assert client_a.get(f"/staff/courriers/{Kind.ACKNOWLEDGEMENT}/reinitialiser/").status_code == 405
    response = client_a.post(f"/staff/courriers/{Kind.ACKNOWLEDGEMENT}/reinitialiser/")
    assert response.status_code == 302
    use_tenant("alpha")
    assert not LetterTemplate.objects.exists()
    assert AuditEntry.objects.filter(action="letter_template.reset").count() == 1


def test_unknown_kind_is_404(admin: Any, client_a: Client) -> None:
    assert client_a.get("/staff/courriers/inconnu/").status_code == 404
    assert client_a.get("/staff/courriers/inconnu/modifier/").status_code == 404


def test_every_default_text_holds_its_mandatory_variables_and_renders() -> None:
    context = letter_texts.sample_context()
    for kind, text in letter_texts.DEFAULTS.items():
        source = str(text.subject) + str(text.body)
        assert set(letter_texts.required_variables(kind)) <= letter_texts.used_variables(source), kind
        assert letter_texts.used_variables(source) <= set(letter_texts.VARIABLES), kind
        letter_texts.check_text(str(text.body), context=context)
        assert "odr" not in str(text.body).lower()


def test_a_firm_text_stays_in_its_firm(admin: Any, client_a: Client, client_b: Client, use_tenant: Any) -> None:
    client_a.post(EDIT, {"subject": "Alpha {{ reference }}", "body": VALID_BODY})
    use_tenant("beta")
    client_b.force_login(AdminFactory())
    html = client_b.get(DETAIL).content.decode()
    assert "Alpha 2026-00042" not in html
    assert "Texte par défaut" in html
    assert not LetterTemplate.objects.exists()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_default_text_renders_in_each_language(language):
    # The English catalogue translates the default letters too: a broken placeholder there would fail here.
    from django.utils import translation

    from mediation.cases import letter_texts

    with translation.override(language):
        context = letter_texts.sample_context()
        for kind, default in letter_texts.DEFAULTS.items():
            for source in (str(default.subject), str(default.body)):
                assert letter_texts.render_text(source, context).strip(), kind
            assert set(letter_texts.required_variables(kind)) <= letter_texts.used_variables(str(default.body)) | (
                letter_texts.used_variables(str(default.subject))
            ), kind

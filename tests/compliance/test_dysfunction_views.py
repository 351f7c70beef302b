"""The recurring dysfunctions' staff pages: the role table for every URL, what the alerts page shows, closing an
alert, the letter's preview and sending, the settings page, and the firm boundary."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail

from accounts.models import User
from accounts.permissions import Perm
from mediation.cases.models import Status
from mediation.compliance import dysfunctions
from mediation.compliance.models import DysfunctionAlert, DysfunctionSettings
from tests.compliance.test_dysfunctions import TODAY, make_case, settings_data
from tests.factories import AdminFactory, ContactFactory, MemberFactory
from tests.roles import ROLES_AND_ANONYMOUS, allowed, assert_html_outcome, log_in_with_role, role_id

BASE = "/staff/conformite/dysfonctionnements/"
WINDOW = {"window_start": TODAY - datetime.timedelta(days=89), "window_end": TODAY}


def member_alert(member: Any, **fields: Any) -> DysfunctionAlert:
    values = {"scope": "member", "value": str(member.pk), "label": str(member), "cases_count": 6, "threshold": 5}
    return DysfunctionAlert.objects.create(**{**values, **WINDOW, **fields})


@pytest.fixture
def shop(tenant_a) -> Any:
    shop = MemberFactory(legal_name="Boutique Alpha SARL", sector="retail")
    ContactFactory(member=shop, roles=["legal_representative"], email="gerant@boutique.fr")
    return shop


# --- The role table ---------------------------------------------------------------------------------------------

SETTINGS_EDIT = "settings"  # firm.settings or reports.edit


def may(role: User.Role | None, perm: Perm | str) -> bool:
    if perm == SETTINGS_EDIT:
        return allowed(role, Perm.FIRM_SETTINGS) or allowed(role, Perm.REPORTS_EDIT)
    assert isinstance(perm, Perm)
    return allowed(role, perm)


# (method, URL under BASE ("{pk}": a business's alert), permission, success status, POST data)
PAGES: list[tuple[str, str, Perm | str, int, dict[str, str]]] = [
    ("get", "", Perm.CASES_VIEW, 200, {}),
    ("get", "seuils/", SETTINGS_EDIT, 200, {}),
    ("post", "seuils/", SETTINGS_EDIT, 302, settings_data()),
    ("post", "{pk}/traiter/", Perm.CASES_DECIDE, 302, {"note": "Lettre envoyée."}),
    ("get", "{pk}/lettre/", Perm.CASES_VIEW, 200, {}),
    ("post", "{pk}/lettre/", Perm.CASES_DECIDE, 302, {}),
    ("get", "{pk}/lettre.pdf", Perm.CASES_VIEW, 200, {}),
]


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize(
    ("method", "path", "perm", "success", "data"), PAGES, ids=[f"{m} {p}" for m, p, _perm, _s, _d in PAGES]
)
def test_every_page_follows_the_role_table(shop, client_a, media_root, role, method, path, perm, success, data):
    alert = member_alert(shop)
    log_in_with_role(client_a, role)

    response = getattr(client_a, method)(BASE + path.format(pk=alert.pk), data)

    if role is None:
        assert_html_outcome(response, role=role, perm=Perm.CASES_VIEW, success=success)
    elif may(role, perm):
        assert response.status_code == success, response.content[:500]
    else:
        assert response.status_code == 403
        assert "Accès refusé" in response.content.decode()
    alert.refresh_from_db()
    changed = (alert.closed_at is not None, alert.letter_sent_at is not None, DysfunctionSettings.objects.exists())
    expected = may(role, perm) and method == "post"
    assert any(changed) == expected


# --- The alerts page --------------------------------------------------------------------------------------------


def test_the_page_lists_open_alerts_first_with_links_to_their_cases(shop, client_a):
    closed = member_alert(MemberFactory(legal_name="Ancien Garage"), note="Réglé.")
    closed.closed_at = closed.detected_at
    closed.save()
    member_alert(shop)
    DysfunctionAlert.objects.create(
        scope="subject", value="delivery", label="Livraison", cases_count=40, threshold=30, **WINDOW
    )
    sector_case = make_case(MemberFactory(sector="retail"))
    DysfunctionAlert.objects.create(
        scope="sector", value="retail", label="Commerce de détail", cases_count=1, threshold=20, **WINDOW
    )
    log_in_with_role(client_a, User.Role.CASE_OFFICER)

    page = client_a.get(BASE).content.decode()

    open_part, closed_part = page.split('id="closed-title"')
    assert "Boutique Alpha SARL" in open_part and "6 / 5" in open_part
    assert f"/staff/dossiers/?member={shop.siren}" in open_part
    assert "/staff/dossiers/?subject=delivery" in open_part
    assert f"/staff/dossiers/{sector_case.reference}/" in open_part
    assert "Ancien Garage" in closed_part and "Réglé." in closed_part
    assert "Ancien Garage" not in open_part
    assert "du 1 janvier 2026 au 31 mars 2026" in open_part
    assert "sur les 90 derniers jours atteignent un seuil : 5 par professionnel" in page  # the defaults
    assert "Marquer comme traitée" not in page  # a case officer cannot close (cases.decide)


def test_closing_without_a_note_is_a_form_error(shop, client_a):
    alert = member_alert(shop)
    log_in_with_role(client_a, User.Role.MEDIATOR)

    response = client_a.post(f"{BASE}{alert.pk}/traiter/", {"note": "  "})

    assert response.status_code == 400
    assert "Indiquez la suite donnée" in response.content.decode()
    alert.refresh_from_db()
    assert alert.closed_at is None


def test_closing_an_alert_already_closed_is_a_form_error(shop, client_a):
    alert = member_alert(shop)
    mediator = log_in_with_role(client_a, User.Role.MEDIATOR)
    assert mediator is not None
    dysfunctions.close_alert(alert=alert, by=mediator, note="Fait.")

    response = client_a.post(f"{BASE}{alert.pk}/traiter/", {"note": "Encore."})

    assert response.status_code == 400
    assert "déjà traitée" in response.content.decode()
    alert.refresh_from_db()
    assert alert.note == "Fait."


def test_unknown_alert_is_404(tenant_a, client_a):
    log_in_with_role(client_a, User.Role.ADMIN)

    assert client_a.get(f"{BASE}999999/lettre/").status_code == 404
    assert client_a.post(f"{BASE}999999/traiter/", {"note": "x"}).status_code == 404
    assert client_a.get(f"{BASE}abc/lettre/").status_code == 404


# --- The letter -------------------------------------------------------------------------------------------------


def test_the_preview_shows_the_recipient_and_the_numbers(shop, client_a):
    alert = member_alert(shop)
    log_in_with_role(client_a, User.Role.MEDIATOR)

    page = client_a.get(f"{BASE}{alert.pk}/lettre/").content.decode()

    assert "gerant@boutique.fr" in page
    assert "a reçu 6 demandes de médiation concernant Boutique Alpha SARL" in page
    assert "Envoyer la lettre par e-mail" in page
    assert mail.outbox == []


def test_sending_the_letter_emails_the_pdf_and_stamps_the_alert(shop, client_a, media_root):
    alert = member_alert(shop)
    log_in_with_role(client_a, User.Role.MEDIATOR)

    response = client_a.post(f"{BASE}{alert.pk}/lettre/", follow=True)

    assert "La lettre de recommandations est envoyée" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["gerant@boutique.fr"]
    assert message.attachments[0][1].startswith(b"%PDF")
    alert.refresh_from_db()
    assert alert.letter_sent_at is not None


def test_a_business_without_contact_gets_a_clear_error_and_nothing_is_sent(tenant_a, client_a):
    alert = member_alert(MemberFactory(legal_name="Sans Contact SAS"))
    log_in_with_role(client_a, User.Role.MEDIATOR)

    preview = client_a.get(f"{BASE}{alert.pk}/lettre/").content.decode()
    response = client_a.post(f"{BASE}{alert.pk}/lettre/")

    assert "aucun contact actif" in preview and "Envoyer la lettre par e-mail" not in preview
    assert response.status_code == 400
    assert "Rien n&#x27;a été envoyé." in response.content.decode()
    assert mail.outbox == []
    alert.refresh_from_db()
    assert alert.letter_sent_at is None


def test_a_sector_or_subject_alert_has_no_letter(tenant_a, client_a):
    alert = DysfunctionAlert.objects.create(
        scope="sector", value="retail", label="Commerce de détail", cases_count=20, threshold=20, **WINDOW
    )
    log_in_with_role(client_a, User.Role.ADMIN)

    assert client_a.get(f"{BASE}{alert.pk}/lettre/").status_code == 404
    assert client_a.post(f"{BASE}{alert.pk}/lettre/").status_code == 404
    assert mail.outbox == []


# --- The settings page ------------------------------------------------------------------------------------------


def test_the_settings_page_saves_the_thresholds_and_the_letter(tenant_a, client_a):
    log_in_with_role(client_a, User.Role.MEDIATOR)
    assert "valeurs par défaut" in client_a.get(f"{BASE}seuils/").content.decode()

    response = client_a.post(
        f"{BASE}seuils/", settings_data(letter_subject="Nos recommandations à {{ business_name }}")
    )

    assert response.status_code == 302
    row = DysfunctionSettings.objects.get()
    assert (row.window_days, row.member_threshold, row.sector_threshold, row.subject_threshold) == (60, 4, 12, 15)
    assert dysfunctions.letter_texts_for()[0] == "Nos recommandations à {{ business_name }}"


def test_bad_settings_are_form_errors_and_nothing_is_saved(tenant_a, client_a):
    log_in_with_role(client_a, User.Role.ADMIN)

    response = client_a.post(f"{BASE}seuils/", settings_data(member_threshold="1", letter_body="{{ oops }}"))

    assert response.status_code == 400
    page = response.content.decode()
    assert "Variable inconnue : oops" in page
    assert 'aria-invalid="true"' in page
    assert not DysfunctionSettings.objects.exists()


# --- The firm boundary ------------------------------------------------------------------------------------------


def test_another_firm_sees_none_of_the_alerts(shop, client_b, use_tenant):
    alert = member_alert(shop)
    make_case(shop, status=Status.RECEIVED)
    use_tenant("beta")
    admin_b = AdminFactory(email="admin@beta.fr")
    client_b.force_login(admin_b)

    page = client_b.get(BASE)
    letter = client_b.get(f"{BASE}{alert.pk}/lettre/")
    closing = client_b.post(f"{BASE}{alert.pk}/traiter/", {"note": "Intrusion."})
    pdf = client_b.get(f"{BASE}{alert.pk}/lettre.pdf")

    assert page.status_code == 200
    assert "Boutique Alpha SARL" not in page.content.decode()
    assert "Aucune alerte ouverte." in page.content.decode()
    assert (letter.status_code, closing.status_code, pdf.status_code) == (404, 404, 404)
    use_tenant("alpha")
    alert.refresh_from_db()
    assert alert.closed_at is None


def test_a_case_officer_does_not_see_the_settings_link(tenant_a, client_a):
    log_in_with_role(client_a, User.Role.CASE_OFFICER)
    assert "seuils/" not in client_a.get(BASE).content.decode()

"""A visitor opens a firm's space from the platform home, in seconds, without migrations."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from tenants import provisioning, services
from tenants.models import Domain, Plan, Signup, Tenant

FORM = {
    "legal_name": "Médiation Dupont SARL",
    "siren": "732 829 320",
    "slug": "dupont",
    "admin_first_name": "Marie",
    "admin_last_name": "Dupont",
    "admin_email": "Marie.Dupont@example.fr",
}


@pytest.fixture
def form_data(db) -> dict[str, str]:
    return {**FORM, "plan": str(Plan.objects.get(code="cabinet").pk)}


def text(response) -> str:
    return html.unescape(response.content.decode())


def _verification_link(message) -> str:
    return re.search(r"http://localhost/inscription/confirmer/\S+/", message.body).group(0)


def test_home_shows_the_plans_with_prices_and_the_way_in(public_client, db):
    page = text(public_client.get("/"))

    assert "Créer votre espace" in page
    assert "Essentiel" in page and "49,00\u00a0€ HT / mois" in page
    assert 'href="/inscription/?formule=cabinet"' in page


def test_home_in_english(public_client, db):
    page = text(public_client.get("/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Create your space" in page
    assert "€49.00 excl. VAT / month" in page


def test_bad_siren_is_refused_with_a_clear_message(public_client, form_data):
    response = public_client.post("/inscription/", {**form_data, "siren": "732829321"})

    assert response.status_code == 400
    assert "Ce numéro SIREN n'est pas valide" in text(response)
    assert not Signup.objects.exists()


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("www", "Ce sous-domaine est réservé"),
        ("pool-1", "Ce sous-domaine est réservé"),
        ("alpha", "Ce sous-domaine est déjà pris"),
        ("Dupont_SARL", "3 à 40 caractères"),
        ("ab", "3 à 40 caractères"),
        ("dupont-", "3 à 40 caractères"),
        ("du--pont", "3 à 40 caractères"),
        ("médiation", "3 à 40 caractères"),
    ],
)
def test_unavailable_or_malformed_sub_domain_is_refused(public_client, form_data, slug, message):
    response = public_client.post("/inscription/", {**form_data, "slug": slug})

    assert response.status_code == 400
    assert message in text(response)


def test_signup_sends_a_verification_link_and_creates_nothing_yet(
    public_client, form_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/inscription/", form_data)

    assert response.status_code == 201
    assert "marie.dupont@example.fr" in text(response)
    signup = Signup.objects.get()
    assert signup.status == Signup.Status.PENDING
    assert signup.siren == "732829320"
    assert not Tenant.objects.filter(schema_name="dupont").exists()
    assert len(mail.outbox) == 1
    assert _verification_link(mail.outbox[0])


def test_a_pending_sub_domain_cannot_be_taken_twice(public_client, form_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/inscription/", form_data)

    again = public_client.post("/inscription/", {**form_data, "admin_email": "other@example.fr"})

    assert again.status_code == 400
    assert "Ce sous-domaine est déjà pris" in text(again)


def _sign_up_and_verify(public_client, form_data, capture) -> Signup:
    with capture(execute=True):
        public_client.post("/inscription/", form_data)
    link = _verification_link(mail.outbox[-1])
    with capture(execute=True):
        response = public_client.get(link.replace("http://localhost", ""))
    signup = Signup.objects.get(slug=form_data["slug"])
    assert response.status_code == 302
    assert response["Location"] == f"/inscription/{signup.public_id}/"
    return signup


def test_verified_signup_creates_the_firm_its_host_and_its_admin(
    public_client, form_data, tenant_template, eager_celery, django_capture_on_commit_callbacks
):
    signup = _sign_up_and_verify(public_client, form_data, django_capture_on_commit_callbacks)

    signup.refresh_from_db()
    assert signup.status == Signup.Status.READY, signup.error
    tenant = Tenant.objects.get(schema_name="dupont")
    assert (tenant.name, tenant.siren, tenant.plan.code, tenant.kind) == (
        "Médiation Dupont SARL",
        "732829320",
        "cabinet",
        "firm",
    )
    assert Domain.objects.get(tenant=tenant).domain == "dupont.localhost"
    with schema_context("dupont"):
        admin = User.objects.get()
    assert (admin.email, admin.role, admin.first_name, admin.has_usable_password()) == (
        "marie.dupont@example.fr",
        "admin",
        "Marie",
        False,
    )
    from firm.models import FirmProfile

    with schema_context("dupont"):
        profile = FirmProfile.objects.get()
    assert (profile.legal_name, profile.siren, profile.contact_email) == (
        "Médiation Dupont SARL",
        "732829320",
        "marie.dupont@example.fr",
    )
    ready_mail = mail.outbox[-1]
    assert "est prêt" in ready_mail.subject
    assert "http://dupont.localhost/" in ready_mail.body
    assert "/accounts/password/reset/key/" in ready_mail.body


def test_progress_page_turns_into_space_ready_with_the_first_login_link(
    public_client, form_data, tenant_template, eager_celery, django_capture_on_commit_callbacks
):
    signup = _sign_up_and_verify(public_client, form_data, django_capture_on_commit_callbacks)

    page = text(public_client.get(f"/inscription/{signup.public_id}/"))

    assert "Votre espace est prêt" in page
    assert 'href="http://dupont.localhost/"' in page
    assert "Choisir mon mot de passe" in page
    assert "hx-trigger" not in page  # stops polling once done
    stranger = text(Client(HTTP_HOST="localhost").get(f"/inscription/{signup.public_id}/"))
    assert "Votre espace est prêt" in stranger
    assert "Choisir mon mot de passe" not in stranger


def test_progress_page_polls_while_the_space_is_being_created(public_client, form_data, tenant_template):
    signup = Signup.objects.create(
        **{k: v for k, v in FORM.items() if k != "siren"},
        siren="732829320",
        plan=Plan.objects.get(code="cabinet"),
        base_url="http://localhost",
        token_hash="x" * 64,
        status=Signup.Status.PROVISIONING,
    )

    fragment = text(public_client.get(f"/inscription/{signup.public_id}/", HTTP_HX_REQUEST="true"))

    assert fragment.lstrip().startswith('<div id="signup-status"')
    assert 'hx-trigger="every 1s"' in fragment
    assert "Création de l'espace en cours" in fragment


def test_first_login_link_sets_the_password_and_opens_the_staff_area(
    public_client, form_data, tenant_template, eager_celery, django_capture_on_commit_callbacks
):
    _sign_up_and_verify(public_client, form_data, django_capture_on_commit_callbacks)
    link = re.search(r"http://dupont\.localhost(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    firm = Client(HTTP_HOST="dupont.localhost")

    form_page = firm.get(link, follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    password = "une-phrase-de-passe-solide-2026"
    done = firm.post(action, {"password1": password, "password2": password})
    assert done.status_code == 302

    login = firm.post("/accounts/login/", {"login": "marie.dupont@example.fr", "password": password})
    assert login.status_code == 302
    assert firm.get("/staff/").status_code == 200


def test_the_new_firm_admin_cannot_log_in_on_another_firm(
    public_client, form_data, tenant_template, eager_celery, django_capture_on_commit_callbacks, client_a
):
    _sign_up_and_verify(public_client, form_data, django_capture_on_commit_callbacks)

    with schema_context("alpha"):
        assert not User.objects.filter(email="marie.dupont@example.fr").exists()


def test_a_spare_schema_is_claimed_by_renaming_it(tenant_template, db):
    assert provisioning.refill_pool(target=1) == 1
    spare = Tenant.objects.get(kind=Tenant.Kind.POOL)

    from django.db import transaction

    with transaction.atomic():
        tenant, method = provisioning.create_firm_schema(schema_name="cabinet_rapide", name="Cabinet Rapide")

    assert method == "pool"
    assert tenant.pk == spare.pk
    assert not Tenant.objects.filter(kind=Tenant.Kind.POOL).exists()
    assert schema_exists("cabinet_rapide") and not schema_exists(spare.schema_name)
    with schema_context("cabinet_rapide"):
        assert User.objects.count() == 0
    assert provisioning.missing_migrations("cabinet_rapide") == set()


def test_failure_leaves_no_half_made_schema_and_retry_works(
    public_client, form_data, tenant_template, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.Domain.objects, "create", broken)
    signup = _sign_up_and_verify(public_client, form_data, django_capture_on_commit_callbacks)

    signup.refresh_from_db()
    assert signup.status == Signup.Status.FAILED
    assert "Vous pouvez réessayer" in signup.error
    assert not schema_exists("dupont")
    assert not Tenant.objects.filter(schema_name="dupont").exists()
    page = text(public_client.get(f"/inscription/{signup.public_id}/"))
    assert "Réessayer" in page

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        retried = public_client.post(f"/inscription/{signup.public_id}/reessayer/")
    assert retried.status_code == 302
    signup.refresh_from_db()
    assert signup.status == Signup.Status.READY
    assert signup.attempts == 2
    assert schema_exists("dupont")


def test_a_template_that_lags_the_code_is_never_cloned(tenant_template, db):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenant_template.django_migrations WHERE app = 'accounts'")
    from django.db import transaction

    with pytest.raises(provisioning.TemplateOutdated), transaction.atomic():
        provisioning.create_firm_schema(schema_name="derive", name="Dérive")
    assert not schema_exists("derive")


def test_sub_domain_taken_during_provisioning_fails_with_a_clear_message(
    public_client, form_data, tenant_template, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/inscription/", form_data)
    Domain.objects.create(domain="dupont.localhost", tenant=Tenant.objects.get(schema_name="alpha"), is_primary=False)
    link = _verification_link(mail.outbox[-1])
    with django_capture_on_commit_callbacks(execute=True):
        public_client.get(link.replace("http://localhost", ""))

    signup = Signup.objects.get()
    assert signup.status == Signup.Status.FAILED
    assert signup.error == "Ce sous-domaine vient d'être pris par un autre cabinet."
    assert not schema_exists("dupont")


def test_expired_verification_link_is_refused(public_client, form_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/inscription/", form_data)
    link = _verification_link(mail.outbox[-1]).replace("http://localhost", "")

    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        response = public_client.get(link)

    assert response.status_code == 400
    assert "Ce lien de confirmation a expiré" in text(response)
    assert Signup.objects.get().status == Signup.Status.PENDING


def test_unknown_verification_link_is_refused(public_client, db):
    response = public_client.get("/inscription/confirmer/not-a-real-token/")
    assert response.status_code == 400
    assert "n'est pas valide" in text(response)

"""Support access to a firm: explicit, time-limited, single-use, and written to the firm's audit log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts import services as staff_services
from accounts.errors import StaffSeatsFull
from accounts.models import User
from core.models import AuditEntry
from firm.models import FirmProfile
from tenants import services, support
from tenants.models import Plan, SupportGrant, Tenant
from tests.factories import AdminFactory

REASON = "Ticket 4521 : import des adhérents bloqué"
BANNER = "Session d'assistance de la plateforme — se termine à"


@pytest.fixture
def operator(db) -> User:
    with schema_context("public"):
        return User.objects.create_superuser("ops@plateforme.fr", "x" * 12)


@pytest.fixture
def alpha(db) -> Tenant:
    return Tenant.objects.get(schema_name="alpha")


def _grant(operator: User, tenant: Tenant, **kwargs: object) -> tuple[SupportGrant, str]:
    with schema_context("public"):
        return support.grant_support_access(tenant=tenant, by=operator, reason=REASON, **kwargs)  # type: ignore[arg-type]


def _link(token: str) -> str:
    return f"/accounts/support/{token}/"


def _page(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


def _actions(schema: str) -> list[str]:
    with schema_context(schema):
        return list(
            AuditEntry.objects.filter(action__startswith="support.").order_by("id").values_list("action", flat=True)
        )


def _support_user() -> User:
    with schema_context("alpha"):
        return User.objects.get(is_platform_support=True)


# --- Opening the link --------------------------------------------------------------------------------------------


def test_the_link_opens_a_read_only_support_session_once(operator, alpha, client_a):
    grant, token = _grant(operator, alpha)

    response = client_a.get(_link(token))

    assert (response.status_code, response["Location"]) == (302, "/staff/")
    home = _page(client_a.get("/staff/"))
    ends_at = timezone.localtime(grant.expires_at).strftime("%H:%M")
    assert re.search(rf'role="status">\s*<div class="container">{BANNER} {ends_at}', home)
    assert "support+ops@localhost" in home
    assert client_a.get("/staff/cabinet/").status_code == 403  # read-only: no firm settings

    second = Client(HTTP_HOST="alpha.localhost").get(_link(token))
    assert second.status_code == 410
    assert "Ce lien d'accès support a déjà été utilisé" in _page(second)


def test_the_support_account_is_a_dedicated_staff_user_without_password(operator, alpha, client_a):
    _grant_obj, token = _grant(operator, alpha, level="admin")

    client_a.get(_link(token))

    user = _support_user()
    assert (user.email, user.first_name, user.last_name) == ("support+ops@localhost", "Support", "plateforme")
    assert (user.role, user.is_staff, user.is_superuser) == ("admin", True, False)
    assert not user.has_usable_password()


def test_an_admin_grant_reaches_the_firm_settings(operator, alpha, client_a):
    _grant_obj, token = _grant(operator, alpha, level="admin")

    client_a.get(_link(token))

    assert client_a.get("/staff/cabinet/").status_code == 200


def test_a_later_read_only_grant_takes_the_admin_role_back(operator, alpha, client_a):
    _g, token = _grant(operator, alpha, level="admin")
    client_a.get(_link(token))
    _g, token = _grant(operator, alpha, level="read_only")

    Client(HTTP_HOST="alpha.localhost").get(_link(token))

    assert (_support_user().role, _support_user().is_staff) == ("read_only", False)
    with schema_context("alpha"):
        assert User.objects.filter(is_platform_support=True).count() == 1


def test_an_expired_link_is_refused(operator, alpha, client_a):
    grant, token = _grant(operator, alpha, minutes=15)

    with time_machine.travel(grant.expires_at + timedelta(seconds=1), tick=False):
        response = client_a.get(_link(token))
        assert client_a.get("/staff/").status_code == 302  # still anonymous

    assert response.status_code == 410
    assert "Ce lien d'accès support a expiré" in _page(response)


def test_a_revoked_link_is_refused(operator, alpha, client_a):
    grant, token = _grant(operator, alpha)
    with schema_context("public"):
        support.revoke_support_access(grant=grant, by=operator)

    response = client_a.get(_link(token))

    assert response.status_code == 410
    assert "Cet accès support a été révoqué" in _page(response)


def test_an_unknown_token_is_refused(db, client_a):
    response = client_a.get(_link("pas-un-jeton"))

    assert response.status_code == 404
    assert "n'est pas valable pour ce cabinet" in _page(response)


def test_the_token_of_alpha_is_refused_on_the_host_of_beta(operator, alpha, client_a, client_b):
    _g, token = _grant(operator, alpha)

    refused = client_b.get(_link(token))

    assert refused.status_code == 404
    assert "n'est pas valable pour ce cabinet" in _page(refused)
    assert client_b.get("/staff/").status_code == 302
    with schema_context("beta"):
        assert not User.objects.filter(is_platform_support=True).exists()
    assert client_a.get(_link(token)).status_code == 302  # not used up by the refusal


# --- Ending the session ------------------------------------------------------------------------------------------


def test_the_session_ends_when_the_grant_expires_mid_session(operator, alpha, client_a):
    grant, token = _grant(operator, alpha, minutes=30)
    client_a.get(_link(token))
    assert client_a.get("/staff/").status_code == 200

    with time_machine.travel(grant.expires_at + timedelta(seconds=30), tick=False):
        response = client_a.get("/staff/", follow=True)
        assert client_a.get("/staff/").status_code == 302

    assert response.redirect_chain[0] == ("/accounts/login/", 302)
    assert "la durée accordée est écoulée" in _page(response)
    assert BANNER not in _page(response)
    with schema_context("alpha"):
        ended = AuditEntry.objects.get(action="support.session_ended")
    assert (ended.actor_email, ended.changes["reason"]) == ("support+ops@localhost", [None, "expired"])


def test_the_session_is_gone_once_the_grant_has_long_expired(operator, alpha, client_a):
    grant, token = _grant(operator, alpha, minutes=15)
    client_a.get(_link(token))

    with time_machine.travel(grant.expires_at + timedelta(hours=1), tick=False):
        assert client_a.get("/staff/")["Location"].startswith("/accounts/login/")


def test_revocation_ends_the_session_at_the_next_request(operator, alpha, client_a):
    grant, token = _grant(operator, alpha)
    client_a.get(_link(token))
    with schema_context("public"):
        support.revoke_support_access(grant=grant, by=operator)

    response = client_a.get("/staff/", follow=True)

    assert response.redirect_chain[0] == ("/accounts/login/", 302)
    assert "l'accès a été révoqué" in _page(response)
    assert client_a.get("/staff/").status_code == 302


def test_a_support_account_logged_in_without_a_grant_is_logged_out(operator, alpha, client_a):
    _g, token = _grant(operator, alpha)
    Client(HTTP_HOST="alpha.localhost").get(_link(token))

    client_a.force_login(_support_user())  # e.g. by an e-mail login code sent to the support address
    response = client_a.get("/staff/", follow=True)

    assert response.redirect_chain[0] == ("/accounts/login/", 302)
    assert "ne s'ouvre que par un lien d'accès support" in _page(response)


def test_a_support_session_is_not_sent_to_totp_activation(operator, alpha, client_a, use_tenant):
    use_tenant("alpha")
    FirmProfile.objects.update_or_create(pk=FirmProfile.SINGLETON_PK, defaults={"require_mfa": True})
    _g, token = _grant(operator, alpha)

    client_a.get(_link(token))

    assert client_a.get("/staff/").status_code == 200


# --- Audit logs ----------------------------------------------------------------------------------------------------


def test_every_step_is_written_to_the_firm_log_and_the_platform_log(operator, alpha, client_a):
    grant, token = _grant(operator, alpha, level="admin", minutes=45)
    client_a.get(_link(token))
    with schema_context("public"):
        support.revoke_support_access(grant=grant, by=operator)
    client_a.get("/staff/")

    assert _actions("alpha") == [
        "support.granted",
        "support.session_opened",
        "support.revoked",
        "support.session_ended",
    ]
    assert _actions("public") == ["support.granted", "support.revoked"]
    assert _actions("beta") == []
    with schema_context("alpha"):
        granted = AuditEntry.objects.get(action="support.granted")
        opened = AuditEntry.objects.get(action="support.session_opened")
    assert granted.changes["by"] == [None, "ops@plateforme.fr"]
    assert granted.changes["reason"] == [None, REASON]
    assert granted.changes["level"] == [None, "admin"]
    assert opened.actor_email == "support+ops@localhost"
    assert opened.changes["operator"] == [None, "ops@plateforme.fr"]
    with schema_context("public"):
        assert AuditEntry.objects.get(action="support.granted").actor_email == "ops@plateforme.fr"


def test_only_the_token_hash_is_stored(operator, alpha):
    grant, token = _grant(operator, alpha)

    assert token not in grant.token_hash
    assert grant.token_hash == services.hash_token(token)
    assert grant.expires_at == pytest.approx(grant.created_at + timedelta(minutes=60), abs=timedelta(seconds=5))


# --- What can be granted -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"minutes": 14}, "La durée doit être comprise entre 15 et 480 minutes."),
        ({"minutes": 481}, "La durée doit être comprise entre 15 et 480 minutes."),
        ({"reason": ""}, "Indiquez le motif de l'accès support."),
        ({"reason": "   "}, "Indiquez le motif de l'accès support."),
        ({"level": "superuser"}, "Ce niveau d'accès n'existe pas."),
    ],
)
def test_a_bad_duration_reason_or_level_is_refused(operator, alpha, kwargs, message):
    arguments = {"tenant": alpha, "by": operator, "reason": REASON, **kwargs}

    with pytest.raises(support.SupportAccessError) as refused:
        support.grant_support_access(**arguments)  # type: ignore[arg-type]

    assert str(refused.value.message) == message
    assert not SupportGrant.objects.exists()


def test_the_platform_and_non_firm_tenants_are_refused(operator, alpha):
    Tenant.objects.filter(schema_name="beta").update(kind=Tenant.Kind.POOL)

    for schema in ("public", "beta"):
        with pytest.raises(support.SupportAccessError, match="Seul un cabinet peut recevoir un accès support"):
            _grant(operator, Tenant.objects.get(schema_name=schema))
    assert not SupportGrant.objects.exists()


def test_a_suspended_firm_is_refused(operator, alpha):
    services.suspend_firm(tenant=alpha, by=operator, reason="Impayé")

    with pytest.raises(support.SupportAccessError, match="Ce cabinet est suspendu"):
        _grant(operator, alpha)


def test_the_support_account_takes_no_staff_seat(operator, alpha, client_a, use_tenant):
    plan = Plan.objects.create(code="duo", name="Duo", monthly_price_cents=1000, max_staff_seats=2)
    Tenant.objects.filter(pk=alpha.pk).update(plan=plan)
    _g, token = _grant(operator, alpha)
    client_a.get(_link(token))
    use_tenant("alpha")
    admin = AdminFactory()

    staff_services.invite_staff(by=admin, email="second@example.fr", role="mediator", site_url="http://alpha.localhost")
    with pytest.raises(StaffSeatsFull):
        staff_services.invite_staff(by=admin, email="third@example.fr", role="mediator", site_url="http://x")


# --- The operator console ------------------------------------------------------------------------------------------


@pytest.fixture
def console(operator) -> Client:
    client = Client(HTTP_HOST="localhost:8000")
    client.force_login(operator)
    return client


def _open_action(console: Client, tenant: Tenant, **form: object) -> str:
    data: dict[str, object] = {"action": "open_support_access", "_selected_action": [tenant.pk], **form}
    return _page(console.post("/admin/tenants/tenant/", data, follow=True))


def test_the_console_opens_an_access_and_shows_the_link_once(console, alpha):
    form_page = _open_action(console, alpha)
    assert "Motif" in form_page and "Durée (minutes)" in form_page and "Cabinet Alpha Médiation" in form_page

    link_page = _open_action(console, alpha, apply="1", reason=REASON, level="admin", minutes="30")

    match = re.search(r"http://alpha\.localhost:8000(/accounts/support/[\w-]+/)", link_page)
    assert match, link_page
    grant = SupportGrant.objects.get()
    assert (grant.tenant, grant.level, grant.operator_email) == (alpha, "admin", "ops@plateforme.fr")
    assert grant.expires_at == pytest.approx(timezone.now() + timedelta(minutes=30), abs=timedelta(seconds=10))
    firm = Client(HTTP_HOST="alpha.localhost")
    assert firm.get(match.group(1))["Location"] == "/staff/"
    assert firm.get("/staff/cabinet/").status_code == 200
    assert match.group(1) not in _page(console.get("/admin/tenants/supportgrant/"))


def test_the_console_refuses_a_bad_duration_with_the_reason(console, alpha):
    page = _open_action(console, alpha, apply="1", reason=REASON, level="read_only", minutes="600")

    assert "La durée doit être comprise entre 15 et 480 minutes." in page
    assert not SupportGrant.objects.exists()


def test_the_console_refuses_a_suspended_firm(console, operator, alpha):
    services.suspend_firm(tenant=alpha, by=operator, reason="Impayé")

    page = _open_action(console, alpha)

    assert "Ce cabinet est suspendu" in page
    assert "Motif" not in page


def test_the_console_lists_and_revokes_grants(console, operator, alpha, client_a):
    grant, token = _grant(operator, alpha)
    client_a.get(_link(token))

    listing = _page(console.get("/admin/tenants/supportgrant/"))
    assert "Cabinet Alpha Médiation" in listing and "ops@plateforme.fr" in listing and REASON in listing

    response = console.post(
        "/admin/tenants/supportgrant/", {"action": "revoke", "_selected_action": [grant.pk]}, follow=True
    )

    assert "1 accès support révoqué." in _page(response)
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert client_a.get("/staff/").status_code == 302


def test_a_firm_host_does_not_show_the_grants(operator, alpha, client_a, use_tenant):
    _grant(operator, alpha)
    use_tenant("alpha")
    admin = AdminFactory(is_superuser=True)
    client_a.force_login(admin)

    assert client_a.get("/admin/tenants/supportgrant/").status_code in (302, 403)


def test_a_firm_superuser_cannot_open_access_to_another_firm_from_its_own_host(db, use_tenant, client_a):
    beta = Tenant.objects.get(schema_name="beta")
    use_tenant("alpha")
    client_a.force_login(AdminFactory(is_superuser=True))

    form = {"apply": "1", "reason": REASON, "level": "admin", "minutes": "60"}
    response = client_a.post(
        "/admin/tenants/tenant/", {"action": "open_support_access", "_selected_action": [beta.pk], **form}
    )

    assert response.status_code == 403
    assert not SupportGrant.objects.exists()

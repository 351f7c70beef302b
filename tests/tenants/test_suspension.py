from __future__ import annotations

from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from core.models import AuditEntry
from tenants import services
from tenants.models import Tenant


def _operator() -> User:
    with schema_context("public"):
        return User.objects.create_user("ops@plateforme.fr", "x" * 12, role=User.Role.ADMIN, is_staff=True)


def test_a_suspended_firm_shows_a_clear_page_and_keeps_its_data(db, use_tenant):
    use_tenant("alpha")
    User.objects.create_user("keep@example.fr", "x" * 12)
    connection.set_schema_to_public()

    services.suspend_firm(tenant=Tenant.objects.get(schema_name="alpha"), by=_operator(), reason="Impayé")

    response = Client(HTTP_HOST="alpha.localhost").get("/")
    assert response.status_code == 403
    assert "Cet espace est temporairement suspendu" in response.content.decode()
    assert Client(HTTP_HOST="alpha.localhost").get("/accounts/login/").status_code == 403
    assert Client(HTTP_HOST="beta.localhost").get("/").status_code == 200
    with schema_context("alpha"):
        assert User.objects.filter(email="keep@example.fr").exists()


def test_reactivation_opens_the_firm_again(db):
    operator = _operator()
    alpha = Tenant.objects.get(schema_name="alpha")
    services.suspend_firm(tenant=alpha, by=operator, reason="Impayé")

    services.reactivate_firm(tenant=alpha, by=operator)

    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 200
    alpha.refresh_from_db()
    assert (alpha.is_active, alpha.suspended_at, alpha.suspension_reason) == (True, None, "")


def test_suspension_is_written_to_the_platform_log_and_the_firm_log(db):
    operator = _operator()

    services.suspend_firm(tenant=Tenant.objects.get(schema_name="alpha"), by=operator, reason="Impayé")

    with schema_context("public"):
        platform_entry = AuditEntry.objects.get(action="firm.suspended")
    assert platform_entry.actor_email == "ops@plateforme.fr"
    assert platform_entry.changes["reason"] == [None, "Impayé"]
    with schema_context("alpha"):
        firm_entry = AuditEntry.objects.get(action="firm.suspended")
    assert firm_entry.changes["by"] == [None, "ops@plateforme.fr"]


def test_operator_suspends_from_the_console(db, public_client):
    operator = _operator()
    operator.is_superuser = True
    operator.save()
    public_client.force_login(operator)
    alpha = Tenant.objects.get(schema_name="alpha")

    response = public_client.post(
        "/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [alpha.pk]}, follow=True
    )

    assert "1 cabinet suspendu." in response.content.decode()
    alpha.refresh_from_db()
    assert alpha.is_active is False

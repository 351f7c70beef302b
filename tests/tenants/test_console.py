"""The operator console's firm list: figures from each firm's schema, in a constant number of queries."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.models import Tenant


def _operator(public_client):
    public_client.force_login(User.objects.create_superuser("ops@plateforme.fr", "x" * 12))


def test_the_firm_list_shows_each_firms_active_staff(db, public_client):
    with schema_context("alpha"):
        User.objects.create_user("a1@alpha.fr", "x" * 12)
        User.objects.create_user("a2@alpha.fr", "x" * 12)
        User.objects.create_user("gone@alpha.fr", "x" * 12, is_active=False)
    _operator(public_client)

    response = public_client.get("/admin/tenants/tenant/?kind__exact=firm")

    rows = {t.schema_name: getattr(t, "figures", None) for t in response.context["cl"].result_list}
    assert {k: v["staff"] for k, v in rows.items() if v is not None} == {"alpha": 2, "beta": 0}


def test_the_firm_list_costs_the_same_queries_for_more_firms(db, public_client):
    _operator(public_client)
    url = "/admin/tenants/tenant/?kind__exact=firm"
    public_client.get(url)
    with CaptureQueriesContext(connection) as two_firms:
        public_client.get(url)

    for n in range(3):
        Tenant.objects.create(schema_name=f"extra_{n}", name=f"Extra {n}")
    with CaptureQueriesContext(connection) as five_firms:
        public_client.get(url)

    assert len(five_firms) == len(two_firms)


def test_staff_activity_is_recorded_for_the_console(db, client_a, use_tenant):
    use_tenant("alpha")
    user = User.objects.create_user("a1@alpha.fr", "x" * 12)
    client_a.force_login(user)

    client_a.get("/staff/")

    connection.set_schema_to_public()
    assert Tenant.objects.get(schema_name="alpha").last_activity_at is not None
    assert Tenant.objects.get(schema_name="beta").last_activity_at is None


def test_a_schema_behind_the_migrations_does_not_break_the_firm_list(db, public_client):
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE "beta"."accounts_user" DROP COLUMN is_platform_support')
    _operator(public_client)

    response = public_client.get("/admin/tenants/tenant/?kind__exact=firm")

    assert response.status_code == 200
    assert all(getattr(t, "figures", None) is None for t in response.context["cl"].result_list)


def test_the_firm_list_counts_each_firms_members(db, public_client, use_tenant):
    from tests.factories import MemberFactory

    use_tenant("alpha")
    MemberFactory(status="active")
    MemberFactory(status="prospect")
    connection.set_schema_to_public()
    _operator(public_client)

    response = public_client.get("/admin/tenants/tenant/?kind__exact=firm")

    rows = {t.schema_name: getattr(t, "figures", None) for t in response.context["cl"].result_list}
    assert (rows["alpha"]["members"], rows["alpha"]["active_members"]) == (2, 1)
    assert "2 (1)" in response.content.decode()


def test_the_firm_list_counts_running_cases(db, public_client, use_tenant, media_root):
    from mediation.cases import services
    from mediation.cases.models import Party
    from tests.factories import received_case

    use_tenant("alpha")
    received_case()
    services.withdraw(case=received_case(), party=Party.CONSUMER)
    connection.set_schema_to_public()
    _operator(public_client)

    response = public_client.get("/admin/tenants/tenant/?kind__exact=firm")

    rows = {t.schema_name: getattr(t, "figures", None) for t in response.context["cl"].result_list}
    assert (rows["alpha"]["open_cases"], rows["alpha"]["cases_this_year"]) == (1, 2)
    assert (rows["beta"]["open_cases"], rows["beta"]["cases_this_year"]) == (0, 0)


def test_the_firm_list_counts_invoices_issued_this_year(db, public_client, use_tenant, media_root):
    from billing import services
    from tests.billing.helpers import LINE, billable_member, finance_user, issued_invoice

    use_tenant("alpha")
    first = issued_invoice()
    issued_invoice()
    services.create_credit_note(by=finance_user(), invoice=first, reason="Erreur")  # not an invoice
    services.create_draft(by=finance_user(), member=billable_member(), lines=[LINE])  # not issued
    connection.set_schema_to_public()
    _operator(public_client)

    response = public_client.get("/admin/tenants/tenant/?kind__exact=firm")

    rows = {t.schema_name: getattr(t, "figures", None) for t in response.context["cl"].result_list}
    assert (rows["alpha"]["invoices_this_year"], rows["beta"]["invoices_this_year"]) == (2, 0)
    assert "actures émises cette année" in response.content.decode()


def test_the_running_cases_figure_follows_the_state_machine():
    from mediation.cases.models import OPEN_STATUSES
    from tenants.selectors import FIRM_FIGURES

    condition = FIRM_FIGURES["open_cases"][1].as_string(None)  # type: ignore[arg-type]
    assert {part.strip(" '") for part in condition.split("(")[1].rstrip(")").split(",")} == set(OPEN_STATUSES)

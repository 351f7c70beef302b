"""The firm side of the platform-wide coverage index: each membership change reaches it after commit,
and the nightly rebuild makes it exactly the firm's covered members."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from mediation.members import coverage_sync, coverage_tasks  # noqa: F401  (registers the tasks until MembersConfig.ready does)
from mediation.members import membership as ms
from mediation.members.models import Member
from tenants import coverage_index
from tenants.models import CoveredBusiness, Tenant
from tests.factories import AdminFactory, MemberFactory
from tests.members.membership_helpers import accepted, active_member, member_with_contacts

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def receivers():
    """The receivers `MembersConfig.ready` connects; connected here too until it does, never disconnected twice."""
    newly = coverage_sync.connect_receivers()
    yield
    if newly:
        coverage_sync.disconnect_receivers()


@pytest.fixture(autouse=True)
def empty_index(db):
    # The public schema is never flushed between tests: start from an empty index whatever ran before.
    with schema_context(get_public_schema_name()):
        CoveredBusiness.objects.all().delete()


@pytest.fixture
def admin(tenant_a, media_root):
    return AdminFactory(email="admin@cabinet.fr")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs the block's after-commit work (the index sync), as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def rows(tenant: Tenant) -> dict[str, CoveredBusiness]:
    with schema_context(get_public_schema_name()):
        return {row.siren: row for row in CoveredBusiness.objects.filter(tenant=tenant)}


# --- After each change ---------------------------------------------------------------------------


def test_a_member_becoming_active_appears_with_its_validity(admin, tenant_a, committed):
    with committed():
        member, term = active_member(admin, legal_name="Boulangerie Étienne SARL", trade_name="Le Fournil")
    row = rows(tenant_a)[member.siren]
    assert (row.name, row.trade_name, row.covered_until) == ("Boulangerie Étienne SARL", "Le Fournil", term.ends_on)
    assert row.search_text == "boulangerie etienne sarl le fournil"


def test_an_accepted_but_unpaid_member_is_not_in_the_index(admin, tenant_a, committed):
    with committed():
        member = member_with_contacts()
        accepted(member)
    assert member.siren not in rows(tenant_a)


def test_one_sync_per_member_per_transaction(admin, tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        member, _term = active_member(admin)
    # The PDF e-mails of the convention may be there too; the index work is one callback.
    ours = [c for c in callbacks if getattr(c, "coverage_key", None) == ("alpha", member.pk)]
    assert len(ours) == 1


def test_a_rolled_back_activation_never_reaches_the_index(admin, tenant_a, committed):
    with committed():
        member = member_with_contacts()
        term = accepted(member)
        with pytest.raises(RuntimeError), transaction.atomic():
            ms.mark_paid(by=admin, membership=term)
            raise RuntimeError("payment reversed")
    assert member.siren not in rows(tenant_a)


def test_terminating_removes_the_member(admin, tenant_a, committed):
    with committed():
        member, _term = active_member(admin)
    assert member.siren in rows(tenant_a)
    with committed():
        ms.terminate(by=admin, member=member, reason="Cessation d'activité")
    assert member.siren not in rows(tenant_a)


def test_lapsing_removes_the_member_and_its_row_is_not_shown_after_its_date(admin, tenant_a, committed):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False), committed():
        member, term = active_member(admin)
    assert term.ends_on == datetime.date(2026, 1, 9)
    # Before the run: the row is there, but the day after its date no search shows it.
    assert coverage_index.search(member.siren, today=term.ends_on)
    assert coverage_index.search(member.siren, today=term.ends_on + datetime.timedelta(days=1)) == []

    after = term.ends_on + datetime.timedelta(days=1)
    with time_machine.travel(at(after), tick=False), committed():
        ms.daily_membership_run(today=after)
    member.refresh_from_db()
    assert member.status == Member.Status.LAPSED
    assert member.siren not in rows(tenant_a)


def test_paying_a_renewal_in_advance_extends_the_validity(admin, tenant_a, committed):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False), committed():
        member, term = active_member(admin)
    with time_machine.travel(at(datetime.date(2025, 12, 1)), tick=False), committed():
        renewal = ms.renew(by=admin, member=member)
        assert rows(tenant_a)[member.siren].covered_until == term.ends_on  # not paid yet
        ms.mark_paid(by=admin, membership=renewal)
    assert rows(tenant_a)[member.siren].covered_until == renewal.ends_on == datetime.date(2027, 1, 9)


def test_renaming_a_covered_member_updates_its_row(admin, tenant_a, committed):
    with committed():
        member, _term = active_member(admin, legal_name="Ancien Nom SAS")
    with committed():
        member.legal_name = "Nouveau Nom SAS"
        member.save()
    assert rows(tenant_a)[member.siren].name == "Nouveau Nom SAS"


def test_the_sync_writes_the_public_table_from_the_firm_schema(admin, tenant_a, committed):
    with committed():
        member, _term = active_member(admin)
    assert connection.schema_name == "alpha"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.tenants_coveredbusiness WHERE siren = %s", [member.siren])
        assert cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'alpha' "
            "AND table_name = 'tenants_coveredbusiness'"
        )
        assert cursor.fetchone()[0] == 0


def test_each_firm_writes_only_its_own_rows(admin, tenant_a, use_tenant, committed, media_root):
    with committed():
        member_a, _ = active_member(admin)
    tenant_b = use_tenant("beta")
    with committed():
        member_b, _ = active_member(AdminFactory(email="admin@beta.fr"))
    assert set(rows(tenant_b)) == {member_b.siren}
    assert set(rows(tenant_a)) == {member_a.siren}


def test_two_firms_covering_the_same_siren_are_both_listed(admin, tenant_a, use_tenant, committed):
    with committed():
        member_a, _term_a = active_member(admin, legal_name="Garage du Centre")
    use_tenant("beta")
    with committed():
        active_member(AdminFactory(email="admin@beta.fr"), siren=member_a.siren, legal_name="Garage du Centre")
    found = coverage_index.search(member_a.siren)
    assert sorted(f.firm_name for f in found) == ["Beta Médiation Conseil", "Cabinet Alpha Médiation"]


# --- The nightly rebuild -------------------------------------------------------------------------------


def test_rebuild_adds_the_missing_and_removes_the_stale(admin, tenant_a):
    # Changes made without their after-commit work (a bulk update, a crash): the index lags.
    covered, term = active_member(admin, legal_name="Présente SARL")
    lapsed = MemberFactory()
    coverage_index.upsert(
        tenant=tenant_a, siren=lapsed.siren, name=lapsed.legal_name, trade_name="", covered_until=term.ends_on
    )
    coverage_index.upsert(
        tenant=tenant_a, siren=covered.siren, name="Ancien nom", trade_name="", covered_until=datetime.date(2020, 1, 1)
    )

    counts = coverage_sync.rebuild_for_current_tenant()

    assert counts == {"added": 0, "updated": 1, "removed": 1, "unchanged": 0}
    row = rows(tenant_a)[covered.siren]
    assert set(rows(tenant_a)) == {covered.siren}
    assert (row.name, row.covered_until) == ("Présente SARL", term.ends_on)


def test_rebuild_adds_a_covered_member_the_index_missed(admin, tenant_a):
    member, term = active_member(admin)
    assert rows(tenant_a) == {}
    assert coverage_sync.rebuild_for_current_tenant()["added"] == 1
    assert rows(tenant_a)[member.siren].covered_until == term.ends_on


def test_rebuild_gives_the_same_validity_as_the_coverage_rule(admin, tenant_a):
    with time_machine.travel(at(datetime.date(2025, 1, 10)), tick=False):
        member, _term = active_member(admin)
    with time_machine.travel(at(datetime.date(2025, 12, 1)), tick=False):
        ms.mark_paid(by=admin, membership=ms.renew(by=admin, member=member))
        coverage_sync.rebuild_for_current_tenant()
        assert rows(tenant_a)[member.siren].covered_until == ms.covered_until(member=member)
    assert ms.covered_until(member=member, on=datetime.date(2025, 12, 1)) == datetime.date(2027, 1, 9)


def test_rebuild_twice_changes_nothing(admin, tenant_a):
    active_member(admin)
    coverage_sync.rebuild_for_current_tenant()
    assert coverage_sync.rebuild_for_current_tenant() == {"added": 0, "updated": 0, "removed": 0, "unchanged": 1}


def test_rebuild_reads_a_constant_number_of_queries(admin, tenant_a, django_assert_max_num_queries):
    for _ in range(5):
        active_member(admin)
    coverage_sync.rebuild_for_current_tenant()
    for _ in range(5):
        active_member(admin)
    with django_assert_max_num_queries(12):
        coverage_sync.rebuild_for_current_tenant()


def test_the_nightly_fan_out_rebuilds_every_firm(admin, tenant_a, use_tenant, eager_celery):
    from core.tasks import fan_out

    member, _term = active_member(admin)
    connection.set_schema_to_public()
    schemas = fan_out("mediation.members.coverage_tasks.rebuild_coverage_index")
    assert {"alpha", "beta"} <= set(schemas)
    assert set(rows(Tenant.objects.get(schema_name="alpha"))) == {member.siren}


def test_nothing_is_indexed_from_the_public_schema(db):
    assert coverage_sync.current_firm() is None
    assert coverage_sync.rebuild_for_current_tenant() == {}


def test_the_cleanup_task_drops_a_suspended_firms_rows(admin, tenant_a):
    from mediation.members.coverage_tasks import drop_inactive_firms

    active_member(admin)
    coverage_sync.rebuild_for_current_tenant()
    connection.set_schema_to_public()
    Tenant.objects.filter(schema_name="alpha").update(is_active=False)
    assert drop_inactive_firms.apply().get() == {"inactive": 1, "expired": 0}
    assert rows(tenant_a) == {}

from __future__ import annotations

import io

from django.core.management import call_command
from django_tenants.utils import schema_context

from accounts.models import User
from firm.models import FirmProfile, Mediator
from mediation.cases.models import Case
from mediation.members.models import Contact, Group, Member
from tenants.models import Domain, Tenant


def _snapshot() -> dict[str, object]:
    with schema_context("public"):
        tenants = sorted(Tenant.objects.values_list("schema_name", "name", "siren", "is_active"))
        domains = sorted(Domain.objects.values_list("domain", "tenant__schema_name", "is_primary"))
        operators = sorted(User.objects.values_list("email", "role", "password", "is_superuser"))
    with schema_context("demo"):
        staff = sorted(User.objects.values_list("email", "role", "password", "first_name", "is_staff"))
        profile = list(FirmProfile.objects.values_list("legal_name", "siren", "invoice_prefix"))
        mediators = list(Mediator.objects.values_list("email", "user__email"))
        groups = sorted(Group.objects.values_list("pk", "name", "kind"))
        members = sorted(Member.objects.values_list("pk", "siren", "legal_name", "status", "group__name"))
        contacts = sorted(Contact.objects.values_list("pk", "member__siren", "email", "roles"))
        cases = sorted(Case.objects.values_list("pk", "reference", "status", "member__siren", "next_due_on"))
    return {
        "tenants": tenants,
        "domains": domains,
        "operators": operators,
        "staff": staff,
        "profile": profile,
        "mediators": mediators,
        "groups": groups,
        "members": members,
        "contacts": contacts,
        "cases": cases,
    }


def test_seed_demo_twice_leaves_the_same_data(db, media_root):
    call_command("seed_demo", stdout=io.StringIO())
    first = _snapshot()

    call_command("seed_demo", stdout=io.StringIO())
    second = _snapshot()

    assert first == second
    assert ("demo.localhost", "demo", True) in first["domains"]
    assert {email for email, *_ in first["staff"]} == {
        "admin@cabinet-demo.fr",
        "mediateur@cabinet-demo.fr",
        "finance@cabinet-demo.fr",
        "charge@cabinet-demo.fr",
    }
    assert {role for _, role, *_ in first["staff"]} == {"admin", "mediator", "finance", "case_officer"}
    assert first["profile"] == [("Cabinet Démo Médiation", "732829320", "DEMO")]
    assert first["mediators"] == [("mediateur@cabinet-demo.fr", "mediateur@cabinet-demo.fr")]
    assert [name for _pk, name, _kind in first["groups"]] == ["Fédération des commerçants de proximité"]
    assert {name for _pk, _siren, name, *_ in first["members"]} == {
        "Boulangerie du Marché SARL",
        "Tissus & Co SAS",
        "Garage Central SAS",
    }
    assert len(first["contacts"]) == 4
    # Cases at several steps, some with deadlines already running.
    assert {status for _pk, _ref, status, *_ in first["cases"]} >= {
        "received",
        "incomplete",
        "opened",
        "in_mediation",
        "proposal_sent",
        "inadmissible",
    }


def test_demo_members_pass_their_own_validation(db, media_root):
    from django_tenants.utils import schema_context

    call_command("seed_demo", stdout=io.StringIO())

    with schema_context("demo"):
        for member in Member.objects.all():
            member.full_clean()
        for contact in Contact.objects.all():
            contact.full_clean()


def test_prepare_dev_migrates_fills_the_pool_and_prints_the_logins(db, settings, media_root):
    settings.TENANT_POOL_SIZE = 1
    out, err = io.StringIO(), io.StringIO()

    call_command("prepare_dev", stdout=out, stderr=err)

    assert "admin@cabinet-demo.fr" in out.getvalue() and "demo-mediation-2026" in out.getvalue()
    assert "migrations checked" in err.getvalue()
    assert Tenant.objects.filter(kind=Tenant.Kind.TEMPLATE).exists()
    assert Tenant.objects.filter(kind=Tenant.Kind.POOL).count() == 1


def test_demo_commands_refuse_to_run_in_production(db, settings):
    import pytest
    from django.core.management.base import CommandError

    settings.PRODUCTION = True
    for command in ("seed_demo", "prepare_dev"):
        with pytest.raises(CommandError, match="production"):
            call_command(command, stdout=io.StringIO())

"""Firm settings and mediators: validated writes, each with an audit row holding before and after."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditEntry
from firm import selectors, services
from firm.models import FirmProfile, Mediator
from tests.factories import AdminFactory, MediatorFactory, UserFactory
from tests.firm.conftest import png_upload
from tests.firm.test_validators import OTHER_VAT, SIREN, VAT


@pytest.fixture
def admin(tenant_a):
    return AdminFactory(email="claire@example.fr")


def test_profile_starts_with_the_firm_name(tenant_a):
    profile = selectors.firm_profile()

    assert profile.legal_name == "Cabinet Alpha Médiation"
    assert profile.require_mfa is False
    assert profile.pk == FirmProfile.SINGLETON_PK


def test_profile_update_is_saved_and_audited(admin):
    services.update_firm_profile(by=admin, city="Lyon", siren="732 829 320", vat_number=VAT)
    services.update_firm_profile(by=admin, city="Lille")

    profile = FirmProfile.objects.get()
    assert (profile.city, profile.siren) == ("Lille", SIREN)
    first, second = AuditEntry.objects.filter(action="firm.profile_updated").order_by("id")
    assert first.changes == {"city": ["", "Lyon"], "siren": ["", SIREN], "vat_number": ["", VAT]}
    assert second.changes == {"city": ["Lyon", "Lille"]}
    assert (second.actor_id, second.actor_email) == (admin.pk, "claire@example.fr")
    assert second.object_type == "firm.firmprofile"


def test_an_update_that_changes_nothing_leaves_no_audit_row(admin):
    services.update_firm_profile(by=admin, city="Lyon")
    services.update_firm_profile(by=admin, city="Lyon", siren="")

    assert AuditEntry.objects.filter(action="firm.profile_updated").count() == 1


def test_invalid_update_saves_nothing(admin):
    services.update_firm_profile(by=admin, siren=SIREN)

    with pytest.raises(ValidationError) as error:
        services.update_firm_profile(by=admin, city="Lyon", vat_number=OTHER_VAT)

    assert "vat_number" in error.value.message_dict
    assert FirmProfile.objects.get().city == ""
    assert AuditEntry.objects.filter(action="firm.profile_updated").count() == 1


def test_unknown_fields_are_refused(admin):
    with pytest.raises(TypeError):
        services.update_firm_profile(by=admin, created_at=None)


def test_only_admins_change_the_profile(tenant_a):
    with pytest.raises(PermissionDenied):
        services.update_firm_profile(by=UserFactory(role="finance"), city="Lyon")


def test_logo_is_stored_in_the_firm_media_folder_and_audited_by_name(admin, media_root):
    services.update_firm_profile(by=admin, logo=png_upload())

    profile = FirmProfile.objects.get()
    assert profile.logo.name.startswith("firm/logo/logo")
    assert (media_root / "alpha" / profile.logo.name).is_file()
    changes = AuditEntry.objects.get(action="firm.profile_updated").changes
    assert changes == {"logo": [None, profile.logo.name]}

    services.update_firm_profile(by=admin, logo=False)  # the form's "clear" box
    assert AuditEntry.objects.filter(action="firm.profile_updated").first().changes == {
        "logo": [profile.logo.name, None]
    }


def test_create_mediator_is_audited(admin):
    mediator = services.create_mediator(
        by=admin,
        first_name="Hélène",
        last_name="Roux",
        email="Helene.Roux@Example.fr",
        listed_on=datetime.date(2024, 1, 15),
        term_ends_on=datetime.date(2027, 1, 14),
        sectors="Commerce en ligne",
        conflict_sirens=["552 081 317"],
    )

    assert mediator.email == "helene.roux@example.fr"
    assert mediator.conflict_sirens == ["552081317"]
    entry = AuditEntry.objects.get(action="firm.mediator_created")
    assert entry.object_id == str(mediator.pk)
    assert entry.changes["listed_on"] == [None, "2024-01-15"]
    assert entry.changes["conflict_sirens"] == [None, ["552081317"]]
    assert "user" not in entry.changes  # None before and after: not a change


def test_update_mediator_is_audited_with_before_and_after(admin):
    mediator = MediatorFactory()
    staff = UserFactory(role="mediator")

    services.update_mediator(by=admin, mediator=mediator, term_ends_on=datetime.date(2028, 1, 14), user=staff)

    mediator.refresh_from_db()
    assert mediator.user == staff
    entry = AuditEntry.objects.get(action="firm.mediator_updated")
    assert entry.changes == {"term_ends_on": ["2027-01-14", "2028-01-14"], "user": [None, staff.pk]}


def test_term_must_end_after_the_listing(admin):
    with pytest.raises(ValidationError) as error:
        services.create_mediator(
            by=admin,
            first_name="Hélène",
            last_name="Roux",
            email="helene@example.fr",
            listed_on=datetime.date(2024, 1, 15),
            term_ends_on=datetime.date(2024, 1, 15),
        )

    assert error.value.message_dict["term_ends_on"] == [
        "La fin du mandat doit être postérieure à la date d'inscription sur la liste de la CECMC."
    ]
    assert not Mediator.objects.exists()


def test_conflict_sirens_are_checked(admin):
    mediator = MediatorFactory()

    with pytest.raises(ValidationError) as error:
        services.update_mediator(by=admin, mediator=mediator, conflict_sirens=["123456789"])

    assert "conflict_sirens" in error.value.message_dict


def test_a_deactivated_account_cannot_be_linked(admin):
    with pytest.raises(ValidationError) as error:
        services.update_mediator(by=admin, mediator=MediatorFactory(), user=UserFactory(is_active=False))

    assert error.value.message_dict["user"] == ["Ce compte de l'équipe est désactivé."]


def test_only_admins_manage_mediators(tenant_a):
    with pytest.raises(PermissionDenied):
        services.update_mediator(by=UserFactory(role="mediator"), mediator=MediatorFactory(), sectors="x")

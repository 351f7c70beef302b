"""The firm's settings pages: edit the profile, list/add/edit mediators; errors shown next to the fields."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import AuditEntry
from firm.models import FirmProfile, Mediator
from tests.factories import AdminFactory, MediatorFactory, UserFactory
from tests.firm.conftest import png_upload
from tests.firm.test_role_matrix import VALID_MEDIATOR, VALID_PROFILE
from tests.firm.test_validators import OTHER_VAT, SIREN


@pytest.fixture
def admin(tenant_a, client_a):
    user = AdminFactory(email="claire@example.fr")
    client_a.force_login(user)
    return user


def test_profile_form_is_prefilled_with_the_firm_name(admin, client_a):
    page = client_a.get("/staff/cabinet/").content.decode()

    assert 'value="Cabinet Alpha Médiation"' in page
    assert '<label for="id_siren">' in page
    assert "<legend>Identité</legend>" in page


def test_saving_the_profile_shows_a_success_message(admin, client_a, use_tenant):
    response = client_a.post("/staff/cabinet/", {**VALID_PROFILE, "siren": "732 829 320"}, follow=True)

    assert "Les informations du cabinet sont enregistrées." in response.content.decode()
    use_tenant("alpha")
    profile = FirmProfile.objects.get()
    assert (profile.city, profile.siren) == ("Lyon", SIREN)
    assert AuditEntry.objects.get(action="firm.profile_updated").changes["siren"] == ["", SIREN]


def test_invalid_identifiers_are_reported_next_to_their_field(admin, client_a, use_tenant):
    response = client_a.post(
        "/staff/cabinet/", {**VALID_PROFILE, "siren": "732829321", "iban": "FR7730006000011234567890189"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Le formulaire contient des erreurs" in page
    assert 'id="id_siren_error"' in page
    assert 'aria-invalid="true" aria-describedby="id_siren_error"' in page
    assert "Ce numéro SIREN n&#x27;existe pas" in page
    assert 'id="id_iban_error"' in page
    use_tenant("alpha")
    assert not FirmProfile.objects.exists()


def test_vat_number_of_another_company_is_refused(admin, client_a):
    response = client_a.post("/staff/cabinet/", {**VALID_PROFILE, "siren": SIREN, "vat_number": OTHER_VAT})

    assert 'id="id_vat_number_error"' in response.content.decode()
    assert "Ce numéro de TVA correspond au SIREN 552081317" in response.content.decode()


def test_logo_upload(admin, client_a, media_root, use_tenant):
    client_a.post("/staff/cabinet/", {**VALID_PROFILE, "logo": png_upload()})

    use_tenant("alpha")
    assert FirmProfile.objects.get().logo.name.startswith("firm/logo/")


def test_a_file_that_is_not_an_image_is_refused(admin, client_a, media_root):
    fake = SimpleUploadedFile("logo.png", b"not an image", content_type="image/png")

    response = client_a.post("/staff/cabinet/", {**VALID_PROFILE, "logo": fake})

    assert 'id="id_logo_error"' in response.content.decode()


def test_require_mfa_can_be_switched_on(admin, client_a, use_tenant):
    client_a.post("/staff/cabinet/", {**VALID_PROFILE, "require_mfa": "on"})

    use_tenant("alpha")
    assert FirmProfile.objects.get().require_mfa


def test_mediator_list(admin, client_a):
    MediatorFactory(first_name="Hélène", last_name="Roux")

    page = client_a.get("/staff/cabinet/mediateurs/").content.decode()

    assert "Hélène Roux" in page


def test_adding_a_mediator(admin, client_a, use_tenant):
    staff = UserFactory(email="helene@example.fr", role="mediator")

    response = client_a.post(
        "/staff/cabinet/mediateurs/nouveau/",
        {**VALID_MEDIATOR, "user": staff.pk, "conflict_sirens": "552 081 317\n732829320"},
        follow=True,
    )

    assert "Le médiateur Hélène Roux est ajouté." in response.content.decode()
    use_tenant("alpha")
    mediator = Mediator.objects.get()
    assert mediator.user == staff
    assert mediator.conflict_sirens == ["552081317", "732829320"]


def test_mediator_term_must_end_after_the_listing(admin, client_a):
    response = client_a.post("/staff/cabinet/mediateurs/nouveau/", {**VALID_MEDIATOR, "term_ends_on": "2023-12-31"})

    assert 'id="id_term_ends_on_error"' in response.content.decode()
    assert "La fin du mandat doit être postérieure" in response.content.decode()


def test_invalid_conflict_sirens_are_named(admin, client_a):
    response = client_a.post("/staff/cabinet/mediateurs/nouveau/", {**VALID_MEDIATOR, "conflict_sirens": "123456789"})

    assert "« 123456789 » : Ce numéro SIREN n&#x27;existe pas" in response.content.decode()


def test_editing_a_mediator(admin, client_a, use_tenant):
    mediator = MediatorFactory(email="helene@example.fr")

    client_a.post(
        f"/staff/cabinet/mediateurs/{mediator.pk}/modifier/", {**VALID_MEDIATOR, "sectors": "Énergie", "is_active": ""}
    )

    use_tenant("alpha")
    mediator.refresh_from_db()
    assert (mediator.sectors, mediator.is_active) == ("Énergie", False)
    assert AuditEntry.objects.get(action="firm.mediator_updated").changes["is_active"] == [True, False]


def test_mediator_of_another_firm_is_not_found(admin, client_a, use_tenant):
    use_tenant("beta")
    beta_mediator = MediatorFactory(email="beta-only@example.fr")
    use_tenant("alpha")
    assert not Mediator.objects.filter(pk=beta_mediator.pk).exists()

    assert client_a.get(f"/staff/cabinet/mediateurs/{beta_mediator.pk}/modifier/").status_code == 404
    assert "beta-only@example.fr" not in client_a.get("/staff/cabinet/mediateurs/").content.decode()


def test_staff_home_links_to_the_settings_only_for_those_allowed(tenant_a, client_a):
    client_a.force_login(AdminFactory())
    admin_page = client_a.get("/staff/").content.decode()
    client_a.force_login(UserFactory(role="mediator"))
    mediator_page = client_a.get("/staff/").content.decode()

    assert 'href="/staff/cabinet/"' in admin_page
    assert 'href="/staff/equipe/"' in admin_page
    assert 'href="/staff/cabinet/"' not in mediator_page
    assert 'href="/staff/equipe/"' not in mediator_page

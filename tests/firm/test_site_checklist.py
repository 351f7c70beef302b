"""The R614-1 checklist: each item is present, to check or missing from the firm's own records."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from firm import services, site_checklist, site_services
from firm.site_checklist import Status
from tests.factories import AdminFactory, MediatorFactory

TODAY = datetime.date(2026, 9, 15)
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def admin(tenant_a):
    return AdminFactory()


def statuses(today: datetime.date = TODAY) -> dict[str, Status]:
    return {item.key: item.status for item in site_checklist.checklist(today)}


def complete_site(admin) -> None:
    services.update_firm_profile(
        by=admin,
        legal_name="Alpha Médiation SAS",
        address_line1="3 place Bellecour",
        postcode="69002",
        city="Lyon",
        contact_email="contact@alpha.fr",
    )
    MediatorFactory(listed_on=datetime.date(2025, 1, 10), term_ends_on=datetime.date(2028, 1, 9))
    site_services.save_coverage(by=admin, kind="sector", name="Commerce de détail")
    site_services.save_site_settings(by=admin, disputes_handled="Livraison, garantie.", no_network=True)
    site_services.publish_report(
        by=admin, year=TODAY.year - 1, file=SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf")
    )
    for kind in ("legal_notice", "privacy", "accessibility", "faq"):
        page = site_services.save_page_draft(by=admin, kind=kind, language="fr", title=kind, body="Texte.")
        site_services.publish(by=admin, item=page)


def test_an_empty_firm_misses_what_only_it_can_provide(admin):
    found = statuses()
    assert {key for key, status in found.items() if status == Status.MISSING} == {
        "identity",
        "postal_filing",
        "contact",
        "mediators",
        "coverages",
        "networks",
        "disputes_handled",
        "annual_report",
        "page_legal_notice",
        "page_privacy",
    }
    # What the platform writes itself is always there.
    assert found["online_filing"] == found["procedure"] == found["disputes_refused"] == Status.OK
    assert found["page_accessibility"] == found["page_faq"] == Status.WARNING


def test_a_complete_site_has_every_item(admin, media_root):
    complete_site(admin)
    assert set(statuses().values()) == {Status.OK}
    assert site_checklist.summary(site_checklist.checklist(TODAY)) == {"ok": 15, "warning": 0, "missing": 0}


@pytest.mark.parametrize(
    ("undo", "key", "expected"),
    [
        (lambda admin: services.update_firm_profile(by=admin, city=""), "identity", Status.MISSING),
        (lambda admin: services.update_firm_profile(by=admin, contact_email=""), "contact", Status.MISSING),
        (lambda admin: site_services.save_site_settings(by=admin, no_network=False), "networks", Status.MISSING),
        (
            lambda admin: site_services.save_site_settings(by=admin, disputes_handled=" "),
            "disputes_handled",
            Status.MISSING,
        ),
    ],
)
def test_removing_one_record_flags_its_item_only(admin, media_root, undo, key, expected):
    complete_site(admin)
    undo(admin)
    found = statuses()
    assert found[key] == expected
    assert {k for k, status in found.items() if status != Status.OK} <= {key, "postal_filing"}


def test_postal_address_is_the_sites_own_else_the_firms(admin):
    assert site_checklist.postal_address_lines() == []
    services.update_firm_profile(
        by=admin, legal_name="Alpha Médiation", address_line1="3 place Bellecour", postcode="69002", city="Lyon"
    )
    assert site_checklist.postal_address_lines() == ["Alpha Médiation", "3 place Bellecour", "69002 Lyon"]
    site_services.save_site_settings(by=admin, postal_address="Service des saisines\nBP 12\n\n69001 Lyon cedex")
    assert site_checklist.postal_address_lines() == ["Service des saisines", "BP 12", "69001 Lyon cedex"]
    assert statuses()["postal_filing"] == Status.OK


def test_mediator_terms_ending_soon_or_ended(admin):
    mediator = MediatorFactory(listed_on=datetime.date(2023, 10, 1), term_ends_on=datetime.date(2026, 10, 31))
    assert statuses()["mediators"] == Status.WARNING  # 46 days left
    item = next(i for i in site_checklist.checklist(TODAY) if i.key == "mediators")
    assert "31/10/2026" in item.detail
    assert statuses(datetime.date(2026, 11, 1))["mediators"] == Status.MISSING
    mediator.term_ends_on = datetime.date(2029, 9, 30)
    mediator.save()
    assert statuses()["mediators"] == Status.OK
    mediator.is_active = False
    mediator.save()
    assert statuses()["mediators"] == Status.MISSING


def test_annual_report_of_last_year_is_expected_from_july(admin, media_root):
    def publish(year: int) -> None:
        upload = SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf")
        site_services.publish_report(by=admin, year=year, file=upload)

    publish(2024)
    assert statuses(datetime.date(2026, 3, 1))["annual_report"] == Status.OK  # 2025's is not yet due
    assert statuses(datetime.date(2026, 7, 1))["annual_report"] == Status.WARNING
    assert statuses(datetime.date(2027, 3, 1))["annual_report"] == Status.WARNING
    publish(2025)
    assert statuses(datetime.date(2026, 7, 1))["annual_report"] == Status.OK


def test_an_unpublished_page_is_not_counted(admin):
    page = site_services.save_page_draft(by=admin, kind="privacy", language="fr", title="RGPD", body="Texte.")
    assert statuses()["page_privacy"] == Status.MISSING
    site_services.publish(by=admin, item=page)
    assert statuses()["page_privacy"] == Status.OK
    site_services.unpublish(by=admin, item=page)
    assert statuses()["page_privacy"] == Status.MISSING


def test_every_item_names_the_public_page_that_shows_it_and_its_legal_basis(admin):
    for item in site_checklist.checklist(TODAY):
        assert item.public_url_name.startswith("site:"), item.key
        # Only the FAQ is a recommendation rather than an obligation.
        assert bool(item.basis) == (item.key != "page_faq"), item.key

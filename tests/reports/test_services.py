"""The annual report's writes: who may, the period's rules, and publication on the firm's site."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from core.models import AuditEntry
from firm import site_selectors
from mediation.reports import services
from mediation.reports.models import AnnualReport
from tests.factories import UserFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def mediator(tenant_a):
    return UserFactory(role=User.Role.MEDIATOR)


def test_a_report_starts_with_the_calendar_year(mediator):
    report = services.ensure_report(by=mediator, year=2025)
    assert (report.period_start, report.period_end) == (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    assert services.ensure_report(by=mediator, year=2025).pk == report.pk
    assert AuditEntry.objects.filter(action="reports.report_created").count() == 1


@pytest.mark.parametrize("year", [2015, datetime.date.today().year + 1])
def test_years_outside_consumer_mediation_are_refused(mediator, year):
    with pytest.raises(ValidationError) as caught:
        services.ensure_report(by=mediator, year=year)
    assert "year" in caught.value.message_dict
    assert not AnnualReport.objects.exists()


@pytest.mark.parametrize("role", [User.Role.FINANCE, User.Role.CASE_OFFICER, User.Role.READ_ONLY])
def test_only_admins_and_mediators_write_the_report(tenant_a, role):
    with pytest.raises(PermissionDenied):
        services.ensure_report(by=UserFactory(role=role), year=2025)


def test_texts_and_period_are_saved_and_audited(mediator):
    report = services.ensure_report(by=mediator, year=2025)
    services.update_report(
        by=mediator,
        report=report,
        recurring_problems="  Retards de livraison.  ",
        period_start=datetime.date(2025, 2, 1),
    )
    report.refresh_from_db()
    assert report.recurring_problems == "Retards de livraison."
    assert report.period_start == datetime.date(2025, 2, 1)
    entry = AuditEntry.objects.get(action="reports.report_updated")
    assert set(entry.changes) == {"recurring_problems", "period_start"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"period_start": datetime.date(2024, 12, 1)}, "period_start"),
        ({"period_end": datetime.date(2026, 1, 31)}, "period_end"),
        ({"period_start": datetime.date(2025, 6, 1), "period_end": datetime.date(2025, 5, 31)}, "period_end"),
    ],
)
def test_a_period_stays_within_its_year_and_in_order(mediator, changes, field):
    report = services.ensure_report(by=mediator, year=2025)
    with pytest.raises(ValidationError) as caught:
        services.update_report(by=mediator, report=report, **changes)
    assert field in caught.value.message_dict
    report.refresh_from_db()
    assert (report.period_start, report.period_end) == AnnualReport.default_period(2025)


def test_unknown_field_is_refused(mediator):
    report = services.ensure_report(by=mediator, year=2025)
    with pytest.raises(TypeError):
        services.update_report(by=mediator, report=report, status="published")


def test_publishing_puts_the_pdf_on_the_site_and_again_replaces_it(mediator, media_root):
    report = services.ensure_report(by=mediator, year=2025)
    services.publish(by=mediator, report=report, pdf=PDF)
    report.refresh_from_db()
    assert report.status == AnnualReport.Status.PUBLISHED and report.published_at is not None
    published = site_selectors.published_report(year=2025)
    assert published is not None
    services.publish(by=mediator, report=report, pdf=PDF + b"%corrected")
    published = site_selectors.published_report(year=2025)
    with published.file.open("rb") as handle:
        assert handle.read().endswith(b"%corrected")
    assert AuditEntry.objects.filter(action="reports.report_published").count() == 2


def test_finance_cannot_publish(tenant_a, media_root):
    admin = UserFactory(role=User.Role.ADMIN)
    report = services.ensure_report(by=admin, year=2025)
    with pytest.raises(PermissionDenied):
        services.publish(by=UserFactory(role=User.Role.FINANCE), report=report, pdf=PDF)
    assert site_selectors.published_report(year=2025) is None

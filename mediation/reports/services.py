"""Writes on the annual activity report: its period and texts, and its publication on the firm's site."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from mediation.reports.models import AnnualReport

TEXT_FIELDS = ("recurring_problems", "cooperation", "training")
EDITABLE_FIELDS = ("period_start", "period_end", *TEXT_FIELDS)
FIRST_YEAR = 2016  # consumer mediation (ordonnance 2015-1033) starts in 2016


def _check_year(year: int) -> None:
    this_year = timezone.localdate().year
    if not FIRST_YEAR <= year <= this_year:
        message = _("Année entre %(first)s et %(year)s.")
        raise ValidationError(
            {"year": ValidationError(message, code="invalid_year", params={"first": FIRST_YEAR, "year": this_year})}
        )


@transaction.atomic
def ensure_report(*, by: User, year: int) -> AnnualReport:
    """The report of `year`, created with the calendar year as its period on first use."""
    ensure_perm(by, Perm.REPORTS_EDIT)
    _check_year(year)
    start, end = AnnualReport.default_period(year)
    report, created = AnnualReport.objects.get_or_create(
        year=year, defaults={"period_start": start, "period_end": end, "updated_by": by}
    )
    if created:
        audit.record(actor=by, action="reports.report_created", obj=report, changes={"year": [None, year]})
    return report


@transaction.atomic
def update_report(*, by: User, report: AnnualReport, **changes: Any) -> AnnualReport:
    """Changes the period or the texts; a period must lie within its year and end after it starts."""
    ensure_perm(by, Perm.REPORTS_EDIT)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise TypeError(f"AnnualReport has no editable field(s): {', '.join(unknown)}")
    report = AnnualReport.objects.select_for_update().get(pk=report.pk)
    before = audit.snapshot(report, EDITABLE_FIELDS)
    for name, value in changes.items():
        setattr(report, name, value.strip() if isinstance(value, str) else value)
    _check_period(report)
    changed = audit.diff(before, audit.snapshot(report, EDITABLE_FIELDS))
    if changed:
        report.updated_by = by
        report.save(update_fields=[*changed, "updated_by", "updated_at"])
        audit.record(actor=by, action="reports.report_updated", obj=report, changes=changed)
    return report


def _check_period(report: AnnualReport) -> None:
    errors = {}
    start, end = report.period_start, report.period_end
    if not isinstance(start, datetime.date) or start.year != report.year:
        errors["period_start"] = ValidationError(_("La période commence dans l'année du rapport."), code="period_year")
    if not isinstance(end, datetime.date) or end.year != report.year:
        errors["period_end"] = ValidationError(_("La période finit dans l'année du rapport."), code="period_year")
    elif isinstance(start, datetime.date) and end < start:
        errors["period_end"] = ValidationError(_("La fin de la période précède son début."), code="period_order")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def publish(*, by: User, report: AnnualReport, pdf: bytes) -> AnnualReport:
    """Puts the report's PDF on the firm's site (its reports archive, firm.site_services) and marks it published.

    Publishing again replaces the site's PDF of that year (a corrected report).
    """
    from firm import site_services

    ensure_perm(by, Perm.REPORTS_EDIT)
    report = AnnualReport.objects.select_for_update().get(pk=report.pk)
    upload = SimpleUploadedFile(f"rapport-activite-{report.year}.pdf", pdf, content_type="application/pdf")
    site_services.publish_report(by=by, year=report.year, file=upload)
    report.status = AnnualReport.Status.PUBLISHED
    report.published_at = timezone.now()
    report.updated_by = by
    report.save(update_fields=["status", "published_at", "updated_by", "updated_at"])
    audit.record(actor=by, action="reports.report_published", obj=report, changes={"status": ["draft", "published"]})
    return report

"""Every annual-report page, for each role of the table and an anonymous visitor."""

from __future__ import annotations

import datetime

import pytest

from accounts.permissions import Perm
from firm.models import PublishedReport
from mediation.cases.models import Status
from mediation.reports.models import AnnualReport
from tests.reports.test_views import YEAR, at, make_case
from tests.roles import ROLES_AND_ANONYMOUS, allowed, assert_html_outcome, log_in_with_role, role_id

EDIT_DATA = {"period_start": f"{YEAR}-01-01", "period_end": f"{YEAR}-12-31", "training": "Formation continue."}

# (method, URL, permission, success status for an allowed role)
PAGES = [
    ("get", "/staff/rapports/", Perm.REPORTS_VIEW, 200),
    ("get", f"/staff/rapports/{YEAR}/", Perm.REPORTS_VIEW, 200),
    ("get", f"/staff/rapports/{YEAR}/dossiers/received/", Perm.CASES_VIEW, 200),
    ("get", f"/staff/rapports/{YEAR}/dossiers/subject/?value=delivery", Perm.CASES_VIEW, 200),
    ("get", f"/staff/rapports/{YEAR}/rapport.pdf", Perm.REPORTS_VIEW, 200),
    ("get", f"/staff/rapports/{YEAR}/rapport.xlsx", Perm.REPORTS_VIEW, 200),
    ("get", f"/staff/rapports/{YEAR}/modifier/", Perm.REPORTS_EDIT, 200),
    ("post", f"/staff/rapports/{YEAR}/modifier/", Perm.REPORTS_EDIT, 302),
    ("get", f"/staff/rapports/{YEAR}/publier/", Perm.REPORTS_EDIT, 200),
    ("post", f"/staff/rapports/{YEAR}/publier/", Perm.REPORTS_EDIT, 302),
]


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize(("method", "url", "perm", "success"), PAGES, ids=[f"{m} {u}" for m, u, _p, _s in PAGES])
def test_report_pages_follow_the_role_table(tenant_a, client_a, media_root, role, method, url, perm, success):
    make_case(status=Status.RECEIVED, received_at=at(YEAR, 3, 1))
    log_in_with_role(client_a, role)

    response = getattr(client_a, method)(url, EDIT_DATA if url.endswith("/modifier/") else {})

    assert_html_outcome(response, role=role, perm=perm, success=success)


REFUSED = [role for role in ROLES_AND_ANONYMOUS if not allowed(role, Perm.REPORTS_EDIT)]


@pytest.mark.parametrize("role", REFUSED, ids=role_id)
def test_a_refused_post_changes_nothing(tenant_a, client_a, media_root, role):
    make_case(status=Status.RECEIVED, received_at=at(YEAR, 3, 1))
    AnnualReport.objects.create(
        year=YEAR, period_start=datetime.date(YEAR, 1, 1), period_end=datetime.date(YEAR, 12, 31)
    )
    log_in_with_role(client_a, role)

    client_a.post(f"/staff/rapports/{YEAR}/modifier/", EDIT_DATA)
    client_a.post(f"/staff/rapports/{YEAR}/publier/")
    client_a.post(f"/staff/rapports/{YEAR - 1}/modifier/", {**EDIT_DATA, "period_start": f"{YEAR - 1}-01-01"})

    report = AnnualReport.objects.get()
    assert (report.year, report.training, report.status) == (YEAR, "", AnnualReport.Status.DRAFT)
    assert not PublishedReport.objects.exists()

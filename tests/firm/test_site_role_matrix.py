"""Every page and form of the public site's settings, for each role of the table and an anonymous visitor.

Only the firm's admins (firm.settings) get through; others get the 403 page,
anonymous visitors the login page. A refused POST changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.permissions import Perm
from firm import site_services
from firm.models import Coverage, NetworkMembership, NewsPost, PublishedReport, SitePage, SiteSettings
from tests.factories import AdminFactory, pdf_upload
from tests.roles import ROLES_AND_ANONYMOUS, allowed, assert_html_outcome, log_in_with_role, role_id

SITE = "/staff/cabinet/site/"
PAGES = [
    "",
    "textes/",
    "secteurs/",
    "secteurs/nouveau/",
    "secteurs/{coverage}/modifier/",
    "secteurs/{coverage}/supprimer/",
    "reseaux/",
    "reseaux/nouveau/",
    "reseaux/{network}/modifier/",
    "reseaux/{network}/supprimer/",
    "pages/",
    "pages/faq/fr/",
    "actualites/",
    "actualites/nouvelle/",
    "actualites/{news}/",
    "actualites/{news}/supprimer/",
    "rapports/",
    "rapports/{year}/retirer/",
]
DRAFT = {"title": "Questions fréquentes", "body": "Est-ce gratuit ? Oui.", "language": "fr", "action": "save"}
POSTS: list[tuple[str, dict[str, Any], int]] = [
    ("textes/", {"disputes_handled": "Livraison"}, 302),
    ("secteurs/nouveau/", {"kind": "sector", "name": "Commerce", "position": "0"}, 302),
    ("secteurs/{coverage}/modifier/", {"kind": "sector", "name": "Commerce de détail", "position": "0"}, 302),
    ("secteurs/{coverage}/supprimer/", {}, 302),
    ("reseaux/nouveau/", {"name": "Club", "position": "0"}, 302),
    ("reseaux/{network}/modifier/", {"name": "Club des médiateurs", "position": "0"}, 302),
    ("reseaux/{network}/supprimer/", {}, 302),
    ("pages/faq/fr/", DRAFT, 302),
    ("pages/faq/fr/", {**DRAFT, "action": "publish"}, 302),
    ("actualites/nouvelle/", DRAFT, 302),
    ("actualites/{news}/", {**DRAFT, "action": "publish"}, 302),
    ("actualites/{news}/supprimer/", {}, 302),
    ("rapports/", {"year": "2023", "summary": "Bilan"}, 302),
    ("rapports/{year}/retirer/", {}, 302),
    ("apercu/", {"body": "**gras**"}, 200),
]


@pytest.fixture
def records(tenant_a, media_root) -> dict[str, Any]:
    """One record of each kind, written by an admin of the firm."""
    by = AdminFactory()
    return {
        "coverage": site_services.save_coverage(by=by, name="Commerce").pk,
        "network": site_services.save_network(by=by, name="Club").pk,
        "news": site_services.save_news_draft(by=by, title="Nouveaux horaires", body="Du lundi au vendredi.").pk,
        "year": site_services.publish_report(by=by, year=2024, file=pdf_upload("rapport.pdf")).year,
    }


def _counts() -> tuple[int, ...]:
    """What any of the forms would change (a record added, removed, renamed or published)."""
    return (
        SiteSettings.objects.count(),
        Coverage.objects.filter(name="Commerce").count(),
        NetworkMembership.objects.filter(name="Club").count(),
        NewsPost.objects.count(),
        NewsPost.objects.filter(published_at__isnull=False).count(),
        SitePage.objects.count(),
        PublishedReport.objects.count(),
    )


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize("url", PAGES)
def test_site_pages_follow_the_role_table(records, client_a, role, url):
    log_in_with_role(client_a, role)

    response = client_a.get(SITE + url.format(**records))

    assert_html_outcome(response, role=role, perm=Perm.FIRM_SETTINGS, success=200)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize(
    ("url", "data", "success"), POSTS, ids=[f"{url}:{data.get('action', '')}" for url, data, _s in POSTS]
)
def test_site_forms_follow_the_role_table(records, client_a, use_tenant, role, url, data, success):
    log_in_with_role(client_a, role)
    before = _counts()
    if url == "rapports/":
        data = {**data, "file": pdf_upload("rapport.pdf")}

    response = client_a.post(SITE + url.format(**records), data)

    assert_html_outcome(response, role=role, perm=Perm.FIRM_SETTINGS, success=success)
    if not allowed(role, Perm.FIRM_SETTINGS):
        use_tenant("alpha")
        assert _counts() == before

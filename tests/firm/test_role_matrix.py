"""Every firm-settings page and endpoint, for each role of the table and an anonymous visitor."""

from __future__ import annotations

import json

import pytest

from accounts.permissions import Perm
from tests.factories import MediatorFactory
from tests.roles import ROLES_AND_ANONYMOUS, assert_api_outcome, assert_html_outcome, log_in_with_role, role_id

VALID_PROFILE = {
    "legal_name": "Cabinet Alpha Médiation",
    "city": "Lyon",
    "country": "FR",
    "primary_color": "#1d4e89",
    "secondary_color": "#b3261e",
    "invoice_prefix": "FA",
    "default_language": "fr",
}
VALID_MEDIATOR = {
    "first_name": "Hélène",
    "last_name": "Roux",
    "email": "helene@example.fr",
    "listed_on": "2024-01-15",
    "term_ends_on": "2027-01-14",
    "is_active": "on",
}
PAGES = [
    "/staff/cabinet/",
    "/staff/cabinet/mediateurs/",
    "/staff/cabinet/mediateurs/nouveau/",
    "/staff/cabinet/mediateurs/{mediator}/modifier/",
]


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize("url", PAGES)
def test_settings_pages_follow_the_role_table(tenant_a, client_a, role, url):
    mediator = MediatorFactory()
    log_in_with_role(client_a, role)

    response = client_a.get(url.format(mediator=mediator.pk))

    assert_html_outcome(response, role=role, perm=Perm.FIRM_SETTINGS, success=200)


POSTS = [
    ("/staff/cabinet/", VALID_PROFILE),
    ("/staff/cabinet/mediateurs/nouveau/", {**VALID_MEDIATOR, "email": "new@example.fr"}),
    ("/staff/cabinet/mediateurs/{mediator}/modifier/", VALID_MEDIATOR),
]


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize(("url", "data"), POSTS, ids=[url for url, _data in POSTS])
def test_settings_forms_follow_the_role_table(tenant_a, client_a, role, url, data):
    mediator = MediatorFactory()
    log_in_with_role(client_a, role)

    response = client_a.post(url.format(mediator=mediator.pk), data)

    assert_html_outcome(response, role=role, perm=Perm.FIRM_SETTINGS, success=302)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_reading_the_firm_api_needs_any_staff_account(tenant_a, client_a, role):
    log_in_with_role(client_a, role)

    assert_api_outcome(client_a.get("/api/v1/firm/"), role=role, perm=None)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_changing_the_firm_api_follows_the_role_table(tenant_a, client_a, role):
    log_in_with_role(client_a, role)

    response = client_a.patch("/api/v1/firm/", json.dumps({"city": "Lyon"}), content_type="application/json")

    assert_api_outcome(response, role=role, perm=Perm.FIRM_SETTINGS)

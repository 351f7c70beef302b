"""Every staff-management page and endpoint, for each role of the table and an anonymous visitor."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import User
from accounts.permissions import Perm
from tests.factories import AdminFactory, UserFactory
from tests.roles import ROLES_AND_ANONYMOUS, assert_api_outcome, assert_html_outcome, log_in_with_role, role_id


@pytest.fixture
def targets(tenant_a):
    """A colleague, a deactivated colleague and a pending invitation to act on."""
    inviter = AdminFactory(email="inviter@example.fr")
    invitation, _token = services.invite_staff(
        by=inviter, email="new@example.fr", role=User.Role.FINANCE, site_url="http://alpha.localhost"
    )
    return {
        "member": UserFactory(email="member@example.fr").pk,
        "inactive": UserFactory(email="inactive@example.fr", is_active=False).pk,
        "invitation": invitation.pk,
    }


# (method, URL template, success status for an allowed role)
PAGES = [
    ("get", "/staff/equipe/", 200),
    ("get", "/staff/equipe/inviter/", 200),
    ("post", "/staff/equipe/inviter/", 302),
    ("get", "/staff/equipe/{member}/role/", 200),
    ("post", "/staff/equipe/{member}/role/", 302),
    ("post", "/staff/equipe/{member}/desactiver/", 302),
    ("post", "/staff/equipe/{inactive}/reactiver/", 302),
    ("post", "/staff/equipe/invitations/{invitation}/annuler/", 302),
]
FORM_DATA = {
    "/staff/equipe/inviter/": {"email": "someone@example.fr", "role": "mediator"},
    "/staff/equipe/{member}/role/": {"role": "finance"},
}


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize(("method", "url", "success"), PAGES, ids=[f"{m} {u}" for m, u, _s in PAGES])
def test_staff_pages_follow_the_role_table(client_a, targets, role, method, url, success):
    log_in_with_role(client_a, role)

    response = getattr(client_a, method)(url.format(**targets), FORM_DATA.get(url, {}))

    assert_html_outcome(response, role=role, perm=Perm.STAFF_MANAGE, success=success)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
def test_staff_api_follows_the_role_table(tenant_a, client_a, role):
    log_in_with_role(client_a, role)

    response = client_a.get("/api/v1/staff/")

    assert_api_outcome(response, role=role, perm=Perm.STAFF_MANAGE)

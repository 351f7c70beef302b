"""The role table: what each role holds, and who holds nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts.models import User
from accounts.permissions import ROLE_PERMISSIONS, Perm, ensure_perm, permissions_of, user_has_perm
from tests.factories import UserFactory


def test_every_role_has_a_row():
    assert set(ROLE_PERMISSIONS) == set(User.Role)


def test_admin_holds_every_permission():
    assert ROLE_PERMISSIONS[User.Role.ADMIN] == frozenset(Perm)


def test_read_only_holds_exactly_the_view_permissions():
    assert {str(p) for p in ROLE_PERMISSIONS[User.Role.READ_ONLY]} == {
        "members.view",
        "cases.view",
        "billing.view",
        "reports.view",
        "audit.view",
    }


@pytest.mark.parametrize(
    ("role", "held", "not_held"),
    [
        (
            User.Role.MEDIATOR,
            {Perm.CASES_DECIDE, Perm.CASES_HANDLE, Perm.MEMBERS_VIEW, Perm.REPORTS_EDIT},
            {Perm.BILLING_VIEW, Perm.STAFF_MANAGE},
        ),
        (User.Role.CASE_OFFICER, {Perm.CASES_HANDLE, Perm.MEMBERS_EDIT}, {Perm.CASES_DECIDE, Perm.FIRM_SETTINGS}),
        (
            User.Role.FINANCE,
            {Perm.BILLING_EDIT, Perm.BILLING_EXPORT, Perm.REPORTS_VIEW},
            {Perm.CASES_VIEW, Perm.STAFF_MANAGE, Perm.REPORTS_EDIT},
        ),
    ],
)
def test_business_roles(role, held, not_held):
    assert held <= ROLE_PERMISSIONS[role]
    assert not (not_held & ROLE_PERMISSIONS[role])


@pytest.mark.parametrize("role", list(User.Role))
def test_user_has_exactly_the_permissions_of_their_role(tenant_a, role):
    user = UserFactory(role=role)

    assert permissions_of(user) == ROLE_PERMISSIONS[role]
    for perm in Perm:
        assert user_has_perm(user, perm) == (perm in ROLE_PERMISSIONS[role])


def test_inactive_user_has_nothing(tenant_a):
    user = UserFactory(role=User.Role.ADMIN, is_active=False)

    assert permissions_of(user) == frozenset()
    with pytest.raises(PermissionDenied):
        ensure_perm(user, Perm.CASES_VIEW)


def test_anonymous_has_nothing():
    assert not user_has_perm(AnonymousUser(), Perm.CASES_VIEW)


def test_superuser_is_no_bypass_without_the_admin_role(tenant_a):
    user = UserFactory(role=User.Role.READ_ONLY, is_superuser=True, is_staff=True)

    assert not user_has_perm(user, Perm.STAFF_MANAGE)
    assert not user_has_perm(user, Perm.FIRM_SETTINGS)


def test_permission_names_are_checked(tenant_a):
    with pytest.raises(ValueError):
        user_has_perm(UserFactory(role=User.Role.ADMIN), "firm.setings")
    assert user_has_perm(UserFactory(role=User.Role.ADMIN), "firm.settings")

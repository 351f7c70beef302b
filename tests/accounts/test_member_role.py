"""A member business's portal user (role member) is not staff: no permission, no seat, not in the team."""

from __future__ import annotations

import pytest

from accounts import selectors, services
from accounts.models import User
from accounts.permissions import Perm, permissions_of
from tenants.models import Plan, Tenant
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.usefixtures("tenant_a")


def test_the_member_role_grants_nothing():
    member_user = UserFactory(role=User.Role.MEMBER)
    assert permissions_of(member_user) == frozenset()
    assert not any(perm in permissions_of(member_user) for perm in Perm)


def test_staff_cannot_invite_or_turn_someone_into_a_member_user():
    admin = AdminFactory()
    with pytest.raises(ValueError):
        services.invite_staff(by=admin, email="x@example.fr", role="member", site_url="http://alpha.localhost")
    with pytest.raises(ValueError):
        services.change_role(by=admin, user=UserFactory(role=User.Role.FINANCE), role="member")


def test_member_users_are_not_in_the_team_list_and_take_no_seat():
    admin = AdminFactory()
    member_user = UserFactory(role=User.Role.MEMBER)
    assert member_user not in selectors.staff_members()
    assert selectors.staff_member(pk=member_user.pk) is None
    plan = Plan.objects.create(code="duo2", name="Duo", monthly_price_cents=1000, max_staff_seats=2)
    Tenant.objects.filter(schema_name="alpha").update(plan=plan)
    from django.db import connection

    connection.tenant.plan = plan
    # The admin holds one seat, the member user none: one more staff invitation fits.
    services.invite_staff(by=admin, email="second@example.fr", role="mediator", site_url="http://alpha.localhost")


def test_the_invitation_form_does_not_offer_the_member_role(client_a):
    client_a.force_login(AdminFactory())
    response = client_a.get("/staff/equipe/inviter/")
    assert response.status_code == 200
    assert 'value="member"' not in response.content.decode()


def test_inviting_a_member_users_email_says_why():
    from accounts.errors import MemberPortalEmail

    member_user = UserFactory(role=User.Role.MEMBER, email="patron@boutique.fr")
    with pytest.raises(MemberPortalEmail):
        services.invite_staff(
            by=AdminFactory(), email=member_user.email, role="mediator", site_url="http://alpha.localhost"
        )

"""The firm's SaaS plan caps its staff accounts, with a clear message and the way out."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts import services
from accounts.errors import StaffSeatsFull
from accounts.models import User
from tenants.models import Plan, Tenant
from tests.factories import AdminFactory, UserFactory


@pytest.fixture
def two_seat_plan(db, use_tenant):
    plan = Plan.objects.create(code="duo", name="Duo", monthly_price_cents=1000, max_staff_seats=2)
    Tenant.objects.filter(schema_name="alpha").update(plan=plan)
    use_tenant("alpha")
    return plan


def test_invitations_stop_at_the_plan_seat_count(two_seat_plan):
    admin = AdminFactory()
    services.invite_staff(by=admin, email="second@example.fr", role="mediator", site_url="http://alpha.localhost")

    with pytest.raises(StaffSeatsFull) as refused:
        services.invite_staff(by=admin, email="third@example.fr", role="mediator", site_url="http://alpha.localhost")

    assert "Votre formule Duo comprend 2 comptes équipe" in refused.value.message
    assert "passez à une formule supérieure" in refused.value.message


def test_reinviting_the_same_person_does_not_take_another_seat(two_seat_plan):
    admin = AdminFactory()
    services.invite_staff(by=admin, email="second@example.fr", role="mediator", site_url="http://alpha.localhost")

    services.invite_staff(by=admin, email="second@example.fr", role="finance", site_url="http://alpha.localhost")


def test_reactivation_is_refused_when_the_seats_are_full(two_seat_plan):
    admin = AdminFactory()
    UserFactory(email="active@example.fr")
    dormant = UserFactory(email="dormant@example.fr", is_active=False)

    with pytest.raises(StaffSeatsFull):
        services.reactivate_staff(by=admin, user=dormant)
    assert not User.objects.get(pk=dormant.pk).is_active


def test_the_invite_page_shows_the_limit_message(two_seat_plan, client_a):
    admin = AdminFactory()
    UserFactory(email="active@example.fr")
    client_a.force_login(admin)

    response = client_a.post("/staff/equipe/inviter/", {"email": "third@example.fr", "role": "mediator"}, follow=True)

    assert "tous utilisés" in response.content.decode().replace("&#x27;", "'")


def test_a_plan_without_a_seat_limit_never_refuses(db, use_tenant):
    Tenant.objects.filter(schema_name="alpha").update(plan=Plan.objects.get(code="reseau"))
    use_tenant("alpha")
    admin = AdminFactory()
    for n in range(3):
        services.invite_staff(by=admin, email=f"p{n}@example.fr", role="mediator", site_url="http://alpha.localhost")
    assert connection.schema_name == "alpha"

"""Reads for the firm's subscription page.

They run on the firm's host: the connection's search path is `<firm>, public`,
so the public tables (plans, prices, subscriptions) are read without switching
schema, while staff accounts are counted in the firm's own schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Invitation, User
from tenants.models import Plan, Tenant
from tenants.saas.models import PlanPrice, Subscription


@dataclass(frozen=True)
class PlanOffer:
    plan: Plan
    prices: list[PlanPrice]


def subscription_of(tenant: Tenant) -> Subscription | None:
    return Subscription.objects.select_related("plan").filter(tenant=tenant).first()


def plan_offers() -> list[PlanOffer]:
    """The public plans, each with its active Stripe prices (none when it is not sold online yet)."""
    prices: dict[int, list[PlanPrice]] = {}
    for price in PlanPrice.objects.filter(active=True, plan__is_public=True):
        prices.setdefault(price.plan_id, []).append(price)
    return [PlanOffer(plan=plan, prices=prices.get(plan.pk, [])) for plan in Plan.objects.filter(is_public=True)]


def staff_seats_used() -> int:
    """Active staff accounts plus pending invitations, counted as the plan's seat limit counts them."""
    pending = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).count()
    return User.objects.filter(is_active=True, is_platform_support=False).count() + pending

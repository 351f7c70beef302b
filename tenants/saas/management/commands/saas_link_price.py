"""`manage.py saas_link_price cabinet price_123`: sell a plan at a Stripe price (the console is read-only)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Plan
from tenants.saas import services
from tenants.saas.errors import BillingError


class Command(BaseCommand):
    help = "Link a plan to a Stripe recurring price of the platform's account (checked against Stripe)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("plan_code")
        parser.add_argument("stripe_price_id")

    def handle(self, *args: Any, plan_code: str, stripe_price_id: str, **options: Any) -> None:
        plan = Plan.objects.filter(code=plan_code).first()
        if plan is None:
            raise CommandError(f"no plan with code {plan_code!r}")
        try:
            price = services.link_price(plan=plan, stripe_price_id=stripe_price_id)
        except BillingError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{price.plan.code}: {price.stripe_price_id} ({price.interval})")

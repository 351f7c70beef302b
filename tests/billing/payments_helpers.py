"""Shared set-up of the Stripe payment tests: the firm's connected account, a membership invoice, webhooks."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from billing import payments, services
from billing.models import Invoice
from mediation.members.models import Member, Membership
from tenants.models import Tenant
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity
from tests.factories import AdminFactory
from tests.members.membership_helpers import accepted
from tests.stripe_fake import CONNECT_WEBHOOK_SECRET, FakeStripe, signed_event

WEBHOOK = "/stripe/connect/webhook/"
RETURN = "http://alpha.localhost/staff/facturation/stripe/retour/"
REFRESH = "http://alpha.localhost/staff/facturation/stripe/reprendre/"
SUCCESS = "http://alpha.localhost/merci/"
CANCEL = "http://alpha.localhost/abandon/"


def connect_firm(fake: FakeStripe, *, charges_enabled: bool = True, by: Any = None) -> str:
    """The firm connects its Stripe account through the real flow and finishes Stripe's onboarding."""
    by = by or AdminFactory()
    payments.start_onboarding(by=by, refresh_url=REFRESH, return_url=RETURN)
    account = services.billing_settings().stripe_account_id
    fake.complete_onboarding(account, charges_enabled=charges_enabled, payouts_enabled=charges_enabled)
    payments.refresh_account(by=by)
    return account


def tenant_account(schema: str = "alpha") -> str | None:
    with schema_context(get_public_schema_name()):
        return Tenant.objects.get(schema_name=schema).stripe_account_id


def membership_invoice(*, member: Member | None = None) -> tuple[Invoice, Membership]:
    """An issued membership invoice of 360 € (300 € + VAT) for a term accepted today, not yet paid."""
    firm_identity()
    member = member or billable_member()
    term = accepted(member)
    by = finance_user()
    draft = services.create_draft(
        by=by, member=member, lines=[LINE], period_start=term.starts_on, period_end=term.ends_on
    )
    # The automatic billing of terms is another part's; here the draft is simply tied to its term.
    Invoice.objects.filter(pk=draft.pk).update(purpose=Invoice.Purpose.MEMBERSHIP, membership=term)
    return services.issue_invoice(by=by, invoice=draft, send=False), term


def deliver(client: Client, event: dict[str, Any], secret: str = CONNECT_WEBHOOK_SECRET) -> Any:
    """Posts a signed Connect event to the platform host's endpoint; the connection is back on alpha afterwards."""
    payload, signature = signed_event(event, secret)
    schema = connection.schema_name
    response = client.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    if schema != get_public_schema_name():
        connection.set_tenant(Tenant.objects.get(schema_name=schema))
    return response


def checkout(invoice: Invoice, method: str = "card") -> str:
    """Opens a Checkout for `invoice` and returns the fake's session id."""
    url = payments.start_checkout(invoice=invoice, method=method, success_url=SUCCESS, cancel_url=CANCEL)
    return url.rsplit("/", 1)[-1]

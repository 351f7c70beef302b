"""Every Stripe call of billing: Connect onboarding, Checkout for an invoice, off-session SEPA, Connect webhooks.

- Stripe Connect: the platform's key acts on the firm's own account
  (`billing.stripe_client`). The account id is kept in `BillingSettings` (the
  firm's schema) and in `Tenant.stripe_account_id` (public schema), which
  routes the webhook events of that account to the firm.
- Members pay an invoice through Stripe Checkout (card or SEPA Direct Debit);
  SEPA sessions keep the mandate (`setup_future_usage=off_session`) so that
  renewals are collected with `collect_with_mandate`.
- State comes from Stripe's API, never from an event's payload: an event says
  which object to look at; the invoice is locked, the object re-fetched and
  applied. A payment is recorded once per PaymentIntent
  (`services.record_stripe_payment`), so replays, the several events Stripe
  sends for one payment, and any order of delivery record it once.
- Every event is stored once in the firm's schema (`StripeEvent.stripe_id`
  unique) with its status; a failure is kept on it with its error, answered
  500 so that Stripe redelivers, and can be retried from the admin.

Money is integer cents; Stripe's amounts for EUR are cents too.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from accounts.permissions import Perm, ensure_perm
from billing import services
from billing.errors import BillingError
from billing.models import (
    BillingSettings,
    CheckoutSession,
    Invoice,
    Payment,
    SepaMandate,
    StripeCustomer,
    StripeEvent,
)
from billing.stripe_client import get_client, is_configured
from core import audit
from core.models import AuditEntry
from core.stripe_events import process_once
from firm.selectors import firm_profile
from mediation.members.coverage_sync import current_firm
from mediation.members.models import Member
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# What a member may pay with through Checkout, and how the payment is recorded.
METHODS: dict[str, str] = {"card": Payment.Method.CARD, "sepa_debit": Payment.Method.SEPA_DEBIT}
MIN_AMOUNT_CENTS = 50  # Stripe refuses a charge under €0.50
# Expanded with a Checkout Session / PaymentIntent so that one call tells the payment method and the mandate.
SESSION_EXPAND = ["payment_intent.payment_method", "payment_intent.latest_charge"]
INTENT_EXPAND = ["payment_method", "latest_charge"]
ACCOUNT_FIELDS = ("stripe_charges_enabled", "stripe_payouts_enabled", "stripe_details_submitted")
MANDATE_STATUS = {
    "active": SepaMandate.Status.ACTIVE,
    "pending": SepaMandate.Status.PENDING,
    "inactive": SepaMandate.Status.INACTIVE,
}


class SessionStatus(StrEnum):
    """`CheckoutSession.status`: where a Checkout opened for an invoice stands."""

    OPEN = "open"
    PROCESSING = "processing"  # completed with a SEPA debit the bank has not confirmed yet
    PAID = "paid"
    FAILED = "failed"  # the SEPA debit was refused
    EXPIRED = "expired"


class WebhookRejected(Exception):
    """A call that is not a genuine Stripe event; `code` goes back in the 400 answer."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class StripeMismatch(Exception):
    """Stripe's object disagrees with the invoice it names (currency, amount, metadata): the event fails."""


def _stripe_failed(exc: stripe.StripeError) -> BillingError:
    logger.warning("Stripe refused a billing call: %s (%s)", exc.user_message, getattr(exc, "code", None))
    return BillingError(
        _("Le service de paiement n'a pas pu traiter la demande. Réessayez dans quelques minutes."), "stripe_error"
    )


def _schema() -> str:
    return str(getattr(connection, "schema_name", ""))


# --- Connect: the firm's own Stripe account ---------------------------------------------------------


class ConnectState(StrEnum):
    NOT_CONFIGURED = "not_configured"
    NOT_CONNECTED = "not_connected"
    ONBOARDING = "onboarding"
    ENABLED = "enabled"


STATE_LABELS = {
    ConnectState.NOT_CONFIGURED: gettext_lazy("Paiement en ligne non configuré sur la plateforme"),
    ConnectState.NOT_CONNECTED: gettext_lazy("Aucun compte Stripe connecté"),
    ConnectState.ONBOARDING: gettext_lazy("Inscription Stripe à terminer"),
    ConnectState.ENABLED: gettext_lazy("Paiements en ligne activés"),
}


@dataclass(frozen=True)
class ConnectStatus:
    state: ConnectState
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    synced_at: datetime.datetime | None

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def can_take_payments(self) -> bool:
        return self.state == ConnectState.ENABLED


def connect_status(config: BillingSettings | None = None) -> ConnectStatus:
    """Where the firm's Stripe account stands, as last synced from Stripe (no API call)."""
    config = config or services.billing_settings()
    if not is_configured():
        state = ConnectState.NOT_CONFIGURED
    elif not config.stripe_account_id:
        state = ConnectState.NOT_CONNECTED
    elif not config.stripe_charges_enabled:
        state = ConnectState.ONBOARDING
    else:
        state = ConnectState.ENABLED
    return ConnectStatus(
        state=state,
        account_id=config.stripe_account_id,
        charges_enabled=config.stripe_charges_enabled,
        payouts_enabled=config.stripe_payouts_enabled,
        details_submitted=config.stripe_details_submitted,
        synced_at=config.stripe_synced_at,
    )


def _require_platform() -> None:
    if not is_configured():
        raise BillingError(
            _("Le paiement en ligne n'est pas configuré sur la plateforme : contactez l'opérateur."),
            "stripe_not_configured",
        )


def _ensure_account(*, by: Any) -> str:
    """The firm's connected account, created on Stripe the first time only."""
    tenant = current_firm()
    if tenant is None:
        raise BillingError(_("Aucun cabinet n'est sélectionné."), "no_firm")
    services.billing_settings()
    with transaction.atomic():
        config = BillingSettings.objects.select_for_update().get(pk=1)
        if config.stripe_account_id:
            return config.stripe_account_id
        profile = firm_profile()
        params: dict[str, Any] = {
            "country": "FR",
            "default_currency": "eur",
            # A "standard" account: the firm has its own Stripe dashboard, pays Stripe's fees and owns its disputes.
            "controller": {
                "stripe_dashboard": {"type": "full"},
                "fees": {"payer": "account"},
                "losses": {"payments": "stripe"},
                "requirement_collection": "stripe",
            },
            "business_profile": {"name": profile.legal_name or tenant.name},
            "metadata": {"tenant_schema": tenant.schema_name, "tenant_id": str(tenant.pk)},
        }
        if profile.contact_email:
            params["email"] = profile.contact_email
        account = get_client().v1.accounts.create(
            params=params,  # type: ignore[arg-type]
            # A retry after a rolled-back transaction gets the same account back (Stripe keeps keys 24 h).
            options={"idempotency_key": f"connect-account-{tenant.schema_name}-{tenant.pk}"},
        )
        config.stripe_account_id = account.id
        config.stripe_charges_enabled = bool(account.charges_enabled)
        config.stripe_payouts_enabled = bool(account.payouts_enabled)
        config.stripe_details_submitted = bool(account.details_submitted)
        config.stripe_synced_at = timezone.now()
        config.save(update_fields=["stripe_account_id", *ACCOUNT_FIELDS, "stripe_synced_at", "updated_at"])
        # The platform routes this account's webhook events to the firm through the public row.
        with schema_context(get_public_schema_name()):
            Tenant.objects.filter(pk=tenant.pk).update(stripe_account_id=account.id)
        audit.record(
            actor=by,
            action="billing.stripe_account_created",
            obj=config,
            changes={"stripe_account_id": [None, account.id]},
        )
        return str(account.id)


def start_onboarding(*, by: Any, refresh_url: str, return_url: str) -> str:
    """Connects the firm's Stripe account (created once) and returns the URL of Stripe's onboarding form."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    _require_platform()
    try:
        account_id = _ensure_account(by=by)
        link = get_client().v1.account_links.create(
            params={
                "account": account_id,
                "type": "account_onboarding",
                "refresh_url": refresh_url,
                "return_url": return_url,
            }
        )
    except stripe.StripeError as exc:
        raise _stripe_failed(exc) from exc
    return str(link.url)


def _apply_account(account: Mapping[str, Any], *, by: Any) -> bool:
    """Stores what Stripe says of the firm's account; False when it is not the firm's account."""
    with transaction.atomic():
        services.billing_settings()
        config = BillingSettings.objects.select_for_update().get(pk=1)
        if not config.stripe_account_id or account.get("id") != config.stripe_account_id:
            return False
        before = audit.snapshot(config, ACCOUNT_FIELDS)
        config.stripe_charges_enabled = bool(account.get("charges_enabled"))
        config.stripe_payouts_enabled = bool(account.get("payouts_enabled"))
        config.stripe_details_submitted = bool(account.get("details_submitted"))
        config.stripe_synced_at = timezone.now()
        config.save(update_fields=[*ACCOUNT_FIELDS, "stripe_synced_at", "updated_at"])
        changes = audit.diff(before, audit.snapshot(config, ACCOUNT_FIELDS))
        if changes:
            audit.record(actor=by, action="billing.stripe_account_synced", obj=config, changes=changes)
        return True


def refresh_account(*, by: Any) -> ConnectStatus:
    """Re-reads the firm's account from Stripe (return from onboarding, "update the status" button)."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    _require_platform()
    config = services.billing_settings()
    if not config.stripe_account_id:
        raise BillingError(_("Aucun compte Stripe n'est connecté."), "stripe_not_connected")
    try:
        account = get_client().v1.accounts.retrieve(config.stripe_account_id).to_dict()
    except stripe.StripeError as exc:
        raise _stripe_failed(exc) from exc
    _apply_account(account, by=by)
    return connect_status()


# --- Checkout: a member pays an invoice ------------------------------------------------------------


def _lock_invoice(pk: int) -> Invoice:
    return Invoice.objects.select_for_update().select_related("member").get(pk=pk)


def _check_payable(invoice: Invoice) -> None:
    if invoice.is_draft or invoice.is_credit_note:
        raise BillingError(_("Seule une facture émise se règle en ligne."), "not_payable")
    if invoice.balance_cents <= 0:
        raise BillingError(_("Cette facture est déjà réglée."), "nothing_to_pay")
    if invoice.balance_cents < MIN_AMOUNT_CENTS:
        raise BillingError(_("Le reste à payer est trop faible pour un paiement en ligne."), "amount_too_small")


def payable_online(invoice: Invoice, status: ConnectStatus | None = None) -> bool:
    """Whether the pay buttons are offered for `invoice` (the firm takes payments and something is due)."""
    status = status or connect_status()
    try:
        _check_payable(invoice)
    except BillingError:
        return False
    return status.can_take_payments


def _metadata(invoice: Invoice) -> dict[str, str]:
    # The webhook finds the invoice from these (and checks it is this firm's).
    return {"invoice_id": str(invoice.pk), "invoice_number": invoice.number or "", "tenant_schema": _schema()}


def _customer_for(client: stripe.StripeClient, *, account_id: str, member: Member) -> str:
    """The member's customer in the firm's account, created the first time only (call inside a transaction)."""
    with connection.cursor() as cursor:
        # Two tabs opening Checkout at once must create one customer, not two.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"billing-customer:{_schema()}:{member.pk}"])
    row = StripeCustomer.objects.filter(member=member).first()
    if row is not None and row.stripe_account_id == account_id:
        return row.customer_id
    emails = services.billing_emails(member)
    params: dict[str, Any] = {
        "name": member.legal_name,
        "preferred_locales": ["fr"],
        "metadata": {"member_id": str(member.pk), "siren": member.siren, "tenant_schema": _schema()},
    }
    if emails:
        params["email"] = emails[0]
    customer = client.v1.customers.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": f"billing-customer-{account_id}-{_schema()}-{member.pk}"},
    )
    before = row.customer_id if row is not None else None
    StripeCustomer.objects.update_or_create(
        member=member, defaults={"stripe_account_id": account_id, "customer_id": customer.id}
    )
    audit.record(
        actor=None,
        action="billing.stripe_customer_created",
        obj=member,
        changes={"stripe_customer_id": [before, customer.id], "stripe_account_id": [None, account_id]},
    )
    return str(customer.id)


def _fetch_session(client: stripe.StripeClient, session_id: str) -> dict[str, Any]:
    session: dict[str, Any] = client.v1.checkout.sessions.retrieve(
        session_id, params={"expand": SESSION_EXPAND}
    ).to_dict()
    return session


def sync_checkout_session(row: CheckoutSession) -> CheckoutSession:
    """Applies what Stripe says of a Checkout opened for an invoice (the member's return, an expired link)."""
    client = get_client(row.stripe_account_id)
    with transaction.atomic():
        invoice = _lock_invoice(row.invoice_id)
        session = _fetch_session(client, row.session_id)
        _apply_session(client, account_id=row.stripe_account_id, invoice=invoice, session=session)
    row.refresh_from_db()
    return row


def confirm_return(*, invoice: Invoice, session_id: str) -> CheckoutSession | None:
    """The member is back from Checkout: apply its outcome now rather than wait for the webhook.

    Only a session opened for `invoice` is looked at; Stripe is asked (the
    return URL proves nothing). A failure here is logged and left to the
    webhook: the page then says the payment is being confirmed.
    """
    row = CheckoutSession.objects.filter(invoice=invoice, session_id=session_id[:80]).first() if session_id else None
    if row is None or row.status not in (SessionStatus.OPEN, SessionStatus.PROCESSING) or not is_configured():
        return row
    try:
        return sync_checkout_session(row)
    except (stripe.StripeError, StripeMismatch, BillingError) as exc:
        logger.warning("Checkout session %s could not be confirmed on return: %s", row.session_id, exc)
        return row


def _close_open_sessions(client: stripe.StripeClient, invoice: Invoice) -> None:
    """Expires the invoice's earlier open Checkouts, so that two tabs cannot both take the money."""
    for row in CheckoutSession.objects.filter(invoice=invoice, status=SessionStatus.OPEN):
        try:
            client.v1.checkout.sessions.expire(row.session_id)
        except stripe.InvalidRequestError:
            # Not open any more on Stripe's side: completed (maybe paid a moment ago) or expired.
            sync_checkout_session(row)
        else:
            CheckoutSession.objects.filter(pk=row.pk, status=SessionStatus.OPEN).update(status=SessionStatus.EXPIRED)


def start_checkout(*, invoice: Invoice, method: str, success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout (mode payment) for what is left to pay on `invoice`; returns its URL.

    `method` is "card" or "sepa_debit"; a SEPA debit keeps its mandate for the
    renewals. The payment itself is recorded by the webhook. Refused with a
    BillingError when the firm takes no online payment, for a draft or a credit
    note, when nothing is left to pay or a SEPA debit is still being processed.
    """
    if method not in METHODS:
        raise BillingError(_("Choisissez la carte bancaire ou le prélèvement SEPA."), "invalid_method", field="method")
    status = connect_status()
    if not status.can_take_payments:
        raise BillingError(
            _("Le cabinet n'accepte pas encore le paiement en ligne : réglez par virement."), "stripe_not_connected"
        )
    _check_payable(Invoice.objects.get(pk=invoice.pk))
    client = get_client(status.account_id)
    try:
        _close_open_sessions(client, invoice)
        with transaction.atomic():
            invoice = _lock_invoice(invoice.pk)
            _check_payable(invoice)
            customer = StripeCustomer.objects.filter(member=invoice.member, stripe_account_id=status.account_id).first()
            pending = CheckoutSession.objects.filter(invoice=invoice, status=SessionStatus.PROCESSING).exists() or (
                # A renewal debited with the kept mandate (collect_with_mandate) may be on its way too.
                customer is not None and _debit_under_way(client, customer_id=customer.customer_id, invoice=invoice)
            )
            if pending:
                raise BillingError(
                    _("Un prélèvement SEPA est en cours pour cette facture : attendez sa confirmation par la banque."),
                    "payment_pending",
                )
            amount = invoice.balance_cents
            customer_id = _customer_for(client, account_id=status.account_id, member=invoice.member)
            metadata = _metadata(invoice)
            intent_data: dict[str, Any] = {"description": invoice.number, "metadata": metadata}
            if method == "sepa_debit":
                # The mandate given in Checkout stays usable for the next years' invoices.
                intent_data["setup_future_usage"] = "off_session"
            params: dict[str, Any] = {
                "mode": "payment",
                "customer": customer_id,
                "client_reference_id": str(invoice.pk),
                "allowed_payment_method_types": [method],
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": invoice.currency.lower(),
                            "unit_amount": amount,
                            "product_data": {"name": _("Facture %(number)s") % {"number": invoice.number}},
                        },
                    }
                ],
                "payment_intent_data": intent_data,
                "metadata": metadata,
                "success_url": success_url,
                "cancel_url": cancel_url,
                "locale": "fr",
            }
            session = client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
            if not session.url:
                raise BillingError(_("Stripe n'a pas ouvert la page de paiement."), "stripe_error")
            CheckoutSession.objects.create(
                invoice=invoice,
                session_id=session.id,
                stripe_account_id=status.account_id,
                amount_cents=amount,
                url=session.url,
                status=SessionStatus.OPEN,
            )
            audit.record(
                actor=None,
                action="billing.checkout_started",
                obj=invoice,
                changes={"checkout_session": [None, session.id], "method": [None, method], "amount": [None, amount]},
            )
    except stripe.StripeError as exc:
        raise _stripe_failed(exc) from exc
    return str(session.url)


# --- Applying what Stripe says (webhook, return page) ------------------------------------------------


def _method_type(intent: Mapping[str, Any]) -> str:
    method = intent.get("payment_method")
    if isinstance(method, Mapping) and method.get("type"):
        return str(method["type"])
    types = intent.get("payment_method_types") or []
    return str(types[0]) if len(types) == 1 else ""


def _record(invoice: Invoice, intent: Mapping[str, Any]) -> None:
    currency = str(intent.get("currency") or "")
    if currency.upper() != invoice.currency.upper():
        raise StripeMismatch(f"payment {intent['id']} is in {currency!r}, invoice {invoice.pk} in {invoice.currency}")
    amount = int(intent.get("amount_received") or 0)
    if amount <= 0:
        raise StripeMismatch(f"payment {intent['id']} succeeded with nothing received")
    services.record_stripe_payment(
        invoice=invoice,
        amount_cents=amount,
        method=METHODS.get(_method_type(intent), Payment.Method.OTHER),
        payment_intent=str(intent["id"]),
    )


def _note_failure(invoice: Invoice, intent: Mapping[str, Any]) -> None:
    """One audit row per failed PaymentIntent (Stripe tells it through two events)."""
    already = AuditEntry.objects.filter(
        action="billing.stripe_payment_failed",
        object_type=Invoice._meta.label_lower,
        object_id=str(invoice.pk),
        changes__payment_intent__1=str(intent["id"]),
    ).exists()
    if already:
        return
    error = intent.get("last_payment_error") or {}
    audit.record(
        actor=None,
        action="billing.stripe_payment_failed",
        obj=invoice,
        changes={
            "payment_intent": [None, str(intent["id"])],
            "code": [None, error.get("code") or intent.get("cancellation_reason") or ""],
            "error": [None, str(error.get("message") or "")[:300]],
        },
    )


def _sync_mandate(
    client: stripe.StripeClient, *, account_id: str, mandate_id: str, member: Member | None = None
) -> bool:
    """Keeps the row of a multi-use SEPA mandate as Stripe has it now; False when it is none of ours."""
    mandate: dict[str, Any] = client.v1.mandates.retrieve(mandate_id).to_dict()
    if mandate.get("type") != "multi_use":
        return False  # a single debit's mandate cannot collect a renewal
    method_ref = mandate.get("payment_method")
    method_id = str(method_ref["id"] if isinstance(method_ref, Mapping) else method_ref or "")
    method: dict[str, Any] = client.v1.payment_methods.retrieve(method_id).to_dict()
    if member is None:
        customer = (
            StripeCustomer.objects.select_related("member")
            .filter(stripe_account_id=account_id, customer_id=method.get("customer") or "")
            .first()
        )
        if customer is None:
            return False
        member = customer.member
    status = MANDATE_STATUS.get(str(mandate.get("status")), SepaMandate.Status.INACTIVE)
    last4 = str((method.get("sepa_debit") or {}).get("last4") or "")[:4]
    row = SepaMandate.objects.select_for_update().filter(mandate_id=mandate_id).first()
    if row is None:
        row = SepaMandate.objects.create(
            member=member,
            stripe_account_id=account_id,
            mandate_id=mandate_id,
            payment_method_id=method_id,
            status=status,
            iban_last4=last4,
        )
        audit.record(
            actor=None,
            action="billing.sepa_mandate_kept",
            obj=row,
            changes={"member": [None, member.pk], "status": [None, status], "iban_last4": [None, last4]},
        )
        return True
    before = audit.snapshot(row, ("status", "iban_last4", "payment_method_id"))
    row.status, row.iban_last4, row.payment_method_id = status, last4 or row.iban_last4, method_id
    changes = audit.diff(before, audit.snapshot(row, ("status", "iban_last4", "payment_method_id")))
    if changes:
        row.save(update_fields=["status", "iban_last4", "payment_method_id", "updated_at"])
        audit.record(actor=None, action="billing.sepa_mandate_updated", obj=row, changes=changes)
    return True


def _keep_mandate(client: stripe.StripeClient, *, account_id: str, member: Member, intent: Mapping[str, Any]) -> None:
    charge = intent.get("latest_charge")
    if not isinstance(charge, Mapping):
        return
    mandate_id = ((charge.get("payment_method_details") or {}).get("sepa_debit") or {}).get("mandate")
    if mandate_id:
        _sync_mandate(client, account_id=account_id, mandate_id=str(mandate_id), member=member)


def _apply_intent(
    client: stripe.StripeClient, *, account_id: str, invoice: Invoice, intent: Mapping[str, Any]
) -> SessionStatus:
    """Records a succeeded payment once, keeps a SEPA mandate, notes a failure; the caller holds the invoice lock."""
    _keep_mandate(client, account_id=account_id, member=invoice.member, intent=intent)
    status = intent.get("status")
    if status == "succeeded":
        _record(invoice, intent)
        return SessionStatus.PAID
    if status == "processing":
        return SessionStatus.PROCESSING
    if status == "canceled" or (status == "requires_payment_method" and intent.get("last_payment_error")):
        _note_failure(invoice, intent)
        return SessionStatus.FAILED
    return SessionStatus.OPEN


def _apply_session(
    client: stripe.StripeClient, *, account_id: str, invoice: Invoice, session: Mapping[str, Any]
) -> SessionStatus:
    if (session.get("metadata") or {}).get("invoice_id") != str(invoice.pk):
        raise StripeMismatch(f"checkout session {session['id']} is not for invoice {invoice.pk}")
    row = CheckoutSession.objects.select_for_update().filter(session_id=session["id"]).first()
    if row is None:  # opened by us but its row was lost with a rolled-back transaction
        row = CheckoutSession.objects.create(
            invoice=invoice,
            session_id=session["id"],
            stripe_account_id=account_id,
            amount_cents=int(session.get("amount_total") or 0),
            url=str(session.get("url") or "")[:1000],
        )
    if session.get("status") == "expired":
        new = SessionStatus.EXPIRED
    elif session.get("status") != "complete":
        new = SessionStatus.OPEN
    elif isinstance(session.get("payment_intent"), Mapping):
        new = _apply_intent(client, account_id=account_id, invoice=invoice, intent=session["payment_intent"])
    else:
        new = SessionStatus.PAID if session.get("payment_status") == "paid" else SessionStatus.PROCESSING
    if row.status != new:
        row.status = new
        row.save(update_fields=["status"])
    return new


def _invoice_named(metadata: Any) -> Invoice | None:
    """The invoice a Stripe object's metadata names, when it is this firm's."""
    if not isinstance(metadata, Mapping) or metadata.get("tenant_schema") != _schema():
        return None
    pk = str(metadata.get("invoice_id") or "")
    if not pk.isdigit():
        return None
    return Invoice.objects.filter(pk=int(pk), kind=Invoice.Kind.INVOICE).first()


# --- Webhook events -----------------------------------------------------------------------------------


def _on_checkout_session(event: StripeEvent) -> str:
    obj = event.payload["data"]["object"]
    if obj.get("mode") != "payment":
        return StripeEvent.Status.IGNORED
    row = CheckoutSession.objects.filter(session_id=str(obj.get("id"))).first()
    invoice = Invoice.objects.filter(pk=row.invoice_id).first() if row else _invoice_named(obj.get("metadata"))
    if invoice is None:
        return StripeEvent.Status.IGNORED
    client = get_client(event.account)
    invoice = _lock_invoice(invoice.pk)
    _apply_session(client, account_id=event.account, invoice=invoice, session=_fetch_session(client, obj["id"]))
    return StripeEvent.Status.PROCESSED


def _on_payment_intent(event: StripeEvent) -> str:
    obj = event.payload["data"]["object"]
    invoice = _invoice_named(obj.get("metadata"))
    if invoice is None:
        return StripeEvent.Status.IGNORED
    client = get_client(event.account)
    invoice = _lock_invoice(invoice.pk)
    intent: dict[str, Any] = client.v1.payment_intents.retrieve(obj["id"], params={"expand": INTENT_EXPAND}).to_dict()
    named = _invoice_named(intent.get("metadata"))
    if named is None or named.pk != invoice.pk:
        raise StripeMismatch(f"payment intent {obj['id']} no longer names invoice {invoice.pk}")
    _apply_intent(client, account_id=event.account, invoice=invoice, intent=intent)
    return StripeEvent.Status.PROCESSED


def _on_mandate(event: StripeEvent) -> str:
    obj = event.payload["data"]["object"]
    kept = _sync_mandate(get_client(event.account), account_id=event.account, mandate_id=str(obj["id"]))
    return StripeEvent.Status.PROCESSED if kept else StripeEvent.Status.IGNORED


def _on_account(event: StripeEvent) -> str:
    obj = event.payload["data"]["object"]
    if str(obj.get("id")) != services.billing_settings().stripe_account_id:
        return StripeEvent.Status.IGNORED
    account = get_client().v1.accounts.retrieve(str(obj["id"])).to_dict()
    return StripeEvent.Status.PROCESSED if _apply_account(account, by=None) else StripeEvent.Status.IGNORED


HANDLERS: dict[str, Callable[[StripeEvent], str]] = {
    "checkout.session.completed": _on_checkout_session,
    "checkout.session.async_payment_succeeded": _on_checkout_session,
    "checkout.session.async_payment_failed": _on_checkout_session,
    "checkout.session.expired": _on_checkout_session,
    "payment_intent.succeeded": _on_payment_intent,
    "payment_intent.processing": _on_payment_intent,
    "payment_intent.payment_failed": _on_payment_intent,
    "payment_intent.canceled": _on_payment_intent,
    "mandate.updated": _on_mandate,
    "account.updated": _on_account,
}


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    status: str

    @property
    def failed(self) -> bool:
        return self.status == StripeEvent.Status.FAILED


def _from_timestamp(value: object) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC) if isinstance(value, int | float) else None


def handle_webhook(*, payload: bytes, signature: str) -> WebhookResult:
    """Verifies a Connect event, stores it once in its firm's schema and applies it.

    An event of an account no firm has connected is answered `ignored` (and logged): there is no schema to
    keep it in. A replay of a stored event changes nothing and answers the stored status.
    """
    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("not_configured", "STRIPE_CONNECT_WEBHOOK_SECRET is not set")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected("bad_signature", "the Stripe-Signature header does not match the payload") from exc
    except ValueError as exc:
        raise WebhookRejected("bad_payload", "the payload is not a Stripe event") from exc
    data = json.loads(payload)
    if not isinstance(data, dict) or not data.get("id") or not data.get("type"):
        raise WebhookRejected("bad_payload", "the payload is not a Stripe event")
    if not isinstance((data.get("data") or {}).get("object"), dict):
        raise WebhookRejected("bad_payload", "the event carries no object")
    event_id, account = str(data["id"]), str(data.get("account") or "")
    tenant = None
    if account:
        with schema_context(get_public_schema_name()):
            tenant = Tenant.objects.firms().filter(stripe_account_id=account, dropped_at__isnull=True).first()
    if tenant is None:
        logger.warning("Stripe Connect event %s (%s) of unknown account %r ignored", event_id, data["type"], account)
        return WebhookResult(event_id=event_id, status=StripeEvent.Status.IGNORED)
    with tenant_context(tenant):
        event, created = StripeEvent.objects.get_or_create(
            stripe_id=event_id,
            defaults={
                "type": str(data["type"])[:100],
                "account": account,
                "created": _from_timestamp(data.get("created")),
                "payload": data,
            },
        )
        if created or event.status not in (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED):
            event = _process(event)
        return WebhookResult(event_id=event.stripe_id, status=event.status)


def retry_event(*, event: StripeEvent) -> StripeEvent:
    """Processes a failed event again (the admin's action; Stripe also redelivers while it got an error)."""
    if event.status != StripeEvent.Status.FAILED:
        return event
    return _process(event)


def _process(event: StripeEvent) -> StripeEvent:
    def handle(locked: StripeEvent) -> str:
        handler = HANDLERS.get(locked.type)
        return handler(locked) if handler is not None else StripeEvent.Status.IGNORED

    return process_once(event, handle)


# --- Off-session SEPA collection of renewals ------------------------------------------------------------


def active_mandate(member: Member) -> SepaMandate | None:
    """The member's newest active SEPA mandate in the firm's current Stripe account."""
    account = services.billing_settings().stripe_account_id
    if not account:
        return None
    return (
        SepaMandate.objects.filter(member=member, stripe_account_id=account, status=SepaMandate.Status.ACTIVE)
        .order_by("-created_at", "-pk")
        .first()
    )


def _debit_under_way(client: stripe.StripeClient, *, customer_id: str, invoice: Invoice) -> bool:
    """Whether Stripe holds a payment of this invoice that is processing or done but not recorded yet."""
    intents = client.v1.payment_intents.list(params={"customer": customer_id, "limit": 100})
    for intent in intents.data:
        found = intent.to_dict()
        if (found.get("metadata") or {}).get("invoice_id") != str(invoice.pk):
            continue
        if found.get("status") == "processing":
            return True
        if (
            found.get("status") == "succeeded"
            and not Payment.objects.filter(stripe_payment_intent=found["id"]).exists()
        ):
            return True
    return False


def collect_with_mandate(invoice: Invoice) -> bool:
    """Debits what is left on `invoice` with the member's kept SEPA mandate; True when a debit is under way.

    For the renewal run (call it after the invoice's issuing transaction has
    committed: it calls Stripe). False, and nothing done, when the firm takes no
    online payment, the member has no active mandate or customer in the firm's
    account, or nothing is left to pay; False too when Stripe refuses the debit
    (logged and audited): the invoice then waits for a payment like any other.
    The money is recorded later by the webhook (`payment_intent.succeeded`).
    Running it twice for the same invoice starts one debit.
    """
    invoice = Invoice.objects.select_related("member").get(pk=invoice.pk)
    status = connect_status()
    if not status.can_take_payments or invoice.is_draft or invoice.is_credit_note:
        return False
    amount = invoice.balance_cents
    if amount < MIN_AMOUNT_CENTS:
        return False
    mandate = active_mandate(invoice.member)
    customer = StripeCustomer.objects.filter(member=invoice.member, stripe_account_id=status.account_id).first()
    if mandate is None or customer is None:
        return False
    client = get_client(status.account_id)
    metadata = _metadata(invoice)
    try:
        if _debit_under_way(client, customer_id=customer.customer_id, invoice=invoice):
            return True
        intent = client.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": invoice.currency.lower(),
                "customer": customer.customer_id,
                "payment_method": mandate.payment_method_id,
                "allowed_payment_method_types": ["sepa_debit"],
                "mandate": mandate.mandate_id,
                "confirm": True,
                "off_session": True,
                "description": invoice.number or "",
                "metadata": metadata,
            },
            options={"idempotency_key": f"collect-{_schema()}-{invoice.pk}-{invoice.paid_cents}-{amount}"},
        )
    except stripe.StripeError as exc:
        logger.warning("SEPA collection of invoice %s refused: %s", invoice.pk, exc.user_message)
        audit.record(
            actor=None,
            action="billing.sepa_collection_failed",
            obj=invoice,
            changes={"mandate": [None, mandate.mandate_id], "error": [None, str(exc.user_message or exc)[:300]]},
        )
        return False
    audit.record(
        actor=None,
        action="billing.sepa_collection_started",
        obj=invoice,
        changes={"payment_intent": [None, intent.id], "amount": [None, amount], "mandate": [None, mandate.mandate_id]},
    )
    return intent.status in ("processing", "succeeded")

"""A small in-memory fake of the Stripe HTTP API, for tests (no network, ever).

`FakeStripe` is a WSGI app answering the endpoints the platform uses with the
shapes of the real objects (templates below, trimmed from Stripe's OpenAPI
fixtures, API 2026) and Stripe's error format. `WSGIHTTPClient` lets the SDK
call it in-process; the `stripe_fake` fixture points the project's clients at
it (the platform's own billing, tenants.saas, and the firms' Connect accounts,
billing.stripe_client). Objects live per `Stripe-Account` header, as on Stripe.

Test-side helpers play Stripe's part: complete a Checkout (subscription; card
or SEPA Direct Debit payment), settle or fail a SEPA debit, finish a connected
account's onboarding, change or cancel a subscription, build and sign webhook
events (with `account` for Connect events).
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

API_BASE = "http://stripe-fake.invalid"
API_KEY = "sk_test_fake_platform"
WEBHOOK_SECRET = "whsec_test_fake_platform"
CONNECT_WEBHOOK_SECRET = "whsec_test_fake_connect"

# --- Object templates (the fields the platform reads, and their neighbours) ---

CUSTOMER: dict[str, Any] = {
    "object": "customer",
    "address": None,
    "balance": 0,
    "currency": None,
    "default_source": None,
    "delinquent": False,
    "description": None,
    "email": None,
    "invoice_prefix": "7FE1103",
    "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
    "livemode": False,
    "metadata": {},
    "name": None,
    "next_invoice_sequence": 1,
    "phone": None,
    "preferred_locales": [],
    "tax_exempt": "none",
    "test_clock": None,
}
PRODUCT: dict[str, Any] = {
    "object": "product",
    "active": True,
    "description": None,
    "livemode": False,
    "metadata": {},
    "name": None,
    "type": "service",
}
PRICE: dict[str, Any] = {
    "object": "price",
    "active": True,
    "billing_scheme": "per_unit",
    "currency": "eur",
    "livemode": False,
    "lookup_key": None,
    "metadata": {},
    "nickname": None,
    "product": None,
    "recurring": {"interval": "month", "interval_count": 1, "meter": None, "usage_type": "licensed"},
    "tax_behavior": "unspecified",
    "type": "recurring",
    "unit_amount": None,
    "unit_amount_decimal": None,
}
CHECKOUT_SESSION: dict[str, Any] = {
    "object": "checkout.session",
    "allow_promotion_codes": None,
    "amount_subtotal": None,
    "amount_total": None,
    "cancel_url": None,
    "client_reference_id": None,
    "currency": None,
    "customer": None,
    "customer_email": None,
    "expires_at": None,
    "invoice": None,
    "livemode": False,
    "locale": None,
    "metadata": {},
    "mode": None,
    "allowed_payment_method_types": None,
    "payment_intent": None,
    "payment_method_types": ["card"],
    "payment_status": "unpaid",
    "setup_intent": None,
    "status": "open",
    "subscription": None,
    "success_url": None,
    "ui_mode": "hosted",
    "url": None,
}
PORTAL_SESSION: dict[str, Any] = {
    "object": "billing_portal.session",
    "configuration": "bpc_fake_default",
    "customer": None,
    "flow": None,
    "livemode": False,
    "locale": None,
    "on_behalf_of": None,
    "return_url": None,
    "url": None,
}
SUBSCRIPTION: dict[str, Any] = {
    "object": "subscription",
    "application": None,
    "billing_cycle_anchor": None,
    "cancel_at": None,
    "cancel_at_period_end": False,
    "canceled_at": None,
    "cancellation_details": {"comment": None, "feedback": None, "reason": None},
    "collection_method": "charge_automatically",
    "currency": "eur",
    "customer": None,
    "days_until_due": None,
    "default_payment_method": None,
    "description": None,
    "discounts": [],
    "ended_at": None,
    "items": {"object": "list", "data": [], "has_more": False, "url": None},
    "latest_invoice": None,
    "livemode": False,
    "metadata": {},
    "pause_collection": None,
    "start_date": None,
    "status": "incomplete",
    "test_clock": None,
    "trial_end": None,
    "trial_start": None,
}
SUBSCRIPTION_ITEM: dict[str, Any] = {
    "object": "subscription_item",
    "current_period_end": None,
    "current_period_start": None,
    "discounts": [],
    "metadata": {},
    "price": None,
    "quantity": 1,
    "subscription": None,
    "tax_rates": [],
}
INVOICE: dict[str, Any] = {
    "object": "invoice",
    "amount_due": 0,
    "amount_paid": 0,
    "amount_remaining": 0,
    "attempt_count": 1,
    "attempted": True,
    "billing_reason": "subscription_cycle",
    "collection_method": "charge_automatically",
    "currency": "eur",
    "customer": None,
    "hosted_invoice_url": None,
    "livemode": False,
    "metadata": {},
    "parent": {"quote_details": None, "subscription_details": {"metadata": {}, "subscription": None}, "type": None},
    "status": "open",
}
EVENT: dict[str, Any] = {
    "object": "event",
    "api_version": "2026-10-28.endive",
    "data": {"object": None},
    "livemode": False,
    "pending_webhooks": 1,
    "request": {"id": None, "idempotency_key": None},
    "type": None,
}

ACCOUNT: dict[str, Any] = {
    "object": "account",
    "business_profile": {"mcc": None, "name": None, "product_description": None, "support_email": None, "url": None},
    "business_type": None,
    "capabilities": {},
    "charges_enabled": False,
    "controller": {"type": "application", "is_controller": True},
    "country": "FR",
    "default_currency": "eur",
    "details_submitted": False,
    "email": None,
    "external_accounts": {"object": "list", "data": [], "has_more": False, "url": None},
    "future_requirements": {"currently_due": [], "disabled_reason": None, "eventually_due": [], "past_due": []},
    "metadata": {},
    "payouts_enabled": False,
    "requirements": {
        "currently_due": ["business_profile.url", "external_account", "tos_acceptance.date", "tos_acceptance.ip"],
        "disabled_reason": "requirements.past_due",
        "eventually_due": ["business_profile.url", "external_account", "tos_acceptance.date", "tos_acceptance.ip"],
        "past_due": [],
        "pending_verification": [],
    },
    "settings": {"dashboard": {"display_name": None, "timezone": "Europe/Paris"}, "sepa_debit_payments": {}},
    "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
    "type": "standard",
}
ACCOUNT_LINK: dict[str, Any] = {"object": "account_link", "expires_at": None, "url": None}
PAYMENT_INTENT: dict[str, Any] = {
    "object": "payment_intent",
    "allowed_payment_method_types": None,
    "amount": 0,
    "amount_capturable": 0,
    "amount_received": 0,
    "application": None,
    "application_fee_amount": None,
    "automatic_payment_methods": None,
    "canceled_at": None,
    "cancellation_reason": None,
    "capture_method": "automatic",
    "client_secret": None,
    "confirmation_method": "automatic",
    "currency": "eur",
    "customer": None,
    "description": None,
    "last_payment_error": None,
    "latest_charge": None,
    "livemode": False,
    "metadata": {},
    "next_action": None,
    "on_behalf_of": None,
    "payment_method": None,
    "payment_method_options": {},
    "payment_method_types": ["card"],
    "processing": None,
    "receipt_email": None,
    "setup_future_usage": None,
    "statement_descriptor": None,
    "status": "requires_payment_method",
    "transfer_data": None,
}
PAYMENT_METHOD: dict[str, Any] = {
    "object": "payment_method",
    "allow_redisplay": "unspecified",
    "billing_details": {"address": None, "email": None, "name": None, "phone": None, "tax_id": None},
    "customer": None,
    "livemode": False,
    "metadata": {},
    "type": "card",
}
CARD_DETAILS: dict[str, Any] = {
    "brand": "visa",
    "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
    "country": "FR",
    "display_brand": "visa",
    "exp_month": 12,
    "exp_year": 2034,
    "fingerprint": "Xt5EWLLDS7FJjR1c",
    "funding": "credit",
    "last4": "4242",
    "networks": {"available": ["visa"], "preferred": None},
    "wallet": None,
}
SEPA_DETAILS: dict[str, Any] = {
    "bank_code": "30006",
    "branch_code": "00001",
    "country": "FR",
    "fingerprint": "vifs0Ho7vwRn1Miu",
    "generated_from": {"charge": None, "setup_attempt": None},
    "last4": "3000",
}
MANDATE: dict[str, Any] = {
    "object": "mandate",
    "customer_acceptance": {"accepted_at": None, "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"},
                            "type": "online"},
    "livemode": False,
    "multi_use": {},
    "payment_method": None,
    "payment_method_details": {"sepa_debit": {"reference": None, "url": "https://stripe.com/mandate"},
                               "type": "sepa_debit"},
    "status": "active",
    "type": "multi_use",
}  # fmt: skip
CHARGE: dict[str, Any] = {
    "object": "charge",
    "amount": 0,
    "amount_captured": 0,
    "amount_refunded": 0,
    "balance_transaction": None,
    "captured": True,
    "currency": "eur",
    "customer": None,
    "description": None,
    "failure_code": None,
    "failure_message": None,
    "livemode": False,
    "metadata": {},
    "outcome": None,
    "paid": False,
    "payment_intent": None,
    "payment_method": None,
    "payment_method_details": None,
    "refunded": False,
    "status": "pending",
}

PREFIXES = {
    "customer": "cus",
    "product": "prod",
    "price": "price",
    "checkout.session": "cs_test",
    "billing_portal.session": "bps",
    "subscription": "sub",
    "subscription_item": "si",
    "invoice": "in",
    "event": "evt",
    "account": "acct",
    "account_link": "acctlink",
    "payment_intent": "pi",
    "payment_method": "pm",
    "mandate": "mandate",
    "charge": "ch",
}
TEMPLATES: dict[str, dict[str, Any]] = {
    "customer": CUSTOMER,
    "product": PRODUCT,
    "price": PRICE,
    "checkout.session": CHECKOUT_SESSION,
    "billing_portal.session": PORTAL_SESSION,
    "subscription": SUBSCRIPTION,
    "subscription_item": SUBSCRIPTION_ITEM,
    "invoice": INVOICE,
    "account": ACCOUNT,
    "account_link": ACCOUNT_LINK,
    "payment_intent": PAYMENT_INTENT,
    "payment_method": PAYMENT_METHOD,
    "mandate": MANDATE,
    "charge": CHARGE,
}


class StripeFakeError(Exception):
    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.type, self.message, self.code, self.param = status, type_, message, code, param

    def body(self) -> dict[str, Any]:
        error = {"type": self.type, "code": self.code, "message": self.message, "param": self.param}
        return {"error": {k: v for k, v in error.items() if v is not None}}


def missing(kind: str, object_id: str, param: str = "id") -> StripeFakeError:
    return StripeFakeError(
        404 if param == "id" else 400,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: `line_items[0][price]=p&metadata[k]=v` → nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _listify(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
    return node


def _bool(value: Any) -> bool:
    return value in (True, "true", "True", "1")


class FakeStripe:
    """In-memory Stripe: objects per `Stripe-Account` (None: the platform itself)."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.objects: dict[str | None, dict[str, dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.idempotent: dict[tuple[str | None, str], tuple[int, dict[str, Any]]] = {}
        self.failures: list[StripeFakeError] = []
        self._ids = itertools.count(1)

    # --- helpers for tests (Stripe's side of the story) -----------------------

    def fail_next(self, status: int, type_: str, message: str, *, code: str | None = None) -> None:
        """The next API call answers this error (402 card_error, 400 invalid_request_error...)."""
        self.failures.append(StripeFakeError(status, type_, message, code=code))

    def get(self, object_id: str, account: str | None = None) -> dict[str, Any]:
        return self.objects.setdefault(account, {})[object_id]

    def of_type(self, kind: str, account: str | None = None) -> list[dict[str, Any]]:
        return [obj for obj in self.objects.get(account, {}).values() if obj["object"] == kind]

    def create_price(self, *, unit_amount: int, interval: str = "month", product_name: str = "Formule") -> str:
        product = self._new("product", {"name": product_name})
        price = self._new(
            "price",
            {
                "product": product["id"],
                "unit_amount": unit_amount,
                "unit_amount_decimal": str(unit_amount),
                "recurring": {**PRICE["recurring"], "interval": interval},
            },
        )
        return str(price["id"])

    def complete_checkout(self, session_id: str, *, status: str = "active") -> dict[str, Any]:
        """The customer paid: the session completes and its subscription exists (as Stripe does)."""
        session = self.get(session_id)
        price = self.get(session["line_items"][0]["price"])
        subscription = self._new_subscription(customer=session["customer"], price=price, status=status)
        subscription["metadata"] = dict((session.get("subscription_data") or {}).get("metadata") or {})
        session.update(status="complete", payment_status="paid", subscription=subscription["id"])
        return session

    def update_subscription(
        self, subscription_id: str, *, price_id: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A change made on Stripe's side (portal, dashboard, dunning)."""
        subscription = self.get(subscription_id)
        if price_id is not None:
            subscription["items"]["data"][0]["price"] = copy.deepcopy(self.get(price_id))
        subscription.update(fields)
        return subscription

    def invoice_for(self, subscription_id: str, *, paid: bool) -> dict[str, Any]:
        subscription = self.get(subscription_id)
        amount = subscription["items"]["data"][0]["price"]["unit_amount"] or 0
        return self._new(
            "invoice",
            {
                "customer": subscription["customer"],
                "status": "paid" if paid else "open",
                "amount_due": amount,
                "amount_paid": amount if paid else 0,
                "amount_remaining": 0 if paid else amount,
                "parent": {
                    "quote_details": None,
                    "subscription_details": {"metadata": {}, "subscription": subscription_id},
                    "type": "subscription_details",
                },
            },
        )

    def event(
        self, type_: str, obj: dict[str, Any], *, created: int | None = None, account: str | None = None
    ) -> dict[str, Any]:
        """An event as Stripe sends it: a snapshot of `obj` at this moment (`account`: a connected account's)."""
        event = copy.deepcopy(EVENT)
        event.update(
            id=f"evt_{secrets.token_hex(12)}",
            created=created or int(time.time()),
            type=type_,
            data={"object": copy.deepcopy(obj)},
        )
        if account is not None:
            event["account"] = account
        return event

    # --- Connect: the firms' own accounts (Stripe's side) -------------------------------------------

    def complete_onboarding(
        self, account_id: str, *, charges_enabled: bool = True, payouts_enabled: bool = True
    ) -> dict[str, Any]:
        """The firm filled in Stripe's onboarding form: details submitted, capabilities as asked."""
        account = self._find("account", account_id, None)
        done = charges_enabled and payouts_enabled
        account.update(
            details_submitted=True,
            charges_enabled=charges_enabled,
            payouts_enabled=payouts_enabled,
            capabilities={"card_payments": "active" if charges_enabled else "inactive",
                          "sepa_debit_payments": "active" if charges_enabled else "inactive",
                          "transfers": "active" if payouts_enabled else "inactive"},
            requirements={**ACCOUNT["requirements"], "currently_due": [] if done else ["external_account"],
                          "eventually_due": [], "disabled_reason": None if done else "requirements.past_due"},
        )  # fmt: skip
        return account

    def connected_account(self, **onboarding: Any) -> str:
        """An account that went through onboarding (as if a firm had connected it)."""
        account = self._new("account", {"email": "compta@cabinet.fr"})
        self.complete_onboarding(account["id"], **onboarding)
        return str(account["id"])

    def pay_checkout_by_card(self, session_id: str, *, account: str) -> dict[str, Any]:
        """The member paid a payment-mode Checkout by card: the PaymentIntent succeeded at once."""
        session = self._open_payment_session(session_id, account)
        method = self._new_payment_method("card", customer=session["customer"], account=account)
        intent = self._intent_for_session(session, method, account, status="succeeded")
        session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return session

    def pay_checkout_by_sepa(self, session_id: str, *, account: str) -> dict[str, Any]:
        """The member gave a SEPA mandate in Checkout: the session completes unpaid, the debit is processing."""
        session = self._open_payment_session(session_id, account)
        method = self._new_payment_method("sepa_debit", customer=session["customer"], account=account)
        intent = self._intent_for_session(session, method, account, status="processing")
        session.update(status="complete", payment_status="unpaid", payment_intent=intent["id"])
        return session

    def settle_sepa(self, intent_id: str, *, account: str, succeeded: bool = True) -> dict[str, Any]:
        """Days later the bank answers: the debit succeeds, or fails (insufficient funds)."""
        intent = self._find("payment_intent", intent_id, account)
        charge = self._find("charge", intent["latest_charge"], account)
        if succeeded:
            intent.update(status="succeeded", amount_received=intent["amount"], processing=None)
            charge.update(status="succeeded", paid=True, amount_captured=intent["amount"])
        else:
            error = {"type": "card_error", "code": "insufficient_funds", "decline_code": None,
                     "message": "The account has insufficient funds to cover this payment.",
                     "payment_method": self.get(intent["payment_method"], account)}  # fmt: skip
            intent.update(status="requires_payment_method", last_payment_error=error, processing=None)
            charge.update(status="failed", failure_code="insufficient_funds", failure_message=error["message"])
        for session in self.of_type("checkout.session", account):
            if session.get("payment_intent") == intent_id and succeeded:
                session["payment_status"] = "paid"
        return intent

    def revoke_mandate(self, mandate_id: str, *, account: str) -> dict[str, Any]:
        """The debtor revoked the mandate at their bank."""
        mandate = self._find("mandate", mandate_id, account)
        mandate["status"] = "inactive"
        return mandate

    def mandate_of(self, intent_id: str, *, account: str) -> dict[str, Any]:
        intent = self._find("payment_intent", intent_id, account)
        charge = self._find("charge", intent["latest_charge"], account)
        return self.get(charge["payment_method_details"]["sepa_debit"]["mandate"], account)

    def _open_payment_session(self, session_id: str, account: str) -> dict[str, Any]:
        session = self._find("checkout.session", session_id, account)
        assert session["mode"] == "payment" and session["status"] == "open", session["status"]
        return session

    def _new_payment_method(self, type_: str, *, customer: str | None, account: str | None) -> dict[str, Any]:
        details = {"card": CARD_DETAILS, "sepa_debit": SEPA_DETAILS}[type_]
        billing = {**PAYMENT_METHOD["billing_details"], "email": "compta@entreprise.fr", "name": "Entreprise"}
        fields = {"type": type_, type_: copy.deepcopy(details), "customer": customer, "billing_details": billing}
        return self._new("payment_method", fields, account)

    def _intent_for_session(
        self, session: dict[str, Any], method: dict[str, Any], account: str, *, status: str
    ) -> dict[str, Any]:
        data = session.get("payment_intent_data") or {}
        return self._new_intent(
            amount=session["amount_total"],
            currency=session["currency"],
            customer=session["customer"],
            method=method,
            metadata=dict(data.get("metadata") or {}),
            description=data.get("description"),
            setup_future_usage=data.get("setup_future_usage"),
            mandate_id=None,
            status=status,
            account=account,
        )

    def _new_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer: str | None,
        method: dict[str, Any],
        metadata: dict[str, Any],
        description: str | None,
        setup_future_usage: str | None,
        mandate_id: str | None,
        status: str,
        account: str | None,
    ) -> dict[str, Any]:
        """A confirmed PaymentIntent with its charge (and, for SEPA, its mandate), in `status`."""
        succeeded = status == "succeeded"
        intent = self._new(
            "payment_intent",
            {
                "amount": amount,
                "amount_received": amount if succeeded else 0,
                "currency": currency,
                "customer": customer,
                "description": description,
                "metadata": metadata,
                "payment_method": method["id"],
                "payment_method_types": [method["type"]],
                "setup_future_usage": setup_future_usage,
                "status": status,
                "processing": {"type": method["type"]} if status == "processing" else None,
            },
            account,
        )
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
        details: dict[str, Any] = {"type": method["type"]}
        if method["type"] == "card":
            details["card"] = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "mandate": None}
        else:
            if mandate_id is None:
                mandate = self._new(
                    "mandate",
                    {
                        "payment_method": method["id"],
                        "type": "multi_use" if setup_future_usage == "off_session" else "single_use",
                        "multi_use": {} if setup_future_usage == "off_session" else None,
                        "single_use": None if setup_future_usage == "off_session" else {"amount": amount,
                                                                                          "currency": currency},
                    },
                    account,
                )  # fmt: skip
                mandate["customer_acceptance"]["accepted_at"] = int(time.time())
                mandate["payment_method_details"]["sepa_debit"]["reference"] = secrets.token_hex(8).upper()
                mandate_id = mandate["id"]
            fields = ("bank_code", "branch_code", "country", "fingerprint", "last4")
            details["sepa_debit"] = {**{k: SEPA_DETAILS[k] for k in fields}, "mandate": mandate_id}
        charge = self._new(
            "charge",
            {
                "amount": amount,
                "amount_captured": amount if succeeded else 0,
                "currency": currency,
                "customer": customer,
                "description": description,
                "metadata": metadata,
                "paid": succeeded,
                "payment_intent": intent["id"],
                "payment_method": method["id"],
                "payment_method_details": details,
                "status": "succeeded" if succeeded else "pending",
            },
            account,
        )
        intent["latest_charge"] = charge["id"]
        return intent

    # --- the HTTP API -------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, body = self.handle(environ)
        payload = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 402: "Request Failed", 404: "Not Found"}
        start_response(
            f"{status} {reason.get(status, 'Error')}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Request-Id", f"req_{secrets.token_hex(8)}"),
            ],
        )
        return [payload]

    def handle(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length).decode() if length else ""
        params = parse_form(raw if method == "POST" else environ.get("QUERY_STRING", ""))
        account = environ.get("HTTP_STRIPE_ACCOUNT") or None
        self.requests.append({"method": method, "path": path, "params": params, "account": account})
        try:
            self._authenticate(environ.get("HTTP_AUTHORIZATION", ""))
            if self.failures:
                raise self.failures.pop(0)
            key = environ.get("HTTP_IDEMPOTENCY_KEY")
            if method == "POST" and key and (account, key) in self.idempotent:
                return self.idempotent[(account, key)]
            result = (200, self._route(method, path, params, account))
            if method == "POST" and key:
                self.idempotent[(account, key)] = result
            return result
        except StripeFakeError as exc:
            return exc.status, exc.body()

    def _authenticate(self, header: str) -> None:
        if not header.startswith("Bearer "):
            raise StripeFakeError(401, "invalid_request_error", "You did not provide an API key.")
        if header.removeprefix("Bearer ") != self.api_key:
            raise StripeFakeError(
                401, "invalid_request_error", "Invalid API Key provided: sk_test_****", code="api_key_invalid"
            )

    def _route(self, method: str, path: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        routes: list[tuple[str, str, Callable[..., dict[str, Any]]]] = [
            ("POST", r"/v1/customers", self._create_customer),
            ("POST", r"/v1/products", self._create_product),
            ("POST", r"/v1/prices", self._create_price),
            ("POST", r"/v1/checkout/sessions", self._create_checkout_session),
            ("POST", r"/v1/checkout/sessions/(?P<id>[^/]+)/expire", self._expire_checkout_session),
            ("POST", r"/v1/billing_portal/sessions", self._create_portal_session),
            ("POST", r"/v1/accounts", self._create_account),
            ("POST", r"/v1/account_links", self._create_account_link),
            ("POST", r"/v1/payment_intents", self._create_payment_intent),
            ("GET", r"/v1/payment_intents", self._list_payment_intents),
            ("GET", r"/v1/(customers|products|prices|checkout/sessions|subscriptions|invoices|accounts"
                    r"|payment_intents|payment_methods|mandates|charges)/(?P<id>[^/]+)", self._retrieve),
            ("POST", r"/v1/(customers|subscriptions|accounts)/(?P<id>[^/]+)", self._update),
            ("DELETE", r"/v1/customers/(?P<id>[^/]+)", self._delete_customer),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", self._cancel_subscription),
        ]  # fmt: skip
        if account is not None and self.objects.get(None, {}).get(account, {}).get("object") != "account":
            raise StripeFakeError(
                400,
                "invalid_request_error",
                f"The provided key does not have access to account '{account}' (or that account does not exist).",
                code="account_invalid",
            )
        for verb, pattern, view in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return view(
                    params=params, account=account, **({"id": match["id"]} if "id" in match.groupdict() else {})
                )
        raise StripeFakeError(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).", code="resource_missing"
        )

    def _new(self, kind: str, fields: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        obj = copy.deepcopy(TEMPLATES[kind])
        obj.update(id=f"{PREFIXES[kind]}_{secrets.token_hex(8)}{next(self._ids)}", created=int(time.time()))
        obj.update(fields)
        self.objects.setdefault(account, {})[obj["id"]] = obj
        return obj

    def _find(self, kind: str, object_id: str, account: str | None, param: str = "id") -> dict[str, Any]:
        obj = self.objects.get(account, {}).get(object_id)
        if obj is None or obj["object"] != kind or obj.get("deleted"):
            raise missing(kind.split(".")[-1], object_id, param)
        return obj

    @staticmethod
    def _required(params: dict[str, Any], *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise StripeFakeError(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {name}.",
                    code="parameter_missing",
                    param=name,
                )

    def _create_customer(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        fields = {k: params[k] for k in ("name", "email", "description", "phone") if k in params}
        return self._new("customer", {**fields, "metadata": params.get("metadata") or {}}, account)

    def _create_product(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._required(params, "name")
        return self._new("product", {"name": params["name"], "metadata": params.get("metadata") or {}}, account)

    def _create_price(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._required(params, "currency", "product", "unit_amount")
        self._find("product", params["product"], account, "product")
        recurring = params.get("recurring") or {}
        return self._new(
            "price",
            {
                "currency": params["currency"],
                "product": params["product"],
                "unit_amount": int(params["unit_amount"]),
                "unit_amount_decimal": params["unit_amount"],
                "recurring": {**PRICE["recurring"], **recurring} if recurring else None,
                "type": "recurring" if recurring else "one_time",
            },
            account,
        )

    def _create_checkout_session(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._required(params, "mode", "success_url", "line_items")
        mode = params["mode"]
        if mode not in ("payment", "setup", "subscription"):
            raise StripeFakeError(
                400, "invalid_request_error", "Invalid mode.", code="parameter_invalid_empty", param="mode"
            )
        if params.get("customer"):
            self._find("customer", params["customer"], account, "customer")
        # API 2026: `allowed_payment_method_types` (older versions sent `payment_method_types`).
        allowed = params.get("allowed_payment_method_types") or params.get("payment_method_types")
        methods = allowed or ["card"]
        for n, method in enumerate(methods):
            if method not in ("card", "sepa_debit"):
                raise self._invalid(f"Invalid payment method type: {method}", f"allowed_payment_method_types[{n}]")
        intent_data = params.get("payment_intent_data") or {}
        if intent_data and mode != "payment":
            raise self._invalid("You can only pass `payment_intent_data` in `payment` mode.", "payment_intent_data")
        if intent_data.get("setup_future_usage") not in (None, "off_session", "on_session"):
            raise self._invalid("Invalid setup_future_usage.", "payment_intent_data[setup_future_usage]")
        if intent_data.get("setup_future_usage") and not params.get("customer"):
            raise self._invalid("setup_future_usage requires a customer.", "customer")
        total, currency = 0, None
        for n, item in enumerate(params["line_items"]):
            quantity = int(item.get("quantity") or 0)
            if quantity < 1:
                raise self._invalid("Quantity must be at least 1.", f"line_items[{n}][quantity]")
            if "price_data" in item:
                data = item["price_data"]
                if not (data.get("product_data") or {}).get("name") and not data.get("product"):
                    raise self._invalid("Missing product_data[name].", f"line_items[{n}][price_data][product_data]")
                price = {"currency": data.get("currency"), "unit_amount": int(data.get("unit_amount") or 0),
                         "recurring": data.get("recurring")}  # fmt: skip
            else:
                price = self._find("price", item.get("price", ""), account, f"line_items[{n}][price]")
            if mode == "subscription" and not price.get("recurring"):
                raise StripeFakeError(
                    400,
                    "invalid_request_error",
                    "You must specify at least one recurring price in `subscription` mode.",
                    param=f"line_items[{n}][price]",
                )
            if mode == "payment":
                if price.get("recurring"):
                    raise self._invalid("Recurring prices need `subscription` mode.", f"line_items[{n}]")
                if currency not in (None, price["currency"]):
                    raise self._invalid("Line items must all be in the same currency.", f"line_items[{n}]")
                currency = price["currency"]
                total += int(price["unit_amount"] or 0) * quantity
        if mode == "payment" and total < 50:
            raise self._invalid("The Checkout Session's total amount due must add up to at least €0.50 eur")
        session = self._new(
            "checkout.session",
            {
                key: params.get(key)
                for key in ("mode", "customer", "client_reference_id", "success_url", "cancel_url", "locale")
            }
            | {"metadata": params.get("metadata") or {}, "expires_at": int(time.time()) + 86400}
            | {"payment_method_types": methods, "allowed_payment_method_types": allowed}
            | ({"amount_subtotal": total, "amount_total": total, "currency": currency} if mode == "payment" else {}),
            account,
        )
        # Kept for the helpers; the real API shows line items through a separate endpoint.
        session["line_items"] = params["line_items"]
        session["subscription_data"] = params.get("subscription_data") or {}
        session["payment_intent_data"] = intent_data
        session["url"] = f"https://checkout.stripe.com/c/pay/{session['id']}"
        return session

    def _expire_checkout_session(self, *, id: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        session = self._find("checkout.session", id, account)
        if session["status"] != "open":
            raise self._invalid(
                f"Only Checkout Sessions with a status of `open` can be expired. This session has a status of "
                f"`{session['status']}`."
            )
        session.update(status="expired", url=None)
        return session

    @staticmethod
    def _invalid(message: str, param: str | None = None) -> StripeFakeError:
        return StripeFakeError(400, "invalid_request_error", message, param=param)

    def _create_account(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        if account is not None:
            raise self._invalid("Connected accounts cannot create accounts.")
        controller = params.get("controller") or {}
        dashboard = (controller.get("stripe_dashboard") or {}).get("type")
        kind = params.get("type") or ("standard" if dashboard in (None, "full") else "express" if
                                      dashboard == "express" else "custom")  # fmt: skip
        profile = {**ACCOUNT["business_profile"], **(params.get("business_profile") or {})}
        return self._new(
            "account",
            {
                "type": kind,
                "country": params.get("country") or "FR",
                "email": params.get("email"),
                "business_profile": profile,
                "metadata": params.get("metadata") or {},
                "controller": {**ACCOUNT["controller"], **controller},
            },
        )

    def _create_account_link(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._required(params, "account", "type")
        target = self._find("account", params["account"], None, "account")
        if params["type"] not in ("account_onboarding", "account_update"):
            raise self._invalid("Invalid type.", "type")
        self._required(params, "refresh_url", "return_url")
        link = self._new("account_link", {"expires_at": int(time.time()) + 300})
        # A link is single-use on Stripe; nothing here needs it kept.
        del self.objects[None][link.pop("id")]
        link["url"] = f"https://connect.stripe.com/setup/s/{target['id']}/{secrets.token_urlsafe(9)}"
        return link

    def _create_payment_intent(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._required(params, "amount", "currency")
        amount = int(params["amount"])
        if amount < 50:
            raise self._invalid("Amount must be at least €0.50 eur", "amount")
        customer = params.get("customer")
        if customer:
            self._find("customer", customer, account, "customer")
        method = self._find("payment_method", params["payment_method"], account, "payment_method") if params.get(
            "payment_method") else None  # fmt: skip
        allowed = params.get("allowed_payment_method_types") or params.get("payment_method_types")
        types = allowed or ["card"]
        if method is not None and method["type"] not in types:
            raise self._invalid("The PaymentMethod's type is not in payment_method_types.", "payment_method")
        if method is not None and customer and method.get("customer") != customer:
            raise self._invalid("The PaymentMethod does not belong to this Customer.", "payment_method")
        mandate_id = params.get("mandate")
        if mandate_id:
            mandate = self._find("mandate", mandate_id, account, "mandate")
            if method is None or mandate["payment_method"] != method["id"]:
                raise self._invalid("The mandate is not for this PaymentMethod.", "mandate")
            if mandate["status"] != "active" or mandate["type"] != "multi_use":
                raise StripeFakeError(
                    400, "invalid_request_error", "The mandate is not active.", code="mandate_invalid", param="mandate"
                )
        common = {
            "amount": amount,
            "currency": params["currency"],
            "customer": customer,
            "metadata": params.get("metadata") or {},
            "description": params.get("description"),
            "setup_future_usage": params.get("setup_future_usage"),
        }
        if not (_bool(params.get("confirm")) and method is not None):
            intent = self._new(
                "payment_intent",
                {**common, "payment_method": method["id"] if method else None, "payment_method_types": types,
                 "allowed_payment_method_types": allowed,
                 "status": "requires_confirmation" if method else "requires_payment_method"},
                account,
            )  # fmt: skip
            return intent
        status = "processing" if method["type"] == "sepa_debit" else "succeeded"
        return self._new_intent(**common, method=method, mandate_id=mandate_id, status=status, account=account)

    def _list_payment_intents(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        found = [
            intent
            for intent in self.of_type("payment_intent", account)
            if not params.get("customer") or intent.get("customer") == params["customer"]
        ]
        found.sort(key=lambda intent: intent["created"], reverse=True)
        limit = int(params.get("limit") or 10)
        return {"object": "list", "data": found[:limit], "has_more": len(found) > limit, "url": "/v1/payment_intents"}

    def _create_portal_session(self, *, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._required(params, "customer")
        self._find("customer", params["customer"], account, "customer")
        session = self._new(
            "billing_portal.session",
            {"customer": params["customer"], "return_url": params.get("return_url"), "locale": params.get("locale")},
            account,
        )
        session["url"] = f"https://billing.stripe.com/p/session/test_{secrets.token_hex(12)}"
        return session

    def _kind_of(self, object_id: str) -> str:
        prefix = object_id.rsplit("_", 1)[0]
        return next((kind for kind, p in PREFIXES.items() if p == prefix), "object")

    def _retrieve(self, *, id: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        kind = self._kind_of(id)
        # Accounts belong to the platform: retrieved without a Stripe-Account header.
        obj = self._find(kind, id, None if kind == "account" else account)
        expand = params.get("expand") or []
        if not expand:
            return obj
        obj = copy.deepcopy(obj)
        for path in [expand] if isinstance(expand, str) else expand:
            self._expand(obj, path.split("."), account)
        return obj

    def _expand(self, node: dict[str, Any], path: list[str], account: str | None) -> None:
        """Replaces the id at `path` by its object, as `expand[]=a.b` does (an unknown field is an error)."""
        head, rest = path[0], path[1:]
        if head not in node:
            raise self._invalid(f"This property cannot be expanded ({head}).", "expand")
        value = node[head]
        if isinstance(value, str):
            value = node[head] = copy.deepcopy(self._find(self._kind_of(value), value, account))
        if rest and isinstance(value, dict):
            self._expand(value, rest, account)

    def _update(self, *, id: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        kind = self._kind_of(id)
        obj = self._find(kind, id, None if kind == "account" else account)
        if "metadata" in params:
            obj["metadata"] = {**obj["metadata"], **params["metadata"]}
        if obj["object"] == "customer":
            obj.update({k: params[k] for k in ("name", "email", "description") if k in params})
        if obj["object"] == "account":
            obj.update({k: params[k] for k in ("email",) if k in params})
        if obj["object"] == "subscription":
            if "cancel_at_period_end" in params:
                obj["cancel_at_period_end"] = _bool(params["cancel_at_period_end"])
            for n, item in enumerate(params.get("items") or []):
                if item.get("price"):
                    price = self._find("price", item["price"], account, f"items[{n}][price]")
                    obj["items"]["data"][0]["price"] = copy.deepcopy(price)
        return obj

    def _delete_customer(self, *, id: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        self._find("customer", id, account)
        del self.objects[account][id]
        return {"id": id, "object": "customer", "deleted": True}

    def _cancel_subscription(self, *, id: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        subscription = self._find("subscription", id, account)
        now = int(time.time())
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        return subscription

    def _new_subscription(self, *, customer: str, price: dict[str, Any], status: str) -> dict[str, Any]:
        now = int(time.time())
        period = 365 * 86400 if (price.get("recurring") or {}).get("interval") == "year" else 30 * 86400
        subscription = self._new(
            "subscription",
            {"customer": customer, "status": status, "start_date": now, "billing_cycle_anchor": now},
        )
        item = self._new(
            "subscription_item",
            {
                "price": copy.deepcopy(price),
                "subscription": subscription["id"],
                "current_period_start": now,
                "current_period_end": now + period,
            },
        )
        subscription["items"]["data"] = [item]
        subscription["items"]["url"] = f"/v1/subscription_items?subscription={subscription['id']}"
        return subscription


class WSGIHTTPClient(stripe.HTTPClient):
    """Hands the SDK's requests to a WSGI app in the same process: no socket, no network."""

    name = "wsgi-in-process"

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        super().__init__()
        self.app = app

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[bytes, int, dict[str, str]]:
        parts = urlsplit(url)
        body = (post_data or "").encode() if isinstance(post_data, str | type(None)) else bytes(post_data)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method.upper(),
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "stripe-fake.invalid",
            "SERVER_PORT": str(parts.port or 80),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "",
        }
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            environ["CONTENT_TYPE" if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer["status"] = int(status.split(" ", 1)[0])
            answer["headers"] = dict(response_headers)

        content = b"".join(self.app(environ, start_response))
        return content, answer["status"], answer["headers"]

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the fake serves no streams")

    def close(self) -> None:
        pass


def signed_event(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """The exact body to post and its Stripe-Signature header."""
    payload = json.dumps(event)
    return payload.encode(), stripe.WebhookSignature.generate_signature_header(payload, secret)


@pytest.fixture(name="stripe_fake")
def stripe_fake_fixture(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """The project's Stripe clients talk to a fresh in-memory fake; the webhook secrets are known.

    One fake serves both: the platform's own account (tenants.saas) and, through
    the `Stripe-Account` header, the firms' connected accounts (billing).
    """
    from billing import stripe_client as billing_client
    from tenants.saas import stripe_client

    fake = FakeStripe()
    settings.PLATFORM_STRIPE_SECRET_KEY = API_KEY
    settings.PLATFORM_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = CONNECT_WEBHOOK_SECRET
    settings.STRIPE_API_BASE = API_BASE
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    http_client = WSGIHTTPClient(fake)
    monkeypatch.setattr(stripe_client, "HTTP_CLIENT", http_client)
    monkeypatch.setattr(billing_client, "HTTP_CLIENT", http_client)
    yield fake

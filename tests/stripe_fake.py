"""A small in-memory fake of the Stripe HTTP API, for tests (no network, ever).

`FakeStripe` is a WSGI app answering the endpoints the platform uses with the
shapes of the real objects (templates below, trimmed from Stripe's OpenAPI
fixtures, API 2026) and Stripe's error format. `WSGIHTTPClient` lets the SDK
call it in-process; the `stripe_fake` fixture points the project's client at
it. Test-side helpers play Stripe's part: complete a Checkout, change or
cancel a subscription, build and sign webhook events.
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
    "payment_intent": None,
    "payment_status": "unpaid",
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

    def event(self, type_: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        """An event as Stripe sends it: a snapshot of `obj` at this moment."""
        event = copy.deepcopy(EVENT)
        event.update(
            id=f"evt_{secrets.token_hex(12)}",
            created=created or int(time.time()),
            type=type_,
            data={"object": copy.deepcopy(obj)},
        )
        return event

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
            ("POST", r"/v1/billing_portal/sessions", self._create_portal_session),
            ("GET", r"/v1/(customers|products|prices|checkout/sessions|subscriptions|invoices)/(?P<id>[^/]+)",
             self._retrieve),
            ("POST", r"/v1/(customers|subscriptions)/(?P<id>[^/]+)", self._update),
            ("DELETE", r"/v1/customers/(?P<id>[^/]+)", self._delete_customer),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", self._cancel_subscription),
        ]  # fmt: skip
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
        template = {
            "customer": CUSTOMER,
            "product": PRODUCT,
            "price": PRICE,
            "checkout.session": CHECKOUT_SESSION,
            "billing_portal.session": PORTAL_SESSION,
            "subscription": SUBSCRIPTION,
            "subscription_item": SUBSCRIPTION_ITEM,
            "invoice": INVOICE,
        }[kind]
        obj = copy.deepcopy(template)
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
        if params["mode"] not in ("payment", "setup", "subscription"):
            raise StripeFakeError(
                400, "invalid_request_error", "Invalid mode.", code="parameter_invalid_empty", param="mode"
            )
        if params.get("customer"):
            self._find("customer", params["customer"], account, "customer")
        for n, item in enumerate(params["line_items"]):
            price = self._find("price", item.get("price", ""), account, f"line_items[{n}][price]")
            if params["mode"] == "subscription" and not price.get("recurring"):
                raise StripeFakeError(
                    400,
                    "invalid_request_error",
                    "You must specify at least one recurring price in `subscription` mode.",
                    param=f"line_items[{n}][price]",
                )
        session = self._new(
            "checkout.session",
            {
                key: params.get(key)
                for key in ("mode", "customer", "client_reference_id", "success_url", "cancel_url", "locale")
            }
            | {"metadata": params.get("metadata") or {}, "expires_at": int(time.time()) + 86400},
            account,
        )
        # Kept for complete_checkout(); the real API shows line items through a separate endpoint.
        session["line_items"] = params["line_items"]
        session["subscription_data"] = params.get("subscription_data") or {}
        session["url"] = f"https://checkout.stripe.com/c/pay/{session['id']}"
        return session

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
        return self._find(self._kind_of(id), id, account)

    def _update(self, *, id: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        obj = self._find(self._kind_of(id), id, account)
        if "metadata" in params:
            obj["metadata"] = {**obj["metadata"], **params["metadata"]}
        if obj["object"] == "customer":
            obj.update({k: params[k] for k in ("name", "email", "description") if k in params})
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
    """The project's Stripe client talks to a fresh in-memory fake; the webhook secret is known."""
    from tenants.saas import stripe_client

    fake = FakeStripe()
    settings.PLATFORM_STRIPE_SECRET_KEY = API_KEY
    settings.PLATFORM_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = API_BASE
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    monkeypatch.setattr(stripe_client, "HTTP_CLIENT", WSGIHTTPClient(fake))
    yield fake

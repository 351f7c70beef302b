"""Every write of the webhooks: endpoints (firm.settings), emission, and each delivery attempt.

An event becomes one `WebhookDelivery` per active endpoint subscribed to it,
in one transaction; the attempts are queued after commit. An attempt claims
its row (`select_for_update(skip_locked=True)`) and leases it by pushing
`next_attempt_at` past the request's timeout, then posts without holding a
lock or a transaction: a duplicate task finds the row leased (or already
succeeded) and sends nothing; a worker that dies mid-request leaves the row
due again when the lease ends, and the periodic `send_due_deliveries` sends it.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from core.tenancy import current_schema
from integrations import signing, urlguard
from integrations.errors import WebhookError
from integrations.events import PING, SUBSCRIBABLE
from integrations.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

S = WebhookDelivery.Status
USER_AGENT = "Mediation-Webhooks/1.0 (+https://www.standardwebhooks.com)"
# Waits before the 2nd, 3rd… attempt; after the last one fails the delivery is failed (7 attempts over ~35 h).
BACKOFF: tuple[datetime.timedelta, ...] = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=8),
    datetime.timedelta(hours=24),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
EXCERPT_BYTES = 2048
# An endpoint whose last this-many finished deliveries all failed is switched off, with the reason.
AUTO_DISABLE_AFTER = 5
ENDPOINT_FIELDS = ("url", "description", "events", "is_active")


# --- Endpoints ----------------------------------------------------------------------------------


def clean_url(url: str) -> str:
    """`url` stripped, or a WebhookError (field `url`): not a URL, not http(s), or into a private network."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise WebhookError(_("Saisissez une adresse web complète (https://…)."), "invalid_url", "url") from exc
    try:
        urlguard.check(url)
    except urlguard.UnsafeURL as exc:
        raise WebhookError(exc.message, exc.code, "url") from exc
    return url


def clean_events(events: Iterable[str]) -> list[str]:
    """The events in the catalogue's order, once each; at least one, all from the catalogue."""
    chosen = set(events)
    unknown = sorted(chosen - set(SUBSCRIBABLE))
    if unknown:
        raise WebhookError(
            _("Événement inconnu : %(names)s.") % {"names": ", ".join(unknown)}, "unknown_event", "events"
        )
    if not chosen:
        raise WebhookError(_("Choisissez au moins un événement."), "no_events", "events")
    return [event for event in SUBSCRIBABLE if event in chosen]


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return audit.snapshot(endpoint, ENDPOINT_FIELDS)  # never the secret


@transaction.atomic
def create_endpoint(
    *, by: User, url: str, events: Iterable[str], description: str = "", is_active: bool = True
) -> WebhookEndpoint:
    ensure_perm(by, Perm.FIRM_SETTINGS)
    endpoint = WebhookEndpoint.objects.create(
        url=clean_url(url),
        events=clean_events(events),
        description=description.strip(),
        is_active=is_active,
        secret=signing.generate_secret(),
        created_by=by,
    )
    audit.record(
        actor=by,
        action="webhooks.endpoint_created",
        obj=endpoint,
        changes={name: [None, value] for name, value in _snapshot(endpoint).items()},
    )
    return endpoint


def _lock(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


@transaction.atomic
def update_endpoint(*, by: User, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Changes the named fields (url, description, events, is_active); switching it on clears the reason it was off."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    unknown = sorted(set(changes) - set(ENDPOINT_FIELDS))
    if unknown:
        raise TypeError(f"WebhookEndpoint has no editable field(s): {', '.join(unknown)}")
    endpoint = _lock(endpoint)
    before = _snapshot(endpoint)
    if "url" in changes:
        changes["url"] = clean_url(changes["url"])
    if "events" in changes:
        changes["events"] = clean_events(changes["events"])
    if "description" in changes:
        changes["description"] = changes["description"].strip()
    fields = list(changes)
    if changes.get("is_active") and not endpoint.is_active:
        endpoint.disabled_reason = ""
        fields.append("disabled_reason")
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=[*fields, "updated_at"])
    after = _snapshot(endpoint)
    changed = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if changed:
        audit.record(actor=by, action="webhooks.endpoint_updated", obj=endpoint, changes=changed)
    return endpoint


@transaction.atomic
def delete_endpoint(*, by: User, endpoint: WebhookEndpoint) -> None:
    """Deletes the endpoint and its delivery log (pending deliveries are never sent)."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    endpoint = _lock(endpoint)
    audit.record(
        actor=by,
        action="webhooks.endpoint_deleted",
        obj=endpoint,
        changes={name: [value, None] for name, value in _snapshot(endpoint).items()},
    )
    endpoint.delete()


@transaction.atomic
def regenerate_secret(*, by: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret; the old one stops working at once (the next attempts are signed with the new one)."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    endpoint = _lock(endpoint)
    endpoint.secret = signing.generate_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    audit.record(actor=by, action="webhooks.secret_regenerated", obj=endpoint, changes={"secret": ["***", "***"]})
    return endpoint


# --- Emission ------------------------------------------------------------------------------------


def envelope(*, event_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "type": event_type,
        "created": timezone.now().isoformat(),
        "firm": current_schema(),
        "data": data,
    }


def _enqueue_after_commit(deliveries: list[WebhookDelivery]) -> None:
    ids = [delivery.pk for delivery in deliveries]

    def enqueue() -> None:
        from integrations import tasks

        for pk in ids:
            try:
                tasks.deliver.delay(pk)
            except Exception:  # a broker down loses nothing: the periodic task sends what is due
                logger.exception("webhook delivery %s not queued", pk)

    if ids:
        transaction.on_commit(enqueue)


@transaction.atomic
def emit(*, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """One delivery of the event per active endpoint subscribed to `event_type`, sent after commit."""
    if event_type not in SUBSCRIBABLE:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True, events__contains=[event_type]).order_by("pk"))
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    payload = envelope(event_id=event_id, event_type=event_type, data=data)
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    )
    _enqueue_after_commit(deliveries)
    return deliveries


def _require_active(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_active:
        raise WebhookError(
            _("Ce point de terminaison est désactivé : réactivez-le avant d'envoyer."), "endpoint_disabled"
        )


@transaction.atomic
def send_ping(*, by: User, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A test event (`ping`) to this endpoint only, whatever it subscribed to."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    endpoint = _lock(endpoint)  # a concurrent deletion: DoesNotExist here, not a broken foreign key below
    _require_active(endpoint)
    event_id = uuid.uuid4()
    data = {"endpoint_id": endpoint.pk, "message": "Test event sent from the firm's webhook settings."}
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        event_type=PING,
        payload=envelope(event_id=event_id, event_type=PING, data=data),
        next_attempt_at=timezone.now(),
    )
    audit.record(actor=by, action="webhooks.ping_sent", obj=endpoint, changes={"delivery": [None, delivery.pk]})
    _enqueue_after_commit([delivery])
    return delivery


@transaction.atomic
def redeliver(*, by: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery of the same event (same `webhook-id` and payload) to the same endpoint, sent now."""
    ensure_perm(by, Perm.FIRM_SETTINGS)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)
    delivery.endpoint = _lock(delivery.endpoint)
    _require_active(delivery.endpoint)
    if delivery.status == S.PENDING:
        raise WebhookError(
            _("Cette livraison est encore en cours : attendez son résultat avant de la renvoyer."),
            "delivery_pending",
        )
    copy = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        next_attempt_at=timezone.now(),
    )
    audit.record(
        actor=by, action="webhooks.redelivered", obj=delivery.endpoint, changes={"delivery": [delivery.pk, copy.pk]}
    )
    _enqueue_after_commit([copy])
    return copy


# --- Delivery attempts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    excerpt: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=float(settings.WEBHOOKS_TIMEOUT_SECONDS) + 60)


@transaction.atomic
def _claim(delivery_id: int, now: datetime.datetime) -> WebhookDelivery | None:
    """The due delivery, leased to this attempt; None when it is not due, finished, or another worker holds it."""
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint")
        .filter(pk=delivery_id, status=S.PENDING)
        .first()
    )
    if delivery is None or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now):
        return None
    if not delivery.endpoint.is_active:
        delivery.status = S.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = _("Point de terminaison désactivé : livraison abandonnée.")
        delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
        return None
    delivery.next_attempt_at = now + _lease()
    delivery.save(update_fields=["next_attempt_at"])
    return delivery


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _read_excerpt(response: requests.Response) -> str:
    try:
        head = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
    except Exception:  # the answer's code is what counts; its body is a courtesy
        return ""
    return head[:EXCERPT_BYTES].decode("utf-8", errors="replace")


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> Outcome:
    try:
        urlguard.check(endpoint.url)  # again: the host may resolve elsewhere since it was saved
    except urlguard.UnsafeURL as exc:
        return Outcome(None, exc.message, "")
    body = body_of(delivery.payload)
    headers = {
        **signing.headers(secret=endpoint.secret, msg_id=str(delivery.event_id), body=body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    try:
        with (
            urlguard.session() as http,
            http.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=float(settings.WEBHOOKS_TIMEOUT_SECONDS),
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            excerpt = _read_excerpt(response)
            code = response.status_code
    except requests.RequestException as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:1000], "")
    error = "" if 200 <= code < 300 else _("Réponse HTTP %(code)s (attendu : 2xx).") % {"code": code}
    return Outcome(code, error, excerpt)


@transaction.atomic
def _record(delivery_id: int, outcome: Outcome, attempted_at: datetime.datetime) -> WebhookDelivery | None:
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:  # its endpoint was deleted while the request was on its way
        return None
    delivery.attempts += 1
    delivery.last_attempt_at = attempted_at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.response_excerpt = outcome.excerpt
    if outcome.succeeded:
        delivery.status = S.SUCCEEDED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = S.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = timezone.now() + BACKOFF[delivery.attempts - 1]
    delivery.save()
    if delivery.status == S.FAILED:
        _disable_when_failing(delivery.endpoint_id)
    return delivery


def _disable_when_failing(endpoint_id: int) -> None:
    last = list(
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status__in=[S.SUCCEEDED, S.FAILED])
        .order_by("-last_attempt_at", "-pk")
        .values_list("status", flat=True)[:AUTO_DISABLE_AFTER]
    )
    if len(last) < AUTO_DISABLE_AFTER or any(status != S.FAILED for status in last):
        return
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if not endpoint.is_active:
        return
    endpoint.is_active = False
    endpoint.disabled_reason = _(
        "Désactivé automatiquement le %(date)s : les %(count)d dernières livraisons ont toutes échoué."
    ) % {"date": timezone.localdate().strftime("%d/%m/%Y"), "count": AUTO_DISABLE_AFTER}
    endpoint.save(update_fields=["is_active", "disabled_reason", "updated_at"])
    audit.record(
        actor=None, action="webhooks.endpoint_auto_disabled", obj=endpoint, changes={"is_active": [True, False]}
    )


def attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Posts the delivery if it is due and nobody else holds it; records the answer. None: nothing was sent."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    outcome = _post(delivery.endpoint, delivery)
    return _record(delivery.pk, outcome, now)

"""Standard Webhooks signatures (https://www.standardwebhooks.com).

The secret is `whsec_` followed by base64 of 32 random bytes; the HMAC key is
those bytes (the spec's rule, which its libraries in every language follow).
Each request carries `webhook-id` (the event's id, the same on every retry so
the receiver can deduplicate), `webhook-timestamp` (Unix seconds of this
attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

PREFIX = "whsec_"
SECRET_BYTES = 32
# A receiver refuses a timestamp further than this from its clock (replays of an old request).
TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Exception):
    """The request was not signed with this secret, was changed on the way, or is too old."""


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("malformed secret") from exc


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(*, secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def verify(
    *,
    secret: str,
    headers: dict[str, str],
    body: bytes,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raises InvalidSignature unless `body` and `headers` were signed with `secret` within `tolerance` seconds.

    Header names are matched whatever their case; the signature header may hold
    several space-separated signatures (during a secret's rotation): one valid is enough.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    received = lowered.get("webhook-signature", "")
    if not msg_id or not raw_timestamp or not received:
        raise InvalidSignature("missing headers")
    try:
        timestamp = int(raw_timestamp)
    except ValueError as exc:
        raise InvalidSignature("malformed timestamp") from exc
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance")
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    for candidate in received.split():
        if hmac.compare_digest(candidate.encode(), expected.encode()):
            return
    raise InvalidSignature("no matching signature")

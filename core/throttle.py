"""Rate limits: the public forms and pages per client address, the API per token, user or address.

One fixed-window counter on the Django cache (`cache.add` then `cache.incr`, both atomic on Redis).
The cache's KEY_FUNCTION (django-tenants) prefixes every key with the schema, so each firm, and the
platform host, counts on its own. Rates are written like DRF's: "30/m", "300/h", or "5/15m" (five per
fifteen minutes). A refused request is a 429 with `Retry-After`, the seconds until the window ends.

Settings (all optional, defaults below): `PUBLIC_RATE_LIMITS` (scope -> rate or None), `RATE_LIMITS_ENABLED`,
`TRUSTED_PROXY_COUNT` (how many proxies in front of Django append to X-Forwarded-For; 0 = trust only
REMOTE_ADDR), and `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"]` for the API.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# Generous for one person, low for a script: a wizard takes ~10 POSTs, a shared office address several people.
DEFAULT_PUBLIC_RATES: dict[str, str | None] = {
    "public_filing": "30/m",  # the filing wizard's POSTs (answers, uploads, the resume link e-mailed)
    "public_filing_resume": "30/h",  # opening a draft from its resume link (a token in the URL)
    "public_party_login": "10/10m",  # the parties' space: e-mail code requests and code attempts
    "public_lookup": "60/m",  # "is this business a member?" on the firm's host and the platform's
    "public_badge": "300/m",  # the badge image and its verification page, embedded on members' sites
    "public_joining": "30/m",  # the online joining form's POSTs
}
DEFAULT_API_RATE = "1000/h"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE_FORMAT = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*", re.IGNORECASE)
KEY_PREFIX = "ratelimit"


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


@dataclass(frozen=True)
class Hit:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window resets


def parse_rate(rate: str | None) -> Rate | None:
    """ "30/m" -> 30 per 60 s; "5/15m" -> 5 per 900 s; None or "" -> no limit. A malformed rate is an error."""
    if rate is None or not str(rate).strip():
        return None
    match = RATE_FORMAT.fullmatch(str(rate))
    if match is None:
        raise ValueError(f"invalid rate {rate!r}: expected 'N/period' like '30/m', '300/h' or '5/15m'")
    limit, multiplier, unit = match.groups()
    period = PERIODS[unit.lower()] * (int(multiplier) if multiplier else 1)
    if period <= 0:
        raise ValueError(f"invalid rate {rate!r}: the period is zero")
    return Rate(limit=int(limit), period=period)


def public_rate(scope: str) -> Rate | None:
    rates = {**DEFAULT_PUBLIC_RATES, **getattr(settings, "PUBLIC_RATE_LIMITS", {})}
    if scope not in rates:
        raise KeyError(f"no rate for the scope {scope!r}: add it to PUBLIC_RATE_LIMITS")
    return parse_rate(rates[scope])


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry the trusted proxies vouch for.

    With N trusted proxies, the last one connects to Django (REMOTE_ADDR) and the N-1 before it each
    appended their peer, so the client is the N-th entry from the right; anything further left was
    written by the client and could be forged. IPv6 addresses count per /64, what one host usually holds.
    """
    address = str(request.META.get("REMOTE_ADDR", "")).strip()
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies > 0 and forwarded.strip():
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            address = entries[-min(proxies, len(entries))]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def hit(*, scope: str, ident: str, rate: Rate, now: float | None = None) -> Hit:
    """Count one request of `ident` in `scope`'s current window; allowed while the count is within the limit."""
    now = time.time() if now is None else now
    window = int(now // rate.period)
    retry_after = max(1, math.ceil((window + 1) * rate.period - now))
    key = f"{KEY_PREFIX}:{scope}:{window}:{ident}"
    # A little longer than the window: the key must still exist when `incr` runs at its very end.
    cache.add(key, 0, timeout=rate.period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=rate.period + 5)
        count = 1
    allowed = count <= rate.limit
    if count == rate.limit + 1:  # once per window and client, not on every refused request
        logger.warning("rate limit reached", extra={"scope": scope, "ident": ident, "limit": rate.limit})
    return Hit(allowed=allowed, count=count, limit=rate.limit, retry_after=retry_after)


def enabled() -> bool:
    return bool(getattr(settings, "RATE_LIMITS_ENABLED", True))


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    content_type = request.headers.get("Content-Type", "")
    return ("json" in accept and "text/html" not in accept) or content_type.startswith("application/json")


def throttled_response(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    """The 429: JSON for a client that asks for it, else the French page saying when to try again."""
    detail = _("Trop de demandes envoyées depuis votre connexion. Réessayez dans %(minutes)s minute(s).") % {
        "minutes": math.ceil(retry_after / 60)
    }
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"code": "throttled", "detail": detail, "retry_after": retry_after}, status=429)
    else:
        context = {"retry_after": retry_after, "retry_minutes": math.ceil(retry_after / 60)}
        response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    add_never_cache_headers(response)
    return response


def rate_limit(
    scope: str, *, methods: Collection[str] = ("POST",)
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Limit a view's `methods` per client address under `scope` (its rate from PUBLIC_RATE_LIMITS).

    Put it outermost, so that a refused request costs one cache round trip and nothing else.
    """
    wanted = frozenset(method.upper() for method in methods)
    public_rate(scope)  # an unknown scope fails at import, not on the first request

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in wanted and enabled():
                rate = public_rate(scope)
                if rate is not None:
                    result = hit(scope=scope, ident=client_ip(request), rate=rate)
                    if not result.allowed:
                        return throttled_response(request, retry_after=result.retry_after)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- DRF --------------------------------------------------------------------------------------


class ApiTokenRateThrottle(BaseThrottle):
    """The API's limit: per API token when the request carries one, else per user, else per address.

    Counted like the public pages (fixed window, atomic on Redis), the rate read at each request from
    `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]` (DRF reloads it when the setting changes).
    DRF answers the refusal: 429, `Retry-After`, body `{"code": "throttled", ...}` via core.api.
    """

    scope = "api"

    def __init__(self) -> None:
        self._retry_after: int | None = None

    def rate(self) -> Rate | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        rate = rates.get(self.scope, DEFAULT_API_RATE)
        return parse_rate(None if rate is None else str(rate))

    def ident(self, request: Request) -> str:
        token_pk = getattr(request.auth, "pk", None)
        if token_pk is not None:
            return f"token:{token_pk}"
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"ip:{client_ip(request._request)}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = self.rate()
        if rate is None or not enabled():
            return True
        result = hit(scope=self.scope, ident=self.ident(request), rate=rate)
        self._retry_after = None if result.allowed else result.retry_after
        return result.allowed

    def wait(self) -> float | None:
        return self._retry_after

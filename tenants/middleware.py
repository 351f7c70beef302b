from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware

from core.tenancy import may_be_logged_in
from tenants.models import Tenant


class SuspendedFirmMiddleware:
    """A suspended firm's hosts answer with a clear page; its data stays as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if isinstance(tenant, Tenant) and tenant.kind == Tenant.Kind.FIRM and not tenant.is_active:
            return render(request, "tenants/suspended.html", {"firm": tenant}, status=403)
        return self.get_response(request)


class FirmActivityMiddleware:
    """Records when a firm's staff last used its space (at most one write per firm every 5 minutes).

    After the authentication middleware. The console shows it as "dernière activité".
    """

    INTERVAL_SECONDS = 300

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        user = getattr(request, "user", None)
        if (
            isinstance(tenant, Tenant)
            and tenant.kind == Tenant.Kind.FIRM
            and user is not None
            and may_be_logged_in(request)
            and user.is_authenticated
            and cache.add("firm-activity", 1, self.INTERVAL_SECONDS)  # keys carry the schema
        ):
            Tenant.objects.filter(pk=tenant.pk).update(last_activity_at=timezone.now())
        return self.get_response(request)


class CachedTenantMainMiddleware(TenantMainMiddleware):
    """django-tenants' host → tenant resolution, remembered per process for TENANT_HOST_CACHE_SECONDS.

    The lookup is a database query on every request (about 1.7 ms of a 3.7 ms
    badge request on 2 cores). Any save or delete of a tenant or a domain
    clears this process's entries at once (signals below); other processes
    see the change within the TTL, so a suspension or a removed domain takes
    effect everywhere within that many seconds. Unknown hosts are never
    remembered. 0 turns the cache off.
    """

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        ttl = getattr(settings, "TENANT_HOST_CACHE_SECONDS", 0)
        if ttl <= 0:
            return super().get_tenant(domain_model, hostname)
        now = time.monotonic()
        hit = _HOST_CACHE.get(hostname)
        if hit is not None and hit[1] > now:
            return hit[0]
        tenant = super().get_tenant(domain_model, hostname)
        _HOST_CACHE[hostname] = (tenant, now + ttl)
        return tenant


_HOST_CACHE: dict[str, tuple[Any, float]] = {}


def forget_hosts(**_kwargs: Any) -> None:
    """Signal receiver: a tenant or a domain changed, so this process resolves every host afresh."""
    _HOST_CACHE.clear()

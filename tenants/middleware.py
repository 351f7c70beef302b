from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

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
            and user.is_authenticated
            and cache.add("firm-activity", 1, self.INTERVAL_SECONDS)  # keys carry the schema
        ):
            Tenant.objects.filter(pk=tenant.pk).update(last_activity_at=timezone.now())
        return self.get_response(request)

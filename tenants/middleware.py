from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

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

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.health import health_response
from core.observability import tag_tenant
from core.tenancy import current_schema

HEALTH_PATH = "/health/"


class HealthCheckMiddleware:
    """Answers /health/ on any host, before tenant resolution needs the database.

    200 when the database, the broker and at least one worker answer, 503
    otherwise.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != HEALTH_PATH:
            return self.get_response(request)
        return health_response(request)


class TenantContextMiddleware:
    """Tags Sentry events with the tenant resolved by TenantMainMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tag_tenant(current_schema())
        return self.get_response(request)

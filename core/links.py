"""Absolute addresses for links sent outside a request (letters, reminders, news, the badge's QR codes).

Scheme and port come from `SITE_SCHEME` / `SITE_PORT`; the host is the current
firm's primary domain, or the platform's own.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection


def base_url(host: str) -> str:
    """`<scheme>://<host>[:port]` for this deployment (the port left out when it is the scheme's default)."""
    scheme, port = settings.SITE_SCHEME, str(settings.SITE_PORT or "")
    default_port = {"http": "80", "https": "443"}.get(scheme)
    netloc = host if not port or port == default_port else f"{host}:{port}"
    return f"{scheme}://{netloc}"


def firm_site_url() -> str:
    """The current firm's own address (its primary domain), or the platform's when no firm is selected."""
    tenant = getattr(connection, "tenant", None)
    domain = tenant.get_primary_domain() if tenant is not None and hasattr(tenant, "get_primary_domain") else None
    return base_url(domain.domain if domain is not None else settings.PLATFORM_DOMAIN)


def platform_url(path: str = "") -> str:
    """An address on the platform's own host (e.g. the platform-wide lookup), from a firm's pages."""
    return base_url(settings.PLATFORM_DOMAIN) + path

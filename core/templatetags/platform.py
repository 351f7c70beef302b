"""`{% platform_url "/path/" %}`: an address on the platform's own host, from a firm's pages."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def platform_url(path: str) -> str:
    scheme, port = settings.SITE_SCHEME, str(settings.SITE_PORT)
    default_port = {"http": "80", "https": "443"}.get(scheme)
    host = settings.PLATFORM_DOMAIN if not port or port == default_port else f"{settings.PLATFORM_DOMAIN}:{port}"
    return f"{scheme}://{host}{path}"

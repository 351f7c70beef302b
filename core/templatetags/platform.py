"""`{% platform_url "/path/" %}`: an address on the platform's own host, from a firm's pages."""

from __future__ import annotations

from django import template

from core import links

register = template.Library()


@register.simple_tag
def platform_url(path: str) -> str:
    return links.platform_url(path)

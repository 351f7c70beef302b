"""`{% load staff_perms %}` then `{% if user|can:"firm.settings" %}`: the role table, in templates."""

from typing import Any

from django import template

from accounts.permissions import user_has_perm

register = template.Library()


@register.filter
def can(user: Any, perm: str) -> bool:
    # An unknown permission name raises: a typo must fail, not hide a link.
    return user_has_perm(user, perm)

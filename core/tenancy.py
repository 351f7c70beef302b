"""The tenant of the current database connection, typed in one place."""

from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name


def current_schema() -> str:
    """The schema the default connection is set to (django-tenants adds `schema_name`)."""
    return str(getattr(connection, "schema_name", get_public_schema_name()))


def on_public_schema() -> bool:
    return current_schema() == get_public_schema_name()


def use_public_schema() -> None:
    """Point the default connection back at the public schema."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def may_be_logged_in(request: Any) -> bool:
    """Whether the request carries a session cookie; without one the user is anonymous for sure.

    Checking this before `request.user` keeps anonymous public responses free
    of `Vary: Cookie` (reading the user marks the session as accessed), so a
    shared cache may keep them (badges, verification pages).
    """
    return settings.SESSION_COOKIE_NAME in request.COOKIES

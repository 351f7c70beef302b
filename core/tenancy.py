"""The tenant of the current database connection, typed in one place."""

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

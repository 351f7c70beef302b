"""Logging: every line carries the tenant schema, the request id and the user; JSON or text.

`config.settings` builds its LOGGING with `build_logging(format=..., level=...)`.
This module is imported by the settings, so it must not import Django models
(or anything that needs settings) at import time.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from core import request_id as _request_context

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(schema)s] [%(request_id)s] %(name)s: %(message)s"
# The fields every JSON line starts with; a record's `extra` (method, path, status, duration_ms…) follows.
JSON_FIELDS = ("timestamp", "level", "logger", "message", "schema", "request_id", "user_id")


class TenantSchemaFilter(logging.Filter):
    """Adds `schema` (the tenant schema of the current connection) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from core.tenancy import current_schema

            record.schema = current_schema()
        except Exception:  # logging must never raise, even before Django is ready
            record.schema = "-"
        return True


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` (of the request or task being served; "-"/None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if not hasattr(record, "request_id"):
                record.request_id = _request_context.get_request_id() or "-"
            if not hasattr(record, "user_id"):
                record.user_id = _request_context.user_id_of(_request_context.current_request())
        except Exception:  # logging must never raise
            record.request_id = getattr(record, "request_id", "-")
            record.user_id = getattr(record, "user_id", None)
        return True


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, schema, request_id,
    user_id, then the record's extra fields and the exception, if any."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message", "schema", "request_id", "user_id"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "exc_info": "exception"})
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        if "timestamp" in log_data:  # first, where people and log shippers look for it
            fields = dict(log_data)
            log_data.clear()
            log_data["timestamp"] = fields.pop("timestamp")
            log_data.update(fields)


def build_logging(*, format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """The LOGGING dict: one console handler on stderr, JSON (`format="json"`) or text lines.

    The development server's own request lines (`django.server`) are left out below WARNING:
    `core.request_id.RequestIdMiddleware` writes one access line per request (`core.access`).
    """
    if format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "tenant": {"()": "core.logging.TenantSchemaFilter"},
            "request": {"()": "core.logging.RequestContextFilter"},
        },
        "formatters": {
            "json": {"()": "core.logging.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": format, "filters": ["tenant", "request"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "core.access": {"level": "INFO"},
        },
    }


def keep_django_logging(**_: Any) -> None:
    """Celery's `setup_logging` receiver: with one connected, workers keep settings.LOGGING (JSON in
    production) instead of Celery's own format. Connected by config/celery.py."""

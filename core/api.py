"""API helpers shared by every app: errors are JSON with a stable `code`."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        message = detail["detail"]
        response.data = {"code": getattr(message, "code", code), "detail": str(message)}
    else:
        response.data = {"code": code, "detail": detail}
    return response

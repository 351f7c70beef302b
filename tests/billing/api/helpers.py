"""Requests the way an API client sends them, and the URLs of the billing API."""

from __future__ import annotations

import json
from typing import Any

INVOICES = "/api/v1/invoices/"
PAYMENTS = "/api/v1/payments/"
PRODUCTS = "/api/v1/products/"


def call(client: Any, method: str, url: str, data: Any = None, **extra: Any) -> Any:
    """A JSON request (post, patch, put, delete)."""
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(url, body, content_type="application/json", **extra)


def invoice_url(pk: int, action: str = "") -> str:
    return f"{INVOICES}{pk}/{action + '/' if action else ''}"

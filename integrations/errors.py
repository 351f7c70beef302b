"""Refusals of the webhook services: a stable `code`, a French message, the HTTP status the API gives."""

from __future__ import annotations


class WebhookError(Exception):
    # Codes that the object's current state explains (409); any other is invalid input (400).
    CONFLICT_CODES = frozenset({"endpoint_disabled", "delivery_pending"})

    def __init__(self, message: str, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    @property
    def status_code(self) -> int:
        return 409 if self.code in self.CONFLICT_CODES else 400

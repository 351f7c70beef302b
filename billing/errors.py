"""The one error billing's services raise: a French message for people and a stable `code` for the API."""

from __future__ import annotations


class BillingError(Exception):
    """A refused billing operation. `code` is stable (API, tests); `message` is shown to the user."""

    def __init__(self, message: str, code: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return str(self.message)

"""Spreadsheet export helpers shared by every app (members, billing): safe cells, streamed CSV rows."""

from __future__ import annotations

from typing import Any

# Rows fetched per database round trip when streaming an export.
CHUNK = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: a value that starts like a formula is prefixed with a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


class Echo:
    """csv.writer writes into it; each row comes back as a string to stream."""

    def write(self, value: str) -> str:
        return value

"""Amounts typed by people: integer cents out (money is never a float here)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation


def parse_euros(text: str) -> int | None:
    """Cents from an amount typed the French way ("129,90", "1 299,90 €") or the English way ("1,299.90").

    Empty → None. Raises ValueError on anything else (letters, a negative
    amount, more than two decimals).
    """
    value = re.sub(r"[\s\u00a0\u202f]", "", text or "").removesuffix("€").removesuffix("EUR").removeprefix("€")
    if not value:
        return None
    if not re.fullmatch(r"[0-9.,]+", value) or not re.search(r"[0-9]", value):
        raise ValueError("not an amount")
    comma, dot = value.rfind(","), value.rfind(".")
    if comma >= 0 and dot >= 0:
        # Both: the last one is the decimal separator, the other groups thousands.
        decimal_sep, group_sep = (",", ".") if comma > dot else (".", ",")
        integer, _sep, decimals = value.rpartition(decimal_sep)
        if not re.fullmatch(rf"\d{{1,3}}(\{group_sep}\d{{3}})*", integer):
            raise ValueError("misplaced separator")
        integer = integer.replace(group_sep, "")
    elif comma >= 0:
        integer, _sep, decimals = value.rpartition(",")
    elif dot >= 0:
        integer, _sep, decimals = value.rpartition(".")
        # "1.299" or "1.299.000": dots grouping thousands, as often written in France.
        if value.count(".") > 1 or len(decimals) == 3:
            if not re.fullmatch(r"\d{1,3}(\.\d{3})+", value):
                raise ValueError("misplaced separator")
            integer, decimals = value.replace(".", ""), ""
    else:
        integer, decimals = value, ""
    if not integer.isdigit() and integer != "":
        raise ValueError("misplaced separator")
    if decimals and (not decimals.isdigit() or len(decimals) > 2):
        raise ValueError("more than two decimals")
    try:
        amount = Decimal(f"{integer or '0'}.{decimals or '0'}")
    except InvalidOperation as exc:  # pragma: no cover - the pattern above already guarantees digits
        raise ValueError("not an amount") from exc
    return int(amount * 100)


def format_euros(cents: int) -> str:
    """1234567 → "12 345,67 €", the French way, for messages and documents in French."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"

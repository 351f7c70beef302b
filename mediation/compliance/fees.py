"""The fees the firm charges businesses, for the CECMC compliance pack: membership tariffs and the catalogue.

`mediation` never imports `billing` (billing imports mediation), so the billing
catalogue's prices come through a hook: `billing.apps.BillingConfig.ready()`
registers `billing.selectors.catalogue_fees` with `register_fee_source`, and
`fee_schedule(today)` asks every registered source. The membership tariffs
live in mediation (`members.Tariff`) and are read here directly.

A tariff has no VAT rate of its own: an invoiced membership takes the rate of
the catalogue's « Adhésion » product (billing.automatic), so its line carries
none (`vat_rate` None) rather than a guess.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from mediation.members.models import Tariff


@dataclass(frozen=True)
class FeeLine:
    label: str
    kind: str  # what the fee is for, in words (« Adhésion », « Frais de dossier »…)
    amount_cents: int  # excluding VAT
    vat_rate: Decimal | None  # percent; None when the fee's own record holds none
    valid_from: datetime.date
    valid_until: datetime.date | None


FeeSource = Callable[[datetime.date], list[FeeLine]]
_SOURCES: list[FeeSource] = []


def register_fee_source(fn: FeeSource) -> FeeSource:
    """Adds a source of fee lines (once: registering the same function again changes nothing)."""
    if fn not in _SOURCES:
        _SOURCES.append(fn)
    return fn


def membership_tariffs(today: datetime.date) -> list[FeeLine]:
    """The yearly membership prices in force on `today`: per band and commitment, the one that started last."""
    in_force = (
        Tariff.objects.filter(valid_from__lte=today)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .order_by("headcount_band", "term_years", "-valid_from", "-pk")
        .distinct("headcount_band", "term_years")
    )
    kind = _("Adhésion annuelle")
    return [
        FeeLine(
            label=_("Adhésion, effectif %(band)s, engagement %(term)s")
            % {"band": tariff.get_headcount_band_display(), "term": tariff.get_term_years_display()},
            kind=kind,
            amount_cents=int(tariff.yearly_price_cents),
            vat_rate=None,
            valid_from=tariff.valid_from,
            valid_until=tariff.valid_until,
        )
        for tariff in in_force
    ]


def fee_schedule(today: datetime.date) -> list[FeeLine]:
    """Every fee in force on `today`: the membership tariffs, then each registered source's lines."""
    lines = membership_tariffs(today)
    for source in _SOURCES:
        lines.extend(source(today))
    return lines

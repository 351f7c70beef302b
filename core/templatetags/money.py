from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import get_language

register = template.Library()


@register.filter
def price_eur(cents: int | None) -> str:
    """Integer cents as euros in the reader's language: `4 900,00 €` in French, `€4,900.00` in English."""
    if cents is None:
        return ""
    amount = number_format(Decimal(cents) / 100, 2, use_l10n=True, force_grouping=True)
    if (get_language() or "fr").startswith("fr"):
        return f"{amount}\u00a0€"
    return f"€{amount}"

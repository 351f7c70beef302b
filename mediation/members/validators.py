"""Identifiers of a member business. SIREN, SIRET and VAT checks are firm.validators' (python-stdnum)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from stdnum.fr import tva

from firm import validators as identifiers

NAF_PATTERN = r"^\d{2}\.\d{2}[A-Z]$"

validate_naf_code = RegexValidator(
    NAF_PATTERN,
    _("Le code NAF/APE s'écrit 2 chiffres, un point, 2 chiffres et une lettre, par exemple 10.71C."),
    code="invalid_naf",
)


def normalize_naf_code(value: str) -> str:
    """`4711d` or `47 11 D` → `47.11D`; anything else is returned upper-cased, for the validator to refuse."""
    compact = re.sub(r"[\s.]", "", value or "").upper()
    if re.fullmatch(r"\d{4}[A-Z]", compact):
        return f"{compact[:2]}.{compact[2:]}"
    return (value or "").strip().upper()


def derive_vat_number(siren: str) -> str:
    """The French intra-EU VAT number of a SIREN: FR + key (SIREN·100 + 12 mod 97, on 2 digits) + SIREN.

    Raises ValidationError (with firm.validators' French messages) when the SIREN is not valid.
    """
    siren = identifiers.normalize_siren(siren)
    identifiers.validate_siren(siren)
    number = f"FR{int(siren + '12') % 97:02d}{siren}"
    tva.validate(number)  # python-stdnum checks what we computed
    return number


def is_valid(validator: Callable[[str], None], value: str) -> bool:
    if not value:
        return False
    try:
        validator(value)
    except ValidationError:
        return False
    return True

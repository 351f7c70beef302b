"""French identifiers and bank details, checked with python-stdnum, with French messages.

Each validator accepts the usual written forms (spaces, dots, lower case);
`normalize_*` gives the compact form the database keeps.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from stdnum import bic, iban
from stdnum import exceptions as stdnum_errors
from stdnum.fr import siren, siret, tva
from stdnum.util import clean

# Values are lazy translations (django-stubs types them apart from plain Promise).
Messages = dict[str, Any]


def _validate(module: ModuleType, value: str, messages: Messages) -> None:
    try:
        module.validate(value)
    except stdnum_errors.InvalidLength:
        raise ValidationError(messages["length"], code="invalid_length") from None
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(messages["checksum"], code="invalid_checksum") from None
    except stdnum_errors.ValidationError:  # InvalidFormat, InvalidComponent
        raise ValidationError(messages["format"], code="invalid_format") from None


SIREN_MESSAGES: Messages = {
    "length": _("Le numéro SIREN doit compter 9 chiffres."),
    "format": _("Le numéro SIREN ne doit contenir que des chiffres."),
    "checksum": _("Ce numéro SIREN n'existe pas : sa clé de contrôle est fausse. Vérifiez les 9 chiffres."),
}
SIRET_MESSAGES: Messages = {
    "length": _("Le numéro SIRET doit compter 14 chiffres (les 9 du SIREN suivis des 5 du NIC)."),
    "format": _("Le numéro SIRET ne doit contenir que des chiffres."),
    "checksum": _("Ce numéro SIRET n'existe pas : sa clé de contrôle est fausse. Vérifiez les 14 chiffres."),
}
VAT_MESSAGES: Messages = {
    "length": _(
        "Un numéro de TVA intracommunautaire français compte 13 caractères : FR, une clé de 2 caractères et le SIREN."
    ),
    "format": _("Le numéro de TVA doit commencer par FR, suivi d'une clé de 2 caractères et des 9 chiffres du SIREN."),
    "checksum": _("Ce numéro de TVA n'est pas valable : sa clé ne correspond pas au SIREN qu'il contient."),
}
IBAN_MESSAGES: Messages = {
    "length": _("La longueur de cet IBAN ne correspond pas à son pays (27 caractères pour un IBAN français)."),
    "format": _(
        "Cet IBAN n'a pas la longueur ou la forme attendue pour son pays : un IBAN français compte 27 caractères "
        "(FR, 2 chiffres de clé, puis le numéro de compte)."
    ),
    "checksum": _("Cet IBAN n'est pas valable : sa clé de contrôle est fausse. Recopiez-le depuis votre RIB."),
}
BIC_MESSAGES: Messages = {
    "length": _("Le BIC compte 8 ou 11 caractères."),
    "format": _(
        "Le BIC doit comporter 4 lettres pour la banque, 2 lettres pour le pays, 2 caractères pour la ville "
        "et éventuellement 3 pour l'agence (par exemple BNPAFRPP)."
    ),
    "checksum": _("Ce BIC n'est pas valable."),
}


def validate_siren(value: str) -> None:
    _validate(siren, value, SIREN_MESSAGES)


def validate_siret(value: str) -> None:
    _validate(siret, value, SIRET_MESSAGES)


def validate_vat_number(value: str) -> None:
    _validate(tva, value, VAT_MESSAGES)


def validate_iban(value: str) -> None:
    _validate(iban, value, IBAN_MESSAGES)


def validate_bic(value: str) -> None:
    _validate(bic, value, BIC_MESSAGES)


def normalize_siren(value: str) -> str:
    return str(siren.compact(value))


def normalize_siret(value: str) -> str:
    return str(siret.compact(value))


def normalize_vat_number(value: str) -> str:
    # Not tva.compact, which drops the "FR" the number is written with.
    return str(clean(value, " -.")).upper().strip()


def normalize_iban(value: str) -> str:
    return str(iban.compact(value))


def normalize_bic(value: str) -> str:
    return str(bic.compact(value))


def siren_of_vat_number(value: str) -> str:
    return normalize_vat_number(value)[-9:]


# Compact forms, applied before any validation (so "732 829 320" fits the 9 characters of a SIREN).
NORMALIZERS = {
    "siren": normalize_siren,
    "siret": normalize_siret,
    "vat_number": normalize_vat_number,
    "iban": normalize_iban,
    "bic": normalize_bic,
}


validate_hex_colour = RegexValidator(
    r"^#[0-9A-Fa-f]{6}$", _("Indiquez une couleur au format hexadécimal, par exemple #1D4E89."), code="invalid_colour"
)
validate_invoice_prefix = RegexValidator(
    r"^[A-Z0-9][A-Z0-9-]{0,9}$",
    _("Le préfixe des factures s'écrit en majuscules, chiffres et tirets (10 caractères au plus), par exemple FA-."),
    code="invalid_invoice_prefix",
)
validate_french_postcode = RegexValidator(
    r"^\d{5}$", _("Un code postal français compte 5 chiffres."), code="invalid_postcode"
)

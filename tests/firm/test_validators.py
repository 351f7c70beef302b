"""French identifiers and bank details: clear French messages, compact storage, numbers that agree."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from firm import validators
from firm.models import FirmProfile

SIREN = "732829320"
SIRET = "73282932000074"
VAT = "FR44732829320"
OTHER_SIREN = "552081317"
OTHER_VAT = "FR03552081317"
IBAN = "FR7630006000011234567890189"
BIC = "BNPAFRPP"


def _messages(validator, value):
    with pytest.raises(ValidationError) as error:
        validator(value)
    return error.value.messages


@pytest.mark.parametrize(
    ("validator", "value", "message"),
    [
        (validators.validate_siren, "73282932", "Le numéro SIREN doit compter 9 chiffres."),
        (validators.validate_siren, "73282932A", "Le numéro SIREN ne doit contenir que des chiffres."),
        (validators.validate_siren, "732829321", "Ce numéro SIREN n'existe pas : sa clé de contrôle est fausse."),
        (validators.validate_siret, "7328293200007", "Le numéro SIRET doit compter 14 chiffres"),
        (validators.validate_siret, "7328293200007X", "Le numéro SIRET ne doit contenir que des chiffres."),
        (validators.validate_siret, "73282932000075", "Ce numéro SIRET n'existe pas : sa clé de contrôle est fausse."),
        (validators.validate_vat_number, "FR4473282932", "compte 13 caractères"),
        (validators.validate_vat_number, "FR00732829320", "sa clé ne correspond pas au SIREN qu'il contient"),
        (validators.validate_iban, "FR04300060000112345678901", "un IBAN français compte 27 caractères"),
        (
            validators.validate_iban,
            "FR7730006000011234567890189",
            "Cet IBAN n'est pas valable : sa clé de contrôle est fausse.",
        ),
        (validators.validate_bic, "BNPAFRP", "Le BIC compte 8 ou 11 caractères."),
        (validators.validate_bic, "BNP1FRPP", "Le BIC doit comporter 4 lettres pour la banque"),
        (validators.validate_hex_colour, "blue", "Indiquez une couleur au format hexadécimal"),
    ],
)
def test_invalid_values_get_a_french_message(validator, value, message):
    assert message in _messages(validator, value)[0]


@pytest.mark.parametrize(
    ("validator", "value"),
    [
        (validators.validate_siren, "732 829 320"),
        (validators.validate_siret, "732 829 320 00074"),
        (validators.validate_vat_number, "FR 44 732829320"),
        (validators.validate_iban, "fr76 3000 6000 0112 3456 7890 189"),
        (validators.validate_bic, "bnpafrpp"),
        (validators.validate_bic, "BNPAFRPPXXX"),
    ],
)
def test_usual_written_forms_are_accepted(validator, value):
    validator(value)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_any_siren_with_a_right_luhn_key_is_accepted_and_compacted(digits):
    number = digits + luhn.calc_check_digit(digits)
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"

    validators.validate_siren(spaced)
    assert validators.normalize_siren(spaced) == number


def _profile(**values):
    profile = FirmProfile(pk=FirmProfile.SINGLETON_PK, legal_name="Cabinet", **values)
    profile.full_clean()
    return profile


def test_profile_keeps_compact_forms(tenant_a):
    profile = _profile(
        siren="732 829 320",
        siret="732 829 320 00074",
        vat_number="fr 44 732 829 320",
        iban=IBAN.lower(),
        bic="bnpafrpp",
    )

    assert (profile.siren, profile.siret, profile.vat_number, profile.iban, profile.bic) == (
        SIREN,
        SIRET,
        VAT,
        IBAN,
        BIC,
    )


def test_vat_number_must_match_the_siren(tenant_a):
    with pytest.raises(ValidationError) as error:
        _profile(siren=SIREN, vat_number=OTHER_VAT)

    assert error.value.message_dict["vat_number"] == [
        f"Ce numéro de TVA correspond au SIREN {OTHER_SIREN}, pas à celui du cabinet ({SIREN})."
    ]


def test_vat_number_alone_is_accepted(tenant_a):
    assert _profile(vat_number=OTHER_VAT).vat_number == OTHER_VAT


def test_siret_must_belong_to_the_siren(tenant_a):
    with pytest.raises(ValidationError) as error:
        _profile(siren=OTHER_SIREN, siret=SIRET)

    assert "Ce SIRET n'appartient pas au SIREN du cabinet" in error.value.message_dict["siret"][0]


def test_french_postcode_has_five_digits(tenant_a):
    with pytest.raises(ValidationError) as error:
        _profile(postcode="750", country="FR")

    assert error.value.message_dict["postcode"] == ["Un code postal français compte 5 chiffres."]
    assert _profile(postcode="B-1000", country="be").country == "BE"


def test_each_invalid_field_is_reported_on_its_own(tenant_a):
    with pytest.raises(ValidationError) as error:
        _profile(siren="123", iban="FR00", bic="X", primary_color="red")

    assert set(error.value.message_dict) == {"siren", "iban", "bic", "primary_color"}

"""A member's identifiers: clear French messages, compact storage, numbers that agree with the SIREN."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from mediation.members.models import Member
from mediation.members.validators import derive_vat_number, normalize_naf_code

SIREN = "732829320"
SIRET = "73282932000074"
VAT = "FR44732829320"
OTHER_SIREN = "552081317"
OTHER_VAT = "FR03552081317"


def _errors(**fields):
    member = Member(legal_name="Boulangerie du Marché", **fields)
    with pytest.raises(ValidationError) as error:
        member.full_clean()
    return error.value.message_dict


def test_derived_vat_number_is_the_one_of_the_siren():
    assert derive_vat_number(SIREN) == VAT
    assert derive_vat_number("552 081 317") == OTHER_VAT


def test_deriving_a_vat_number_from_a_bad_siren_says_why():
    with pytest.raises(ValidationError) as error:
        derive_vat_number("732829321")

    assert error.value.messages == [
        "Ce numéro SIREN n'existe pas : sa clé de contrôle est fausse. Vérifiez les 9 chiffres."
    ]


def test_bad_siren_key_is_refused_in_french(db, tenant_a):
    assert _errors(siren="732829321")["siren"] == [
        "Ce numéro SIREN n'existe pas : sa clé de contrôle est fausse. Vérifiez les 9 chiffres."
    ]


def test_short_siren_is_refused_in_french(db, tenant_a):
    assert _errors(siren="7328293")["siren"] == ["Le numéro SIREN doit compter 9 chiffres."]


def test_siret_of_another_company_is_refused(db, tenant_a):
    errors = _errors(siren=OTHER_SIREN, siret=SIRET)

    assert errors["siret"] == [
        "Ce SIRET n'appartient pas à cette entreprise : ses 9 premiers chiffres doivent être 552081317."
    ]


def test_vat_number_of_another_company_is_refused_and_the_right_one_suggested(db, tenant_a):
    errors = _errors(siren=OTHER_SIREN, vat_number=VAT)

    assert errors["vat_number"] == [
        "Ce numéro de TVA correspond au SIREN 732829320, pas à celui de l'entreprise (552081317). "
        "Le bon numéro serait FR03552081317."
    ]


def test_bad_naf_code_is_refused(db, tenant_a):
    assert _errors(siren=SIREN, naf_code="1071")["naf_code"] == [
        "Le code NAF/APE s'écrit 2 chiffres, un point, 2 chiffres et une lettre, par exemple 10.71C."
    ]


@pytest.mark.parametrize("typed", ["10.71C", "1071c", "10 71 C", " 10.71c "])
def test_naf_code_is_stored_in_its_usual_form(typed):
    assert normalize_naf_code(typed) == "10.71C"


def test_identifiers_typed_with_spaces_are_stored_compact(db, tenant_a):
    member = Member(
        legal_name="Boulangerie du Marché",
        siren="732 829 320",
        siret="732 829 320 00074",
        vat_number="fr 44 732829320",
        naf_code="1071c",
        postcode="75002",
    )
    member.full_clean()

    assert (member.siren, member.siret, member.vat_number, member.naf_code) == (SIREN, SIRET, VAT, "10.71C")


def test_french_postcode_has_five_digits(db, tenant_a):
    assert _errors(siren=SIREN, postcode="7500")["postcode"] == ["Un code postal français compte 5 chiffres."]

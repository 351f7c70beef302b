"""Optional lookup of a SIREN in INSEE's SIRENE register (API Sirene 3.11).

`GET {SIRENE_API_URL}/siren/{siren}` gives the legal unit (its current values
are in the open period of `periodesUniteLegale`), then
`GET {SIRENE_API_URL}/siret/{siren}{nicSiegeUniteLegale}` the address of the
head office (`adresseEtablissement`). Both carry the header
`X-INSEE-Api-Key-Integration`. Production URL:
https://api.insee.fr/api-sirene/3.11.

With SIRENE_API_URL or SIRENE_API_KEY empty the feature is off. The product
works fully without it: any failure (timeout, HTTP error, unexpected JSON)
gives None and a log line, never an error page.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from firm import validators as identifiers
from mediation.members import validators as v

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
KEY_HEADER = "X-INSEE-Api-Key-Integration"

# The most frequent legal categories (INSEE's "catégories juridiques", level III); others keep their code.
LEGAL_FORMS = {
    "1000": "Entrepreneur individuel",
    "5202": "SNC",
    "5306": "SCS",
    "5308": "SCA",
    "5385": "SELAS",
    "5410": "SARL nationale",
    "5485": "SELARL",
    "5498": "EURL",
    "5499": "SARL",
    "5599": "SA à conseil d'administration",
    "5699": "SA à directoire",
    "5710": "SAS",
    "5720": "SASU",
    "5785": "SELAS",
    "6540": "SCI",
    "6589": "Société civile de moyens",
    "9210": "Association non déclarée",
    "9220": "Association déclarée",
    "9260": "Association de droit local",
}
STREET_TYPES = {
    "ALL": "Allée",
    "AV": "Avenue",
    "BD": "Boulevard",
    "CHE": "Chemin",
    "CRS": "Cours",
    "FG": "Faubourg",
    "IMP": "Impasse",
    "PAS": "Passage",
    "PL": "Place",
    "QUA": "Quai",
    "RTE": "Route",
    "RUE": "Rue",
    "SQ": "Square",
}
# trancheEffectifsUniteLegale → Member.HeadcountBand ("NN": no employee in the year, as "00").
HEADCOUNT_BANDS = {
    "NN": "0",
    "00": "0",
    "01": "1_9",
    "02": "1_9",
    "03": "1_9",
    "11": "10_49",
    "12": "10_49",
    "21": "50_249",
    "22": "50_249",
    "31": "50_249",
    "32": "250_plus",
    "41": "250_plus",
    "42": "250_plus",
    "51": "250_plus",
    "52": "250_plus",
    "53": "250_plus",
}


@dataclass(frozen=True)
class CompanyInfo:
    """What the register says about a business, in the member's terms."""

    siren: str
    legal_name: str
    trade_name: str = ""
    siret: str = ""
    naf_code: str = ""
    legal_form: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    city: str = ""
    headcount_band: str = ""
    is_ess: bool = False
    is_active: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Unavailable(Exception):
    pass


def is_enabled() -> bool:
    return bool(getattr(settings, "SIRENE_API_URL", "") and getattr(settings, "SIRENE_API_KEY", ""))


def _get(path: str) -> dict[str, Any] | None:
    """The JSON object at `path`; None for a 404; _Unavailable for anything else that went wrong."""
    base = str(getattr(settings, "SIRENE_API_URL", "")).rstrip("/")
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting, http(s) only
        f"{base}{path}",
        headers={KEY_HEADER: str(getattr(settings, "SIRENE_API_KEY", "")), "Accept": "application/json"},
    )
    if not request.full_url.startswith(("https://", "http://")):
        raise _Unavailable(f"SIRENE_API_URL is not an http(s) URL: {base!r}")
    timeout = float(getattr(settings, "SIRENE_TIMEOUT", DEFAULT_TIMEOUT))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked above
            body = response.read(2_000_000)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise _Unavailable(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise _Unavailable(str(getattr(exc, "reason", exc))) from exc
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise _Unavailable("malformed JSON") from exc
    if not isinstance(data, dict):
        raise _Unavailable("unexpected JSON")
    return data


def _text(value: Any) -> str:
    return str(value).strip() if value not in (None, "[ND]") else ""


def _current_period(unit: dict[str, Any]) -> dict[str, Any]:
    """The open period (no end date) of periodesUniteLegale, merged over the unit's own fields."""
    periods = [p for p in unit.get("periodesUniteLegale") or [] if isinstance(p, dict)]
    current = next((p for p in periods if not p.get("dateFin")), periods[0] if periods else {})
    return {**unit, **{key: value for key, value in current.items() if value is not None}}


def _name(unit: dict[str, Any]) -> str:
    name = _text(unit.get("denominationUniteLegale"))
    if name:
        return name
    # A sole trader: first name and (usual or birth) surname.
    first = _text(unit.get("prenomUsuelUniteLegale") or unit.get("prenom1UniteLegale"))
    last = _text(unit.get("nomUsageUniteLegale") or unit.get("nomUniteLegale"))
    return f"{first} {last}".strip()


def _address(establishment: dict[str, Any]) -> dict[str, str]:
    address = establishment.get("adresseEtablissement")
    if not isinstance(address, dict):
        return {}
    street_type = _text(address.get("typeVoieEtablissement"))
    line1 = " ".join(
        part
        for part in (
            _text(address.get("numeroVoieEtablissement")),
            _text(address.get("indiceRepetitionEtablissement")),
            STREET_TYPES.get(street_type.upper(), street_type),
            _text(address.get("libelleVoieEtablissement")),
        )
        if part
    )
    return {
        "address_line1": line1[:200],
        "address_line2": _text(address.get("complementAdresseEtablissement"))[:200],
        "postcode": _text(address.get("codePostalEtablissement"))[:10],
        "city": _text(address.get("libelleCommuneEtablissement"))[:100],
    }


def _naf(value: Any) -> str:
    code = v.normalize_naf_code(_text(value))
    return code if v.is_valid(v.validate_naf_code, code) else ""


def lookup(siren: str) -> CompanyInfo | None:
    """The register's data for `siren`; None when the feature is off, the SIREN unknown, or the API failing."""
    if not is_enabled():
        return None
    siren = identifiers.normalize_siren(siren or "")
    try:
        identifiers.validate_siren(siren)
    except ValidationError:
        return None
    try:
        data = _get(f"/siren/{siren}")
        if data is None:
            logger.info("SIRENE: %s not found", siren)
            return None
        unit = data.get("uniteLegale")
        if not isinstance(unit, dict):
            raise _Unavailable("no uniteLegale in the response")
        unit = _current_period(unit)
        nic = _text(unit.get("nicSiegeUniteLegale"))
        siret = f"{siren}{nic}" if len(nic) == 5 else ""
        fields: dict[str, Any] = {}
        if siret:
            try:
                head_office = _get(f"/siret/{siret}")
            except _Unavailable as exc:  # the legal unit alone is still worth showing
                logger.warning("SIRENE: head office %s unavailable: %s", siret, exc)
                head_office = None
            if head_office and isinstance(head_office.get("etablissement"), dict):
                fields.update(_address(head_office["etablissement"]))
        category = _text(unit.get("categorieJuridiqueUniteLegale"))
        return CompanyInfo(
            siren=siren,
            legal_name=_name(unit)[:200],
            trade_name=_text(unit.get("denominationUsuelle1UniteLegale"))[:200],
            siret=siret,
            naf_code=_naf(unit.get("activitePrincipaleUniteLegale")),
            legal_form=LEGAL_FORMS.get(category, category)[:100],
            headcount_band=HEADCOUNT_BANDS.get(_text(unit.get("trancheEffectifsUniteLegale")), ""),
            is_ess=_text(unit.get("economieSocialeSolidaireUniteLegale")) == "O",
            is_active=_text(unit.get("etatAdministratifUniteLegale")) != "C",
            **fields,
        )
    except _Unavailable as exc:
        logger.warning("SIRENE: lookup of %s failed: %s", siren, exc)
        return None
    except (AttributeError, TypeError, ValueError) as exc:  # a shape we do not know
        logger.warning("SIRENE: unexpected response for %s: %s", siren, exc)
        return None

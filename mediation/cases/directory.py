"""Where to send a consumer this firm cannot help: sector mediators and the conciliateurs de justice.

Real public bodies, shown when the business is not a member of the firm or
the dispute is not a consumer one (reorientation, L612-2 and L612-4). Also the
search of the firm's covered members that the filing wizard uses.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mediation.members.coverage import COVERED_STATUSES
from mediation.members.models import Member

# When the names, addresses and descriptions of DIRECTORY were last reviewed (the list was written then);
# the platform's directory page shows it. Change it whenever the list is checked again.
CHECKED_ON = datetime.date(2026, 11, 27)
SEARCH_MIN_LENGTH = 2
SEARCH_LIMIT = 10


@dataclass(frozen=True)
class Body:
    """A mediator or a public service a consumer may turn to."""

    key: str
    name: Promise | str
    sector: Promise | str
    website: str
    description: Promise | str
    # Member sectors (Member.Sector) this body usually handles; empty: any.
    member_sectors: tuple[str, ...] = ()


DIRECTORY: tuple[Body, ...] = (
    Body(
        key="energie",
        name=_("Médiateur national de l'énergie"),
        sector=_("Électricité et gaz"),
        website="https://www.energie-mediateur.fr",
        description=_(
            "Litiges avec un fournisseur ou un distributeur d'électricité ou de gaz naturel (factures, contrats, "
            "coupures)."
        ),
        member_sectors=(Member.Sector.ENERGY,),
    ),
    Body(
        key="telecom",
        name=_("Médiateur des communications électroniques"),
        sector=_("Téléphone et internet"),
        website="https://www.mediateur-telecom.fr",
        description=_("Litiges avec un opérateur de téléphonie fixe ou mobile ou un fournisseur d'accès à internet."),
        member_sectors=(Member.Sector.TELECOM,),
    ),
    Body(
        key="assurance",
        name=_("La Médiation de l'Assurance"),
        sector=_("Assurance"),
        website="https://www.mediation-assurance.org",
        description=_("Litiges avec un assureur ou un intermédiaire d'assurance (contrat, indemnisation)."),
    ),
    Body(
        key="amf",
        name=_("Médiateur de l'AMF"),
        sector=_("Placements financiers"),
        website="https://www.amf-france.org/fr/le-mediateur",
        description=_(
            "Litiges sur des placements financiers (actions, fonds, épargne salariale) avec un intermédiaire "
            "ou une société de gestion."
        ),
    ),
    Body(
        key="banque",
        name=_("Médiateur de votre banque (Médiateur auprès de la FBF)"),
        sector=_("Banque"),
        website="https://lemediateur.fbf.fr",
        description=_(
            "Chaque banque a son médiateur : ses coordonnées figurent sur votre convention de compte et vos "
            "relevés. Beaucoup de banques ont désigné le Médiateur auprès de la Fédération bancaire française."
        ),
    ),
    Body(
        key="tourisme",
        name=_("Médiation Tourisme et Voyage"),
        sector=_("Voyage et transport"),
        website="https://www.mtv.travel",
        description=_(
            "Litiges avec une agence de voyages, un voyagiste, une compagnie aérienne ou ferroviaire adhérente."
        ),
        member_sectors=(Member.Sector.TOURISM,),
    ),
    Body(
        key="eau",
        name=_("Médiation de l'eau"),
        sector=_("Eau et assainissement"),
        website="https://www.mediation-eau.fr",
        description=_("Litiges avec un service d'eau ou d'assainissement (factures, compteur, branchement)."),
    ),
    Body(
        key="entreprises",
        name=_("Médiateur des entreprises"),
        sector=_("Entre entreprises, marchés publics"),
        website="https://www.economie.gouv.fr/mediateur-des-entreprises",
        description=_(
            "Pour les litiges entre entreprises ou avec un acheteur public : ce n'est pas une médiation "
            "de la consommation. Service public gratuit."
        ),
    ),
    Body(
        key="conciliateur",
        name=_("Conciliateurs de justice"),
        sector=_("Tous litiges du quotidien"),
        website="https://www.conciliateurs.fr",
        description=_(
            "Bénévoles assermentés, gratuits, pour les litiges du quotidien : entre particuliers, avec un "
            "professionnel qui n'a pas de médiateur, ou quand la médiation n'est plus possible."
        ),
    ),
)


def entries() -> tuple[Body, ...]:
    return DIRECTORY


def body(key: str) -> Body | None:
    return next((entry for entry in DIRECTORY if entry.key == key), None)


def for_member_sector(sector: str) -> list[Body]:
    """The bodies that usually handle a member sector's disputes, then the conciliateurs."""
    specific = [entry for entry in DIRECTORY if sector in entry.member_sectors]
    return [*specific, *(entry for entry in DIRECTORY if entry.key == "conciliateur")]


# --- The firm's covered members ------------------------------------------------------------


def covered_members() -> QuerySet[Member]:
    """The members whose consumers may bring a dispute to this firm's mediator."""
    # By status, which the daily membership run keeps in step with the paid terms (mediation.members.coverage).
    return Member.objects.filter(status__in=COVERED_STATUSES)


def search_covered_members(query: str, *, limit: int = SEARCH_LIMIT) -> list[Member]:
    """Covered members matching a name, a trade name, a SIREN (spaces allowed) or a website."""
    # PostgreSQL text cannot hold NUL: a query carrying one (a crafted link) would fail instead of finding nothing.
    query = (query or "").replace("\x00", "").strip()
    if len(query) < SEARCH_MIN_LENGTH:
        return []
    site = re.sub(r"^https?://", "", query, flags=re.IGNORECASE).removeprefix("www.").rstrip("/")
    condition = (
        Q(legal_name__icontains=query) | Q(trade_name__icontains=query) | Q(websites_text__icontains=site or query)
    )
    digits = re.sub(r"[\s.]", "", query)
    if digits.isdigit() and len(digits) >= 3:
        condition |= Q(siren__startswith=digits[:9])
    websites_text = Func(F("websites"), Value(" "), function="array_to_string", output_field=TextField())
    return list(
        covered_members().annotate(websites_text=websites_text).filter(condition).order_by("legal_name", "pk")[:limit]
    )


def covered_member_by_siren(siren: str) -> Member | None:
    digits = re.sub(r"\D", "", siren or "")
    if len(digits) != 9:
        return None
    return covered_members().filter(siren=digits).first()


def member_by_siren(siren: str) -> Member | None:
    """Any member (covered or not) with this SIREN: to say plainly when a membership lapsed."""
    digits = re.sub(r"\D", "", siren or "")
    if len(digits) != 9:
        return None
    return Member.objects.filter(siren=digits).first()

"""What the firm's public site must show (R614-1 and the site's other legal pages), and what it lacks.

Each item is computed from the same records the public pages render, so a
missing record is a missing item: the staff checklist (/staff/cabinet/site/)
and the CECMC compliance pack read `checklist()`. Each item the site shows
carries `data-r614="<key>"` on its page (tested against the served HTML).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from firm import selectors, site_selectors
from firm.models import Mediator, SitePage

TERM_WARNING_DAYS = 90
# By when last year's activity report is expected on the site (the CECMC asks for it in the first half).
REPORT_EXPECTED_BY = (7, 1)


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    MISSING = "missing"


@dataclass(frozen=True)
class Item:
    key: str
    label: Promise | str
    basis: str  # the legal text that asks for it
    status: Status
    detail: str
    fix_url_name: str  # the staff page where it is set (a URL name without arguments)
    public_url_name: str  # the public page that shows it

    @property
    def ok(self) -> bool:
        return self.status == Status.OK


def _identity() -> Item:
    profile = selectors.firm_profile()
    missing = [
        str(label)
        for label, value in (
            (_("la raison sociale"), profile.legal_name),
            (_("l'adresse"), profile.address_line1),
            (_("le code postal"), profile.postcode),
            (_("la ville"), profile.city),
        )
        if not (value or "").strip()
    ]
    return Item(
        key="identity",
        label=_("Identité du médiateur"),
        basis="R614-1",
        status=Status.MISSING if missing else Status.OK,
        detail=(_("Manque : %(what)s.") % {"what": ", ".join(missing)}) if missing else profile.legal_name,
        fix_url_name="firm:profile",
        public_url_name="site:mediator",
    )


def _contact() -> Item:
    profile = selectors.firm_profile()
    found = [value for value in (profile.contact_email, profile.contact_phone) if value]
    return Item(
        key="contact",
        label=_("Coordonnées (e-mail ou téléphone)"),
        basis="R614-1",
        status=Status.OK if found else Status.MISSING,
        detail=" · ".join(found) if found else str(_("Ni e-mail ni téléphone de contact.")),
        fix_url_name="firm:profile",
        public_url_name="site:mediator",
    )


def _mediators(today: datetime.date) -> Item:
    active = list(Mediator.objects.filter(is_active=True).order_by("term_ends_on"))
    current = [m for m in active if m.term_ends_on >= today]
    if not current:
        detail = str(
            _("Le mandat de chaque médiateur en activité a pris fin.") if active else _("Aucun médiateur enregistré.")
        )
        status = Status.MISSING
    else:
        ending = [m for m in current if (m.term_ends_on - today).days <= TERM_WARNING_DAYS]
        status = Status.WARNING if ending else Status.OK
        detail = str(
            _("Le mandat de %(name)s prend fin le %(date)s : renouvelez-le auprès de la CECMC.")
            % {"name": ending[0], "date": ending[0].term_ends_on.strftime("%d/%m/%Y")}
            if ending
            else ", ".join(str(m) for m in current)
        )
    return Item(
        key="mediators",
        label=_("Médiateurs, date de désignation et durée du mandat"),
        basis="R614-1",
        status=status,
        detail=detail,
        fix_url_name="firm:mediators",
        public_url_name="site:mediator",
    )


def _coverages() -> Item:
    count = site_selectors.coverages().count()
    none = _("Aucun secteur ni convention.")
    return Item(
        key="coverages",
        label=_("Secteurs et conventions couverts"),
        basis="R614-1",
        status=Status.OK if count else Status.MISSING,
        detail=str(_("%(count)s enregistré(s).") % {"count": count}) if count else str(none),
        fix_url_name="site-admin:coverages",
        public_url_name="site:mediator",
    )


def _networks() -> Item:
    names = list(site_selectors.networks().values_list("name", flat=True))
    declared_none = site_selectors.site_settings().no_network
    if names:
        status, detail = Status.OK, ", ".join(names)
    elif declared_none:
        status, detail = Status.OK, str(_("Le site indique que le médiateur n'adhère à aucun réseau."))
    else:
        status, detail = Status.MISSING, str(_("Indiquez vos réseaux, ou cochez « aucun réseau »."))
    return Item(
        key="networks",
        label=_("Appartenance à des réseaux de médiateurs"),
        basis="R614-1",
        status=status,
        detail=detail,
        fix_url_name="site-admin:networks",
        public_url_name="site:mediator",
    )


def postal_address_lines() -> list[str]:
    """Where a consumer sends a request by post: the site's address, else the firm's."""
    own = site_selectors.site_settings().postal_address.strip()
    if own:
        return [line.strip() for line in own.splitlines() if line.strip()]
    profile = selectors.firm_profile()
    if not (profile.address_line1 and profile.postcode and profile.city):
        return []
    return [
        line
        for line in (
            profile.legal_name,
            profile.address_line1,
            profile.address_line2,
            f"{profile.postcode} {profile.city}",
        )
        if line
    ]


def _filing() -> list[Item]:
    address = postal_address_lines()
    return [
        Item(
            key="online_filing",
            label=_("Saisine en ligne, avec dépôt de pièces"),
            basis="R614-1",
            status=Status.OK,
            detail=str(_("Le formulaire de la plateforme (pièces PDF, JPEG, PNG).")),
            fix_url_name="",
            public_url_name="site:how_to_file",
        ),
        Item(
            key="postal_filing",
            label=_("Saisine par courrier, avec l'adresse postale"),
            basis="R614-1",
            status=Status.OK if address else Status.MISSING,
            detail=", ".join(address) if address else str(_("Aucune adresse postale (ni celle du cabinet).")),
            fix_url_name="site-admin:texts",
            public_url_name="site:how_to_file",
        ),
        Item(
            key="procedure",
            label=_("Règles de la procédure : gratuité, retrait, recours au juge, durée de 90 jours"),
            basis="R614-1, L612-1, R612-2, R612-5",
            status=Status.OK,
            detail=str(_("Rédigées par la plateforme à partir du Code de la consommation.")),
            fix_url_name="",
            public_url_name="site:how_to_file",
        ),
    ]


def _disputes() -> list[Item]:
    handled = site_selectors.site_settings().disputes_handled.strip()
    return [
        Item(
            key="disputes_handled",
            label=_("Types de litiges traités"),
            basis="R614-1",
            status=Status.OK if handled else Status.MISSING,
            detail=handled[:120] if handled else str(_("Décrivez les litiges que vous examinez.")),
            fix_url_name="site-admin:texts",
            public_url_name="site:how_to_file",
        ),
        Item(
            key="disputes_refused",
            label=_("Cas de refus d'examen (article L612-2)"),
            basis="R614-1, L612-2",
            status=Status.OK,
            detail=str(_("Les cinq cas de la loi, et vos exclusions s'il y en a.")),
            fix_url_name="site-admin:texts",
            public_url_name="site:how_to_file",
        ),
    ]


def _report(today: datetime.date) -> Item:
    years = list(site_selectors.published_reports().values_list("year", flat=True))
    due = today.year - 1
    if due in years:
        status, detail = Status.OK, str(_("Rapport %(year)s publié.") % {"year": due})
    elif (today.month, today.day) < REPORT_EXPECTED_BY and due - 1 in years:
        status = Status.OK
        detail = str(_("Rapport %(year)s publié ; celui de %(due)s est attendu.") % {"year": due - 1, "due": due})
    elif years:
        status = Status.WARNING
        detail = str(_("Le dernier rapport publié est celui de %(year)s.") % {"year": max(years)})
    else:
        status, detail = Status.MISSING, str(_("Aucun rapport d'activité publié."))
    return Item(
        key="annual_report",
        label=_("Rapport annuel d'activité"),
        basis="R614-1, R614-2",
        status=status,
        detail=detail,
        fix_url_name="site-admin:reports",
        public_url_name="site:reports",
    )


PAGE_RULES: tuple[tuple[str, str, Status], ...] = (
    # (page, legal basis, status when it is not published)
    (SitePage.Kind.LEGAL_NOTICE, "LCEN art. 6-III", Status.MISSING),
    (SitePage.Kind.PRIVACY, "RGPD art. 13", Status.MISSING),
    (SitePage.Kind.ACCESSIBILITY, "loi 2005-102 art. 47", Status.WARNING),
    (SitePage.Kind.FAQ, "", Status.WARNING),
)
PAGE_PUBLIC_URLS: dict[str, str] = {
    SitePage.Kind.LEGAL_NOTICE: "site:legal_notice",
    SitePage.Kind.PRIVACY: "site:privacy",
    SitePage.Kind.ACCESSIBILITY: "site:accessibility",
    SitePage.Kind.FAQ: "site:faq",
}


def _pages() -> list[Item]:
    published = site_selectors.published_page_kinds(language="fr")
    return [
        Item(
            key=f"page_{kind}",
            label=SitePage.Kind(kind).label,
            basis=basis,
            status=Status.OK if kind in published else absent,
            detail=str(_("Publiée.")) if kind in published else str(_("Pas encore publiée.")),
            fix_url_name="site-admin:pages",
            public_url_name=PAGE_PUBLIC_URLS[kind],
        )
        for kind, basis, absent in PAGE_RULES
    ]


def checklist(today: datetime.date | None = None) -> list[Item]:
    """Every item, in the order of the staff page: R614-1 first, then the site's other legal pages."""
    today = today or timezone.localdate()
    return [
        _identity(),
        _contact(),
        _mediators(today),
        _coverages(),
        _networks(),
        *_filing(),
        *_disputes(),
        _report(today),
        *_pages(),
    ]


def summary(items: list[Item]) -> dict[str, int]:
    return {status.value: sum(1 for item in items if item.status == status) for status in Status}

"""The CECMC compliance pack: one ZIP with what the commission may ask a listed mediator for (issue #8).

`build(year=…, host=…)` returns the ZIP (deflated), with French file names:

- ``rapport-activite-<year>.pdf`` / ``.xlsx``: the annual report of `year`
  (R614-2), its period the `AnnualReport` row's or the calendar year;
- ``site-r614-1.csv``: each item of `firm.site_checklist.checklist()` (R614-1
  and the site's other legal pages), as the records say and as the public
  page actually served shows it (its `data-r614="<key>"` marker);
- ``secteurs-et-conventions.csv``, ``mediateurs.csv``, ``formations-<year>.txt``;
- ``tarifs-professionnels.csv``: the fees charged to businesses (`fees.fee_schedule`);
- ``obligations-cecmc.csv``: the filing tracker's state;
- ``LISEZMOI.txt``: the firm, the date, what each file is, and a summary.

The pages as served: each public page named by the checklist is requested
once, in-process, through Django's whole stack (`django.test.Client`, the WSGI
handler with every middleware: the tenant resolved from `host`, the firm's
suspension, the language, the URLconf, the view and its template), with the
firm's own host name. What comes back is byte for byte what a visitor of that
host receives from this code and these records, without leaving the process
(no DNS, proxy or TLS in the way, and the same database transaction: nothing
the pack has not seen yet). A proxy or CDN in front of the site is not seen.

CSV files follow the project's exports (core/exports.py, members/exports.py):
UTF-8 with a BOM, `;`, CRLF, every cell through `safe_cell` (a value starting
like a formula is prefixed with a quote), amounts with a decimal comma.
Everything is written in the firm's document language (the report's).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.exports import safe_cell
from core.tenancy import current_schema
from firm import selectors as firm_selectors
from firm import site_checklist, site_selectors
from firm.models import Mediator
from firm.site_checklist import Item
from mediation.compliance import fees, listing
from mediation.compliance.models import Obligation
from mediation.reports import documents
from mediation.reports import figures as report_figures
from mediation.reports import selectors as report_selectors
from mediation.reports.models import AnnualReport

MARKER = re.compile(r'data-r614="([^"]+)"')
Status = site_checklist.Status


class Verdict:
    PRESENT = "present"
    MISSING = "missing"
    CHECK = "check"
    INCONSISTENT = "inconsistent"


def verdict_labels() -> dict[str, str]:
    return {
        Verdict.PRESENT: _("présent"),
        Verdict.MISSING: _("manquant"),
        Verdict.CHECK: _("à vérifier"),
        Verdict.INCONSISTENT: _("incohérent"),
    }


# --- The public pages as served --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    path: str
    status: int  # the HTTP status the page answered (0: the item names no public page)
    markers: frozenset[str]


def fetch_pages(paths: Iterable[str], *, host: str, secure: bool = True) -> dict[str, Served]:
    """Each path requested once on `host`, through the whole Django stack, in this process.

    The request's middleware activates its own language and tenant on this thread and connection: both
    are put back afterwards, so the caller goes on as it was.
    """
    client = Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="fr", raise_request_exception=False)
    language = translation.get_language()
    tenant = getattr(connection, "tenant", None)
    served: dict[str, Served] = {}
    try:
        for path in dict.fromkeys(paths):
            response = client.get(path, secure=secure)
            html = response.content.decode("utf-8", errors="replace") if response.status_code == 200 else ""
            served[path] = Served(path, response.status_code, frozenset(MARKER.findall(html)))
    finally:
        if language:
            translation.activate(language)
        else:
            translation.deactivate()
        if tenant is not None:
            connection.set_tenant(tenant)  # type: ignore[attr-defined]
    return served


def _public_path(item: Item) -> str:
    if not item.public_url_name:
        return ""
    try:
        return reverse(item.public_url_name)
    except NoReverseMatch:
        return ""


def expected_on_page(item: Item) -> bool:
    """Whether the records say the item's marker is on its page.

    The R614-1 items are shown unless missing (a warning is shown: a term ending soon, an older report); a
    legal page is served only once published, and its warning means « not published » (public_site.site_views).
    """
    if item.key.startswith("page_"):
        return item.status == Status.OK
    return item.status != Status.MISSING


@dataclass(frozen=True)
class CheckedItem:
    item: Item
    path: str
    http_status: int | None  # None: the item names no public page
    marker_found: bool
    verdict: str


def verdict(item: Item, served: Served | None) -> str:
    found = served is not None and served.status == 200 and item.key in served.markers
    if served is not None and expected_on_page(item) != found:
        return Verdict.INCONSISTENT
    return {Status.OK: Verdict.PRESENT, Status.WARNING: Verdict.CHECK}.get(item.status, Verdict.MISSING)


def checked_items(*, host: str, secure: bool = True, today: datetime.date | None = None) -> list[CheckedItem]:
    """The checklist, each item compared with the page that shows it as served on `host`."""
    items = site_checklist.checklist(today)
    paths = {item.key: _public_path(item) for item in items}
    pages = fetch_pages([path for path in paths.values() if path], host=host, secure=secure)
    checked = []
    for item in items:
        path = paths[item.key]
        served = pages.get(path) if path else None
        checked.append(
            CheckedItem(
                item=item,
                path=path,
                http_status=served.status if served else None,
                marker_found=bool(served and served.status == 200 and item.key in served.markers),
                verdict=verdict(item, served),
            )
        )
    return checked


# --- Files -----------------------------------------------------------------------------------------------------


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """For French Excel: UTF-8 with a BOM, `;`, CRLF; every cell as text a spreadsheet never runs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode()


def euros(cents: int) -> str:
    """12345 → « 123,45 » (as billing's exports: a number French spreadsheets read)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole},{rest:02d}"


def rate_text(rate: Decimal | None) -> str:
    if rate is None:
        return ""
    return f"{Decimal(rate).normalize():f}".replace(".", ",")


def _date(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _yes_no(value: bool) -> str:
    return _("oui") if value else _("non")


def report_files(year: int) -> tuple[AnnualReport | None, bytes, bytes]:
    """The year's report row (None when nobody wrote it), its PDF and its XLSX."""
    row = report_selectors.report_of(year)
    report = row
    if report is None:
        start, end = AnnualReport.default_period(year)
        report = AnnualReport(year=year, period_start=start, period_end=end)
    period = report_selectors.period_of(year, row)
    current, previous = report_figures.compute(period), report_figures.compute(period.previous())
    return row, documents.report_pdf(report, current, previous), documents.report_xlsx(report, current, previous)


def checklist_csv(checked: Sequence[CheckedItem]) -> bytes:
    states = {Status.OK: _("renseigné"), Status.WARNING: _("à surveiller"), Status.MISSING: _("manquant")}
    labels = verdict_labels()
    header = [
        _("Clé"),
        _("Exigence"),
        _("Base légale"),
        _("État selon les fiches"),
        _("Détail"),
        _("Page publique"),
        _("Statut HTTP"),
        _("Marqueur data-r614 trouvé"),
        _("Verdict"),
    ]
    rows = [
        [
            row.item.key,
            str(row.item.label),
            row.item.basis,
            states[row.item.status],
            row.item.detail,
            row.path,
            "" if row.http_status is None else str(row.http_status),
            _yes_no(row.marker_found),
            labels[row.verdict],
        ]
        for row in checked
    ]
    return csv_bytes(header, rows)


def coverages_csv() -> bytes:
    header = [_("Type"), _("Intitulé"), _("Intitulé (anglais)"), _("Signataire"), _("Signée le")]
    rows = [
        [c.get_kind_display(), c.name, c.name_en, c.partner, _date(c.signed_on)] for c in site_selectors.coverages()
    ]
    return csv_bytes(header, rows)


def mediators_csv() -> bytes:
    header = [
        _("Nom"),
        _("Prénom"),
        _("Adresse e-mail"),
        _("Inscrit sur la liste de la CECMC le"),
        _("Fin du mandat"),
        _("En activité"),
    ]
    mediators = Mediator.objects.order_by("last_name", "first_name", "pk")
    rows = [
        [m.last_name, m.first_name, m.email, _date(m.listed_on), _date(m.term_ends_on), _yes_no(m.is_active)]
        for m in mediators
    ]
    return csv_bytes(header, rows)


def trainings_text(year: int, report: AnnualReport | None) -> bytes:
    title = _("Formation des médiateurs en %(year)s (rapport d'activité, R614-2)") % {"year": year}
    text = (report.training if report else "").strip()
    none = _("Aucun texte sur la formation des médiateurs n'a été rédigé dans le rapport %(year)s.") % {"year": year}
    return "\r\n".join([title, "", *(text.splitlines() if text else [none]), ""]).encode()


def fees_csv(today: datetime.date) -> bytes:
    header = [_("Libellé"), _("Nature"), _("Montant HT (euros)"), _("Taux de TVA (%)"), _("Du"), _("Au")]
    rows = [
        [
            line.label,
            line.kind,
            euros(line.amount_cents),
            rate_text(line.vat_rate),
            _date(line.valid_from),
            _date(line.valid_until),
        ]
        for line in fees.fee_schedule(today)
    ]
    return csv_bytes(header, rows)


def listing_text(today: datetime.date) -> bytes:
    """The listing file's facts (R614-3): how the mediator is funded, and the fees charged to businesses."""
    funding = listing.listing_info().funding.strip()
    lines = [
        str(_("Dossier de référencement (R614-3) — informations au %(date)s") % {"date": _date(today)}),
        "",
        str(_("Financement du médiateur")),
        *(funding.splitlines() if funding else [str(_("Non renseigné : à compléter sur la page du dossier."))]),
        "",
        str(_("Tarifs facturés aux professionnels (HT), détaillés dans tarifs-professionnels.csv")),
        *(f"- {line.label} : {euros(line.amount_cents)} €" for line in fees.fee_schedule(today)),
        "",
    ]
    return "\r\n".join(lines).encode()


def obligations() -> list[Obligation]:
    return list(Obligation.objects.annotate(documents_count=Count("documents")).order_by("due_on", "pk"))


def obligations_csv(items: Sequence[Obligation]) -> bytes:
    header = [_("Type"), _("Intitulé"), _("Échéance"), _("Statut"), _("Fait le"), _("Documents")]
    rows = [
        [
            item.get_kind_display(),
            item.title,
            _date(item.due_on),
            item.get_status_display(),
            _date(item.done_on),
            str(item.documents_count),  # type: ignore[attr-defined]
        ]
        for item in items
    ]
    return csv_bytes(header, rows)


def _counts(checked: Sequence[CheckedItem], items: Sequence[Obligation], today: datetime.date) -> dict[str, int]:
    to_do = [item for item in items if item.status == Obligation.Status.TODO]
    return {
        **{name: sum(1 for row in checked if row.verdict == name) for name in verdict_labels()},
        "to_do": len(to_do),
        "overdue": sum(1 for item in to_do if item.due_on < today),
    }


def readme(
    *,
    firm: str,
    host: str,
    year: int,
    built_at: datetime.datetime,
    counts: dict[str, int],
    files: Sequence[tuple[str, str]],
) -> bytes:
    lines = [
        _("Dossier de conformité CECMC — %(firm)s") % {"firm": firm},
        _("Année du rapport : %(year)s") % {"year": year},
        _("Construit le %(date)s à %(time)s")
        % {"date": built_at.strftime("%d/%m/%Y"), "time": built_at.strftime("%H:%M")},
        "",
        _("Synthèse"),
        _(
            "Site public (R614-1) : %(present)s présent(s), %(missing)s manquant(s), %(check)s à vérifier, "
            "%(inconsistent)s incohérent(s) entre les fiches et la page servie."
        )
        % counts,
        _("Obligations CECMC : %(to_do)s à faire, dont %(overdue)s en retard.") % counts,
        "",
        _("Contenu"),
        *[f"- {name} : {what}" for name, what in files],
        "",
        _(
            "Verdicts de site-r614-1.csv : « présent » quand les fiches le renseignent et que la page servie le "
            "montre ; « manquant » quand les fiches ne le renseignent pas (la page ne le montre pas) ; « à "
            "vérifier » pour un point à surveiller (mandat proche de sa fin, ancien rapport, page recommandée "
            "non publiée) ; « incohérent » quand les fiches et la page servie ne disent pas la même chose."
        ),
        _(
            "Chaque page publique a été demandée une fois, au moment de la construction, sur l'adresse du site "
            "du cabinet (%(host)s), à travers toute la pile de l'application : c'est la page que reçoit un "
            "visiteur."
        )
        % {"host": host},
        _("Les fichiers CSV sont en UTF-8, séparés par des points-virgules, pour Excel."),
    ]
    return ("\r\n".join(str(line) for line in lines) + "\r\n").encode()


def zip_name(year: int) -> str:
    """« dossier-cecmc-<firm>-<year>.zip », the firm named by its schema (its sub-domain's slug)."""
    firm = current_schema().replace("_", "-")
    return f"dossier-cecmc-{firm}-{year}.zip"


def build(*, year: int, host: str, secure: bool = True) -> bytes:
    """The pack of `year` for the firm on the connection, whose public site `host` serves."""
    with translation.override(documents.document_language()):
        today = timezone.localdate()
        built_at = timezone.localtime()
        report, pdf, xlsx = report_files(year)
        checked = checked_items(host=host, secure=secure, today=today)
        items = obligations()
        content: list[tuple[str, bytes, str]] = [
            (f"rapport-activite-{year}.pdf", pdf, _("le rapport annuel d'activité (R614-2), PDF")),
            (f"rapport-activite-{year}.xlsx", xlsx, _("ses chiffres, tableur")),
            (
                "site-r614-1.csv",
                checklist_csv(checked),
                _("les mentions obligatoires du site (R614-1), selon les fiches et sur la page servie"),
            ),
            ("secteurs-et-conventions.csv", coverages_csv(), _("les secteurs et conventions couverts")),
            (
                "mediateurs.csv",
                mediators_csv(),
                _("les médiateurs, leur inscription par la CECMC et la fin de leur mandat"),
            ),
            (f"formations-{year}.txt", trainings_text(year, report), _("les formations suivies (texte du rapport)")),
            (
                "tarifs-professionnels.csv",
                fees_csv(today),
                _("les tarifs facturés aux professionnels en vigueur ce jour (HT)"),
            ),
            (
                "referencement-r614-3.txt",
                listing_text(today),
                _("le dossier de référencement (R614-3) : financement du médiateur et tarifs"),
            ),
            ("obligations-cecmc.csv", obligations_csv(items), _("l'état du suivi des obligations CECMC")),
        ]
        firm = firm_selectors.firm_profile().legal_name or str(getattr(getattr(connection, "tenant", None), "name", ""))
        notice = readme(
            firm=firm,
            host=host,
            year=year,
            built_at=built_at,
            counts=_counts(checked, items, today),
            files=[(name, what) for name, _data, what in content],
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("LISEZMOI.txt", notice)
        for name, data, _what in content:
            archive.writestr(name, data)
    return buffer.getvalue()

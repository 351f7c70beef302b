"""The member list as CSV (for French Excel: UTF-8 with BOM, `;`) and XLSX.

Rows are read from the database in chunks (`iterator`), so a long list is
never held in memory: the CSV is streamed, the XLSX built in openpyxl's
write-only mode into a temporary file.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from core.exports import CHUNK, Echo, safe_cell
from mediation.members.models import Member


def _yes_no(value: bool) -> str:
    return str(_("oui")) if value else str(_("non"))


COLUMNS: tuple[tuple[Any, Callable[[Member], Any]], ...] = (
    (_("Raison sociale"), lambda m: m.legal_name),
    (_("Nom commercial"), lambda m: m.trade_name),
    (_("SIREN"), lambda m: m.siren),
    (_("SIRET"), lambda m: m.siret),
    (_("TVA intracommunautaire"), lambda m: m.vat_number),
    (_("Code NAF/APE"), lambda m: m.naf_code),
    (_("Forme juridique"), lambda m: m.legal_form),
    (_("Adresse"), lambda m: m.address_line1),
    (_("Complément d'adresse"), lambda m: m.address_line2),
    (_("Code postal"), lambda m: m.postcode),
    (_("Ville"), lambda m: m.city),
    (_("Pays"), lambda m: m.country),
    (_("Sites internet"), lambda m: " ".join(m.websites)),
    (_("Secteur"), lambda m: m.get_sector_display()),
    (_("Effectif"), lambda m: m.get_headcount_band_display()),
    (_("Chiffre d'affaires"), lambda m: m.get_turnover_band_display()),
    (_("ESS"), lambda m: _yes_no(m.is_ess)),
    (_("SIAE"), lambda m: _yes_no(m.is_siae)),
    (_("ESAT"), lambda m: _yes_no(m.is_esat)),
    (_("EA"), lambda m: _yes_no(m.is_ea)),
    (_("TIH"), lambda m: _yes_no(m.is_tih)),
    (_("Groupement"), lambda m: m.group.name if m.group else ""),
    (_("Statut"), lambda m: m.get_status_display()),
    (_("Créé le"), lambda m: m.created_at.date().isoformat()),
)


def header() -> list[str]:
    return [str(label) for label, _get in COLUMNS]


def rows(queryset: QuerySet[Member]) -> Iterator[list[str]]:
    for member in queryset.select_related("group").iterator(chunk_size=CHUNK):
        yield [safe_cell(get(member)) for _label, get in COLUMNS]


def csv_chunks(queryset: QuerySet[Member]) -> Iterator[bytes]:
    writer = csv.writer(Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff".encode()  # the BOM tells Excel the file is UTF-8
    yield writer.writerow(header()).encode()
    for row in rows(queryset):
        yield writer.writerow(row).encode()


def xlsx_file(queryset: QuerySet[Member]) -> IO[bytes]:
    """An XLSX workbook (one sheet, a header row, then the members), rewound, in a temporary file."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(_("Adhérents")))
    sheet.freeze_panes = "A2"
    sheet.append(header())
    for row in rows(queryset):
        sheet.append(row)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the FileResponse that sends it)
    workbook.save(handle)
    handle.seek(0)
    return handle

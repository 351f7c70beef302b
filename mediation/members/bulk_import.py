"""Bulk import of member businesses from a CSV or XLSX file: read, check (dry run), apply.

The upload creates a `MemberImport` (status "checking") and queues the check.
The check reads every row, validates it exactly as the model does
(`Member.full_clean()` on an unsaved instance, with firm.validators' SIREN,
SIRET and VAT checks), looks for SIRENs repeated in the file and SIRENs
already on file, and stores every row's errors in French in the report; it
writes nothing to members. Once confirmed, the apply reads and checks the file
again (members may have changed since) and writes it in batches.

Why bulk writes rather than `services.create_member` per row: 10,000 rows must
be imported in under a minute on two cores. Each batch is one transaction
that locks the members it updates, inserts with `bulk_create` (the unique
SIREN index is the last word: a row that lost a race is reported, never
doubled) and writes the same audit rows the services write (one per member
created or updated, one per contact added, with the same actions and
`{field: [before, after]}` changes, plus the import they came from).
A batch commits on its own so that progress shows; running an import again is
harmless (SIRENs already on file are merged or refused, existing contacts are
not added twice).
"""

from __future__ import annotations

import copy
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from core.models import AuditEntry
from firm import validators as identifiers
from mediation.members.models import Contact, Group, Member, MemberImport
from mediation.members.services import CONTACT_FIELDS, MEMBER_FIELDS

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
BATCH = 500  # rows per transaction; progress is saved after each batch
EXTENSIONS = (".csv", ".txt", ".xlsx")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 (.xls)

UPDATE = "update"
REFUSE = "refuse"
ON_DUPLICATE_CHOICES = (
    (UPDATE, gettext_lazy("Mettre à jour la fiche existante (seules les colonnes remplies sont modifiées)")),
    (REFUSE, gettext_lazy("Refuser la ligne (elle est signalée comme erreur)")),
)

CHOICE_FIELDS = ("sector", "headcount_band", "turnover_band")
BOOLEAN_FIELDS = ("is_ess", "is_siae", "is_esat", "is_ea", "is_tih")
YES = frozenset({"oui", "o", "yes", "y", "true", "vrai", "1", "x"})
NO = frozenset({"non", "n", "no", "false", "faux", "0"})
# XLSX cells typed as numbers lose their leading zeros: these identifiers have a fixed length.
ZERO_PADDED = {"siren": 9, "siret": 14, "postcode": 5}


class ImportFileError(Exception):
    """The file as a whole is refused (type, size, encoding, header, number of rows); the message is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ColumnSpec:
    key: str  # a Member field, or contact_<Contact field>
    label: Any  # the column's title in the model file (lazy translation)
    aliases: tuple[str, ...]


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("legal_name", gettext_lazy("Raison sociale"), ("raison sociale", "denomination", "legal name")),
    ColumnSpec("trade_name", gettext_lazy("Nom commercial"), ("nom commercial", "enseigne", "trade name")),
    ColumnSpec("siren", gettext_lazy("SIREN"), ("siren", "numero siren", "n siren")),
    ColumnSpec("siret", gettext_lazy("SIRET"), ("siret", "numero siret", "n siret", "siret de l etablissement")),
    ColumnSpec(
        "vat_number",
        gettext_lazy("TVA intracommunautaire"),
        ("tva", "tva intracommunautaire", "numero de tva", "numero de tva intracommunautaire", "vat", "vat number"),
    ),
    ColumnSpec(
        "naf_code",
        gettext_lazy("Code NAF/APE"),
        ("naf", "ape", "code naf", "code ape", "code naf ape", "naf ape", "naf code"),
    ),
    ColumnSpec("legal_form", gettext_lazy("Forme juridique"), ("forme juridique", "legal form")),
    ColumnSpec("address_line1", gettext_lazy("Adresse"), ("adresse", "adresse ligne 1", "address", "address line1")),
    ColumnSpec(
        "address_line2",
        gettext_lazy("Complément d'adresse"),
        ("complement", "complement d adresse", "complement adresse", "adresse ligne 2", "address line2"),
    ),
    ColumnSpec("postcode", gettext_lazy("Code postal"), ("code postal", "cp", "postcode")),
    ColumnSpec("city", gettext_lazy("Ville"), ("ville", "commune", "city")),
    ColumnSpec("country", gettext_lazy("Pays"), ("pays", "code pays", "country")),
    ColumnSpec(
        "websites",
        gettext_lazy("Sites internet"),
        ("site internet", "sites internet", "site", "sites", "site web", "sites web", "website", "websites"),
    ),
    ColumnSpec("sector", gettext_lazy("Secteur"), ("secteur", "secteur d activite", "sector")),
    ColumnSpec("headcount_band", gettext_lazy("Effectif"), ("effectif", "effectifs", "tranche d effectif")),
    ColumnSpec("turnover_band", gettext_lazy("Chiffre d'affaires"), ("chiffre d affaires", "ca", "turnover band")),
    ColumnSpec("is_ess", gettext_lazy("ESS"), ("ess", "is ess")),
    ColumnSpec("is_siae", gettext_lazy("SIAE"), ("siae", "is siae")),
    ColumnSpec("is_esat", gettext_lazy("ESAT"), ("esat", "is esat")),
    ColumnSpec("is_ea", gettext_lazy("EA"), ("ea", "is ea")),
    ColumnSpec("is_tih", gettext_lazy("TIH"), ("tih", "is tih")),
    ColumnSpec("group", gettext_lazy("Groupement"), ("groupement", "federation", "groupement ou federation", "group")),
    ColumnSpec(
        "contact_last_name", gettext_lazy("Contact nom"), ("contact nom", "nom du contact", "contact last name")
    ),
    ColumnSpec(
        "contact_first_name",
        gettext_lazy("Contact prénom"),
        ("contact prenom", "prenom du contact", "contact first name"),
    ),
    ColumnSpec(
        "contact_email",
        gettext_lazy("Contact e-mail"),
        (
            "contact e mail",
            "contact email",
            "contact mail",
            "contact courriel",
            "e mail du contact",
            "email du contact",
        ),
    ),
    ColumnSpec(
        "contact_phone",
        gettext_lazy("Contact téléphone"),
        ("contact telephone", "contact tel", "telephone du contact", "contact phone"),
    ),
    ColumnSpec(
        "contact_roles",
        gettext_lazy("Contact rôle"),
        ("contact role", "contact roles", "role du contact", "roles du contact"),
    ),
)
SPECS = {spec.key: spec for spec in COLUMNS}
CONTACT_PREFIX = "contact_"


def _field(name: str) -> models.Field[Any, Any]:
    model_field = Member._meta.get_field(name)
    assert isinstance(model_field, models.Field)
    return model_field


def normalize_header(value: Any) -> str:
    """`Complément d'adresse ` → `complement d adresse`: no accents, no case, words split on anything else."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    return " ".join(re.split(r"[^a-z0-9]+", text)).strip()


def _aliases() -> dict[str, str]:
    """Every accepted column title (normalised) → its key: the aliases, the key, the model's French labels."""
    aliases: dict[str, str] = {}
    with translation.override("fr"):
        for spec in COLUMNS:
            names = [*spec.aliases, spec.key, str(spec.label)]
            if not spec.key.startswith(CONTACT_PREFIX):
                names.append(str(_field(spec.key).verbose_name))
            for name in names:
                aliases.setdefault(normalize_header(name), spec.key)
    return aliases


# --- Reading the file ----------------------------------------------------------


@dataclass
class Table:
    """The header row and an iterator over the data rows: (row number as a spreadsheet shows it, cells)."""

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    kind: str


def _refuse_type(name: str) -> ImportFileError:
    return ImportFileError(
        _("« %(name)s » n'est pas un fichier CSV ou XLSX. Enregistrez votre tableau au format CSV (UTF-8) ou XLSX.")
        % {"name": name}
    )


def file_kind(head: bytes, name: str) -> str:
    """`csv` or `xlsx`, from the file's first bytes and its name; anything else is refused."""
    extension = Path(name).suffix.lower()
    if head.startswith(OLE_MAGIC) or extension == ".xls":
        raise ImportFileError(
            _("Le format Excel 97-2003 (.xls) n'est pas pris en charge : enregistrez le fichier au format XLSX ou CSV.")
        )
    if extension not in EXTENSIONS:
        raise _refuse_type(name)
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if extension == ".xlsx":
        raise ImportFileError(_("Ce fichier porte l'extension .xlsx mais n'est pas un classeur Excel lisible."))
    if b"\x00" in head:
        raise _refuse_type(name)
    return "csv"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "Ce fichier CSV n'est pas encodé en UTF-8. Dans Excel, choisissez « Enregistrer sous » puis "
                "« CSV UTF-8 (délimité par des virgules) »."
            )
        ) from None


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _csv_table(data: bytes) -> Table:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))

    def records() -> Iterator[list[Any]]:
        try:
            yield from reader
        except csv.Error as exc:
            raise ImportFileError(
                _("Le fichier CSV est illisible vers la ligne %(line)s.") % {"line": reader.line_num}
            ) from exc

    rows = enumerate(records(), start=1)
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("Le fichier est vide."))
    return Table(headers=[str(cell) for cell in first[1]], rows=rows, kind="csv")


def _xlsx_table(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError, TypeError) as exc:
        raise ImportFileError(
            _("Ce classeur XLSX est illisible. Ouvrez-le dans votre tableur et enregistrez-le à nouveau.")
        ) from exc

    def records() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(values)
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
            raise ImportFileError(_("Ce classeur XLSX est illisible.")) from exc
        finally:
            workbook.close()

    rows = records()
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("Le fichier est vide."))
    return Table(headers=["" if cell is None else str(cell) for cell in first[1]], rows=rows, kind="xlsx")


def read_table(data: bytes, name: str) -> Table:
    """The file's header row and data rows; raises ImportFileError with a French message for a bad file."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _("Ce fichier pèse plus de %(max)s Mo : découpez-le en plusieurs fichiers.") % {"max": MAX_BYTES // 2**20}
        )
    kind = file_kind(data[:8], name)
    return _xlsx_table(data) if kind == "xlsx" else _csv_table(data)


def map_columns(headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """{key: column index} and the titles of the columns that are ignored; refuses a header without SIREN."""
    aliases = _aliases()
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        key = aliases.get(normalize_header(header))
        if key is None:
            if header.strip():
                ignored.append(header.strip())
            continue
        if key in columns:
            raise ImportFileError(
                _("La colonne « %(column)s » apparaît deux fois dans la ligne d'en-tête.") % {"column": header.strip()}
            )
        columns[key] = index
    if "siren" not in columns:
        raise ImportFileError(
            _(
                "La première ligne doit contenir les titres des colonnes, dont « SIREN » (obligatoire) et "
                "« Raison sociale ». Téléchargez le modèle de fichier pour voir les colonnes reconnues."
            )
        )
    return columns, ignored


def _is_blank(cells: list[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def data_rows(table: Table) -> Iterator[tuple[int, list[Any]]]:
    """The non-blank data rows; refuses the file at the first row past MAX_ROWS."""
    count = 0
    for number, cells in table.rows:
        if _is_blank(cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise ImportFileError(
                _("Le fichier compte plus de %(max)s lignes : découpez-le en plusieurs fichiers.")
                % {"max": f"{MAX_ROWS:,}".replace(",", " ")}
            )
        yield number, cells


def inspect(data: bytes, name: str) -> tuple[dict[str, int], list[str]]:
    """The checks of the upload form: type, size, header; for a CSV, also the number of rows (cheap to count)."""
    table = read_table(data, name)
    columns, ignored = map_columns(table.headers)
    if table.kind == "csv":
        for _row in data_rows(table):
            pass
    return columns, ignored


def model_file_header() -> list[str]:
    """The titles of the model file offered for download (every recognised column)."""
    return [str(spec.label) for spec in COLUMNS]


# --- Checking the rows ---------------------------------------------------------

CREATE = "create"
UPDATE_ROW = "update"
UNCHANGED = "unchanged"
INVALID = "invalid"


@dataclass
class Draft:
    """One data row on its way to the database."""

    row: int
    cells: dict[str, str] = field(default_factory=dict)  # key → text as read
    fields: dict[str, Any] = field(default_factory=dict)  # Member fields given (non-empty)
    contact_fields: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    siren: str = ""
    action: str = INVALID
    refused: bool = False
    member: Member | None = None
    before: dict[str, Any] = field(default_factory=dict)
    contact: Contact | None = None


def _text(value: Any, key: str) -> str:
    """A cell as text: numbers without a decimal part, fixed-length identifiers with their leading zeros back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        return text.zfill(ZERO_PADDED[key]) if key in ZERO_PADDED else text
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


def _choice_labels(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for value, label in choices:
        mapping[normalize_header(value)] = value
        for language in ("fr", "en"):
            with translation.override(language):
                mapping[normalize_header(str(label))] = value
    return mapping


ROLE_SYNONYMS = {"mediateur interne": Contact.Role.MEDIATION_CORRESPONDENT.value}


class Checker:
    """Converts and validates rows with the rules of the model; shared by the dry run and the apply."""

    def __init__(self, *, columns: dict[str, int], on_duplicate: str, headers: list[str]) -> None:
        self.columns = columns
        self.on_duplicate = on_duplicate
        self.headers = headers
        self.groups = {normalize_header(group.name): group for group in Group.objects.all()}
        self.choices = {name: _choice_labels(_field(name).choices or ()) for name in CHOICE_FIELDS}
        self.roles = {**_choice_labels(Contact.Role.choices), **ROLE_SYNONYMS}
        self.seen: dict[str, int] = {}  # SIREN → first row that holds it

    def column(self, key: str) -> str:
        """The column's title as the file writes it (or the model file's title when the column is missing)."""
        if key in self.columns:
            return self.headers[self.columns[key]].strip()
        if key == NON_FIELD_ERRORS:
            return ""
        spec = SPECS.get(key)
        return str(spec.label) if spec else key

    def add_error(self, draft: Draft, key: str, message: str) -> None:
        draft.errors.append(
            {
                "row": draft.row,
                "column": self.column(key),
                "field": key,
                "value": draft.cells.get(key, "")[:200],
                "message": message,
            }
        )

    # Conversion of one cell ------------------------------------------------------

    def _choice(self, key: str, text: str, mapping: dict[str, str], choices: Iterable[tuple[str, Any]]) -> str:
        value = mapping.get(normalize_header(text))
        if value is None:
            raise ValidationError(
                _("« %(value)s » n'est pas une valeur reconnue. Valeurs possibles : %(choices)s.")
                % {"value": text, "choices": ", ".join(str(label) for _value, label in choices)}
            )
        return value

    def _value(self, key: str, text: str) -> Any:
        if key in CHOICE_FIELDS:
            return self._choice(key, text, self.choices[key], _field(key).choices or ())
        if key in BOOLEAN_FIELDS:
            answer = normalize_header(text)
            if answer in YES:
                return True
            if answer in NO:
                return False
            raise ValidationError(_("Répondez par « oui » ou « non » (et non « %(value)s »).") % {"value": text})
        if key == "group":
            group = self.groups.get(normalize_header(text))
            if group is None:
                raise ValidationError(
                    _(
                        "Groupement inconnu : « %(value)s ». Créez-le d'abord dans « Groupements et fédérations » "
                        "ou corrigez son nom."
                    )
                    % {"value": text}
                )
            return group
        if key == "websites":
            # Like the member form: separated by spaces or |, `exemple.fr` means https://exemple.fr.
            urls = [item for item in re.split(r"[\s|,;]+", text) if item]
            return [url if "://" in url else f"https://{url}" for url in urls]
        if key == "contact_roles":
            return [
                self._choice(key, part.strip(), self.roles, Contact.Role.choices)
                for part in re.split(r"[|,;/]+", text)
                if part.strip()
            ]
        return text

    def convert(self, row: int, cells: list[Any]) -> Draft:
        draft = Draft(row=row)
        for key, index in self.columns.items():
            text = _text(cells[index] if index < len(cells) else None, key)
            if not text:
                continue  # an empty cell changes nothing
            draft.cells[key] = text
            try:
                value = self._value(key, text)
            except ValidationError as exc:
                for message in exc.messages:
                    self.add_error(draft, key, message)
                continue
            if key.startswith(CONTACT_PREFIX):
                draft.contact_fields[key.removeprefix(CONTACT_PREFIX)] = value
            else:
                draft.fields[key] = value
        draft.siren = identifiers.normalize_siren(draft.fields.get("siren", ""))
        if draft.siren:
            first = self.seen.setdefault(draft.siren, row)
            if first != row:
                self.add_error(
                    draft,
                    "siren",
                    _("Ce SIREN figure déjà à la ligne %(row)s du fichier : une seule ligne par entreprise.")
                    % {"row": first},
                )
        return draft

    # Validation of one row -------------------------------------------------------

    def _model_errors(self, draft: Draft, exc: ValidationError, prefix: str = "") -> None:
        for name, messages in exc.message_dict.items():
            key = f"{prefix}{name}" if prefix and name != NON_FIELD_ERRORS else name
            for message in messages:
                self.add_error(draft, key, message)

    def check(self, draft: Draft, existing: Member | None, contacts: dict[int, list[Contact]]) -> None:
        """Sets the row's action (create, update, unchanged or invalid) and adds the model's errors."""
        if existing is not None and self.on_duplicate == REFUSE:
            draft.refused = True
            self.add_error(
                draft,
                "siren",
                _("Le SIREN %(siren)s est déjà celui de l'adhérent « %(name)s » : ligne refusée (doublon).")
                % {"siren": draft.siren, "name": existing.legal_name},
            )
            existing = None  # the row's other errors are still listed, as if it were new
        if existing is None:
            member = Member(**draft.fields)
        else:
            member = copy.copy(existing)
            draft.before = audit.snapshot(member, MEMBER_FIELDS)
            for name, value in draft.fields.items():
                setattr(member, name, value)
        try:
            # Uniqueness is checked above for the whole batch; the group was just read from the database.
            member.full_clean(exclude=["group"], validate_unique=False)
        except ValidationError as exc:
            self._model_errors(draft, exc)
        contact = self._contact(draft)
        if draft.errors:
            draft.action = INVALID
            return
        draft.member = member
        if contact is not None and existing is not None and _has_contact(contacts.get(existing.pk, []), contact):
            contact = None  # already on file (the same file imported twice)
        draft.contact = contact
        if existing is None:
            draft.action = CREATE
        elif audit.diff(draft.before, audit.snapshot(member, MEMBER_FIELDS)) or contact is not None:
            draft.action = UPDATE_ROW
        else:
            draft.action = UNCHANGED

    def _contact(self, draft: Draft) -> Contact | None:
        values = draft.contact_fields
        if not values and not any(key.startswith(CONTACT_PREFIX) for key in draft.cells):
            return None
        if not values.get("last_name"):
            self.add_error(
                draft,
                "contact_last_name",
                _("Indiquez le nom du contact : les autres colonnes du contact sont remplies."),
            )
            return None
        contact = Contact(
            last_name=values["last_name"],
            first_name=values.get("first_name", ""),
            email=values.get("email", ""),
            phone=values.get("phone", ""),
            roles=values.get("roles", []),
        )
        try:
            contact.full_clean(exclude=["member"])
        except ValidationError as exc:
            self._model_errors(draft, exc, prefix=CONTACT_PREFIX)
            return None
        return contact


def _has_contact(contacts: list[Contact], new: Contact) -> bool:
    """The same person: same e-mail when one is given, else the same names (case and spaces ignored)."""
    if new.email:
        return any(contact.email.lower() == new.email for contact in contacts)
    names = (new.last_name.strip().lower(), new.first_name.strip().lower())
    return any((c.last_name.strip().lower(), c.first_name.strip().lower()) == names for c in contacts)


def _existing(sirens: Iterable[str], *, lock: bool) -> tuple[dict[str, Member], dict[int, list[Contact]]]:
    wanted = sorted({siren for siren in sirens if siren})
    if not wanted:
        return {}, {}
    queryset = Member.objects.filter(siren__in=wanted)
    if lock:
        queryset = queryset.select_for_update()
    members = {member.siren: member for member in queryset}
    contacts: dict[int, list[Contact]] = {}
    for contact in Contact.objects.filter(member__in=[m.pk for m in members.values()]):
        contacts.setdefault(contact.member_id, []).append(contact)
    return members, contacts


# --- The report ----------------------------------------------------------------


@dataclass
class Tally:
    rows: int = 0
    create: int = 0
    update: int = 0
    unchanged: int = 0
    invalid: int = 0
    refused: int = 0
    contacts: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, drafts: Iterable[Draft]) -> None:
        for draft in drafts:
            self.rows += 1
            if draft.action == CREATE:
                self.create += 1
            elif draft.action == UPDATE_ROW:
                self.update += 1
            elif draft.action == UNCHANGED:
                self.unchanged += 1
            else:
                self.invalid += 1
            self.refused += draft.refused
            self.contacts += draft.contact is not None
            self.errors.extend(draft.errors)


def _batches(rows: Iterator[tuple[int, list[Any]]], size: int) -> Iterator[list[tuple[int, list[Any]]]]:
    while batch := list(islice(rows, size)):
        yield batch


def _open(member_import: MemberImport) -> tuple[Table, Checker, list[str]]:
    with member_import.file.open("rb") as handle:
        data = handle.read()
    table = read_table(data, member_import.original_name)
    columns, ignored = map_columns(table.headers)
    checker = Checker(columns=columns, on_duplicate=member_import.on_duplicate, headers=table.headers)
    return table, checker, ignored


def _progress(member_import: MemberImport, processed: int) -> None:
    MemberImport.objects.filter(pk=member_import.pk).update(processed_rows=processed)


def fail(member_import: MemberImport, message: str) -> MemberImport:
    member_import.status = MemberImport.Status.FAILED
    member_import.report = {**member_import.report, "message": message}
    member_import.finished_at = timezone.now()
    member_import.save(update_fields=["status", "report", "finished_at"])
    return member_import


def check(member_import: MemberImport) -> MemberImport:
    """The dry run: every row validated, every error listed in the report; nothing is written to members."""
    member_import.refresh_from_db()
    try:
        table, checker, ignored = _open(member_import)
        tally = Tally()
        for batch in _batches(data_rows(table), BATCH):
            drafts = [checker.convert(row, cells) for row, cells in batch]
            existing, contacts = _existing((d.siren for d in drafts), lock=False)
            for draft in drafts:
                checker.check(draft, existing.get(draft.siren), contacts)
            tally.add(drafts)
            _progress(member_import, tally.rows)
    except ImportFileError as exc:
        return fail(member_import, exc.message)
    member_import.status = MemberImport.Status.CHECKED
    member_import.total_rows = tally.rows
    member_import.processed_rows = tally.rows
    member_import.report = {
        "stage": "check",
        "columns": [checker.column(key) for key in sorted(checker.columns, key=checker.columns.__getitem__)],
        "ignored_columns": ignored,
        "to_create": tally.create,
        "to_update": tally.update,
        "unchanged": tally.unchanged,
        "invalid_rows": tally.invalid,
        "refused": tally.refused,
        "contacts": tally.contacts,
        "errors": tally.errors,
    }
    member_import.save(update_fields=["status", "total_rows", "processed_rows", "report"])
    return member_import


# --- Applying ------------------------------------------------------------------


class _Writer:
    """Writes one checked batch and its audit rows; called inside the batch's transaction."""

    def __init__(self, *, member_import: MemberImport, by: User, checker: Checker) -> None:
        self.by = by
        self.checker = checker
        self.source = [None, f"{member_import.original_name} (import n° {member_import.pk})"]
        self.now = timezone.now()
        self.audit: list[AuditEntry] = []

    def entry(self, *, action: str, member: Member, changes: dict[str, Any]) -> None:
        # Same row as core.audit.record() writes, built here to be inserted in bulk.
        self.audit.append(
            AuditEntry(
                actor_id=self.by.pk,
                actor_email=self.by.email,
                created_at=self.now,
                action=action,
                object_type=Member._meta.label_lower,
                object_id=str(member.pk),
                object_repr=str(member)[:200],
                changes={**changes, "import": self.source},  # audit.diff() gave JSON values already
            )
        )

    def insert(self, drafts: list[Draft]) -> None:
        members = [draft.member for draft in drafts if draft.member is not None]
        try:
            with transaction.atomic():
                Member.objects.bulk_create(members)
        except IntegrityError:
            # A SIREN of this batch was saved meanwhile by someone else: insert row by row to find it.
            for draft in drafts:
                assert draft.member is not None
                draft.member.pk = None
                try:
                    with transaction.atomic():
                        draft.member.save(force_insert=True)
                except IntegrityError:
                    draft.member, draft.contact, draft.action = None, None, INVALID
                    self.checker.add_error(
                        draft,
                        "siren",
                        _(
                            "Un adhérent avec ce SIREN vient d'être enregistré pendant l'import : ligne ignorée. "
                            "Relancez l'import pour la fusionner."
                        ),
                    )
        for draft in drafts:
            if draft.member is not None:
                changes = audit.diff({}, audit.snapshot(draft.member, (*MEMBER_FIELDS, "status")))
                self.entry(action="members.member_created", member=draft.member, changes=changes)

    def update(self, drafts: list[Draft]) -> None:
        changed_fields: set[str] = set()
        members = []
        for draft in drafts:
            assert draft.member is not None
            changes = audit.diff(draft.before, audit.snapshot(draft.member, MEMBER_FIELDS))
            if changes:
                changed_fields.update(changes)
                draft.member.updated_at = self.now
                members.append(draft.member)
                self.entry(action="members.member_updated", member=draft.member, changes=changes)
        if members:
            # Every member of the batch is locked; fields it did not change are written back unchanged.
            Member.objects.bulk_update(members, [*sorted(changed_fields), "updated_at"])

    def contacts(self, drafts: list[Draft]) -> int:
        pairs = [(draft.member, draft.contact) for draft in drafts if draft.member and draft.contact]
        for member, contact in pairs:
            contact.member = member
        Contact.objects.bulk_create([contact for _member, contact in pairs])
        for member, contact in pairs:
            snapshot = {"contact": contact.pk, **audit.snapshot(contact, CONTACT_FIELDS)}
            self.entry(action="members.contact_added", member=member, changes=audit.diff({}, snapshot))
        return len(pairs)

    def flush_audit(self) -> None:
        AuditEntry.objects.bulk_create(self.audit)
        self.audit = []


def apply(member_import: MemberImport, *, by: User) -> MemberImport:
    """Writes the checked file: rows with errors are skipped and listed; SIRENs are re-checked in each batch."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    member_import.refresh_from_db()
    try:
        table, checker, _ignored = _open(member_import)
        writer = _Writer(member_import=member_import, by=by, checker=checker)
        tally, created, updated, contacts = Tally(), 0, 0, 0
        for batch in _batches(data_rows(table), BATCH):
            drafts = [checker.convert(row, cells) for row, cells in batch]
            with transaction.atomic():
                existing, on_file = _existing((d.siren for d in drafts), lock=True)
                for draft in drafts:
                    checker.check(draft, existing.get(draft.siren), on_file)
                writer.insert([d for d in drafts if d.action == CREATE])
                writer.update([d for d in drafts if d.action == UPDATE_ROW])
                contacts += writer.contacts(drafts)
                writer.flush_audit()
            created += sum(d.action == CREATE for d in drafts)
            updated += sum(d.action == UPDATE_ROW for d in drafts)
            tally.add(drafts)
            _progress(member_import, tally.rows)
    except ImportFileError as exc:
        return fail(member_import, exc.message)
    member_import.refresh_from_db(fields=["report"])
    member_import.status = MemberImport.Status.DONE
    member_import.processed_rows = tally.rows
    member_import.total_rows = tally.rows
    member_import.finished_at = timezone.now()
    member_import.report = {
        **member_import.report,
        "stage": "apply",
        "created": created,
        "updated": updated,
        "unchanged": tally.unchanged,
        "skipped": tally.invalid,
        "refused": tally.refused,
        "contacts_added": contacts,
        "errors": tally.errors,
        "applied_by": by.email,
    }
    member_import.save(update_fields=["status", "processed_rows", "total_rows", "finished_at", "report"])
    return member_import


# --- Services called by the views ----------------------------------------------


@transaction.atomic
def start_import(*, by: User, upload: UploadedFile, on_duplicate: str) -> MemberImport:
    """Stores the file and queues its check (after commit)."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    if on_duplicate not in (UPDATE, REFUSE):
        raise ValueError(on_duplicate)
    member_import = MemberImport.objects.create(
        file=upload,
        original_name=Path(upload.name or "import").name[:200],
        on_duplicate=on_duplicate,
        created_by=by,
        status=MemberImport.Status.CHECKING,
    )
    audit.record(
        actor=by,
        action="members.import_started",
        obj=member_import,
        changes={"original_name": [None, member_import.original_name], "on_duplicate": [None, on_duplicate]},
    )
    language = translation.get_language() or "fr"
    transaction.on_commit(lambda: _queue("check_member_import", member_import.pk, language))
    return member_import


@transaction.atomic
def confirm_import(*, by: User, member_import: MemberImport) -> bool:
    """Queues the apply of a checked import, once: False when it was not (or no longer) waiting for confirmation."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    started = MemberImport.objects.filter(pk=member_import.pk, status=MemberImport.Status.CHECKED).update(
        status=MemberImport.Status.IMPORTING, processed_rows=0
    )
    if not started:
        return False
    audit.record(
        actor=by,
        action="members.import_confirmed",
        obj=member_import,
        changes={"status": [MemberImport.Status.CHECKED.value, MemberImport.Status.IMPORTING.value]},
    )
    language = translation.get_language() or "fr"
    transaction.on_commit(lambda: _queue("apply_member_import", member_import.pk, language, by.pk))
    return True


def _queue(task_name: str, *args: Any) -> None:
    from mediation.members import import_tasks  # the tasks import this module

    getattr(import_tasks, task_name).delay(*args)


def imports() -> models.QuerySet[MemberImport]:
    """The past imports, newest first, without their (possibly long) reports."""
    from django.db.models.fields.json import KT

    return (
        MemberImport.objects.select_related("created_by")
        .defer("report")
        .annotate(created_count=KT("report__created"), updated_count=KT("report__updated"))
        .order_by("-created_at", "-pk")
    )

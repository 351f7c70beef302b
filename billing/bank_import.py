"""Bank statements: read a bank's CSV export, match its credits to invoices, record the payments staff confirm.

Reading. French banks export `;`-separated files (sometimes tabs or commas),
in UTF-8 or Windows-1252, with a few lines about the account before the
header, dates as dd/mm/yyyy and amounts with a decimal comma, either in one
signed "Montant" column or in "Débit" and "Crédit" columns. The header is the
first of the first lines that names a date, a label and an amount (or a
credit) column; every label-like column (libellé, détail, référence…) is
joined into the line's label, since banks put the payer's reference in
either. A row that cannot be read is reported with its line number and the
whole file is refused: a bank's export is regular, so a bad row means a
wrong file rather than a typo to skip. Lines without an amount, or with a
caption where the date should be ("Solde au 30/11/2026"), are skipped.

Matching. Only credits (money received) are kept. A credit whose label
carries an invoice number (FA-2026-000042, or FA2026000042 as some banks
squeeze it) whose balance equals the amount is *matched*; one that has the
number only, or only the amount of exactly one open invoice, is *to check*;
anything else is *unmatched*. Staff record the matched ones in one click,
pick an invoice for the others, or ignore a line.

Duplicates. Each line has a fingerprint (date, amount, label, and its rank
among identical lines of the file): a line already imported, from this file
or an overlapping statement, is not stored again, so re-importing a file
proposes nothing new. Imports of a firm are serialised by an advisory lock.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from accounts.permissions import Perm, ensure_perm
from billing import services
from billing.errors import BillingError
from billing.models import BankLine, BankStatement, Invoice, Payment, Series
from core import audit
from core.money import format_euros, parse_euros
from mediation.members.bulk_import import normalize_header

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
HEADER_SCAN = 30  # lines before the header (account number, period…) that banks add
ERRORS_SHOWN = 20
DELIMITERS = (";", "\t", ",")
BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff")
OPEN = (Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID)
S = BankLine.Status

CAPTION = re.compile(r"^[^\W\d_]")  # starts with a letter: a caption where a date was expected
DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d-%m-%y")
# An invoice number in a label: <prefix>-<year>-<6 digits>, separators optional or changed by the bank.
# A credit note's number (…-AV-2026-000003) is caught with its "AV" so that it is not read as an invoice's.
REFERENCE = re.compile(r"(AV[\s\-_/.]*)?(?<![0-9])(20\d\d)[\s\-_/.]*(\d{6})(?![0-9])", re.IGNORECASE)


class BankFileError(Exception):
    """The statement is refused as a whole; `errors` are French messages (the first of them when rows are bad)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(errors[0] if errors else "")
        self.errors = errors


@dataclass(frozen=True)
class ParsedLine:
    row: int  # the line number in the file, as a text editor shows it
    booked_on: datetime.date
    label: str
    amount_cents: int  # positive for a credit, negative for a debit


@dataclass(frozen=True)
class Columns:
    date: int
    labels: tuple[int, ...]
    amount: int | None = None
    debit: int | None = None
    credit: int | None = None


# --- Reading ---------------------------------------------------------------------------------------------------

LABEL_WORDS = ("libelle", "description", "detail", "intitule", "motif", "reference", "information", "complement")


def _column_kind(header: str) -> str | None:
    name = normalize_header(header)
    if not name:
        return None
    words = name.split()
    if words[0] == "date":
        # The booking date is the statement's; a value date is a fallback.
        return "value_date" if "valeur" in words else "date"
    if "debit" in words:
        return "debit"
    if "credit" in words:
        return "credit"
    if words[0] in ("montant", "amount", "somme"):
        return "amount"
    if words[0] in LABEL_WORDS or name in ("operation", "nature de l operation", "label", "intitule operation"):
        return "label"
    return None


def find_columns(header: list[str]) -> Columns | None:
    """The statement's columns when `header` names a date, a label and an amount (or credit) column."""
    found: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        kind = _column_kind(cell)
        if kind:
            found.setdefault(kind, []).append(index)
    dates = found.get("date") or found.get("value_date")
    labels = found.get("label")
    if not dates or not labels:
        return None
    amount, debit, credit = (found.get(kind, [None])[0] for kind in ("amount", "debit", "credit"))
    if amount is None and credit is None:
        return None
    return Columns(date=dates[0], labels=tuple(labels), amount=amount, debit=debit, credit=credit)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")  # what most French banks' exports are
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _refuse_binary(data: bytes, name: str) -> None:
    if not data.strip():
        raise BankFileError([_("Le fichier est vide.")])
    if data.startswith(BINARY_MAGIC) or b"\x00" in data[:4096]:
        raise BankFileError(
            [
                _(
                    "« %(name)s » n'est pas un fichier CSV. Exportez le relevé depuis l'espace de votre banque au "
                    "format CSV (texte séparé par des points-virgules)."
                )
                % {"name": name}
            ]
        )


def _header(text: str) -> tuple[str, int, Columns]:
    """(delimiter, header's line index, columns): the first delimiter whose first lines hold a header."""
    head = text.splitlines()[:HEADER_SCAN]
    for delimiter in DELIMITERS:
        for index, cells in enumerate(csv.reader(head, delimiter=delimiter)):
            columns = find_columns(cells)
            if columns is not None:
                return delimiter, index, columns
    raise BankFileError(
        [
            _(
                "Colonnes introuvables : le relevé doit avoir une ligne d'en-tête avec une date, un libellé et un "
                "montant (ou des colonnes « Débit » et « Crédit »)."
            )
        ]
    )


def parse_date(value: str) -> datetime.date | None:
    value = value.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, pattern).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    return None


def parse_signed_cents(value: str) -> int | None:
    """ "1 234,56", "-12,50", "+3,00 €", "(12,50)", "12,50-" → signed cents; "" → None; ValueError otherwise."""
    text = re.sub(r"[\s\u00a0\u202f]", "", value or "")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        text, negative = text[1:-1], True
    if text.startswith(("-", "+")):
        negative, text = text[0] == "-", text[1:]
    elif text.endswith("-"):
        negative, text = True, text[:-1]
    cents = parse_euros(text)
    if cents is None:
        return None
    return -cents if negative else cents


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _amount(cells: list[str], columns: Columns) -> int | None:
    if columns.amount is not None:
        return parse_signed_cents(_cell(cells, columns.amount))
    credit = parse_signed_cents(_cell(cells, columns.credit))
    debit = parse_signed_cents(_cell(cells, columns.debit))
    if credit is None and debit is None:
        return None
    return abs(credit or 0) - abs(debit or 0)


def parse_statement(data: bytes, name: str = "") -> list[ParsedLine]:
    """Every operation of a bank statement CSV; raises BankFileError (French messages) for a bad file."""
    if len(data) > MAX_BYTES:
        raise BankFileError(
            [_("Ce fichier pèse plus de %(max)s Mo : exportez une période plus courte.") % {"max": MAX_BYTES // 2**20}]
        )
    _refuse_binary(data, name)
    text = _decode(data)
    delimiter, header_index, columns = _header(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[ParsedLine] = []
    errors: list[str] = []
    try:
        for index, cells in enumerate(reader):
            if index <= header_index or not any(cell.strip() for cell in cells):
                continue
            line = _read_row(reader.line_num, cells, columns, errors)
            if line is not None:
                lines.append(line)
            if len(lines) > MAX_ROWS:
                raise BankFileError(
                    [
                        _("Le relevé compte plus de %(max)s opérations : exportez une période plus courte.")
                        % {"max": MAX_ROWS}
                    ]
                )
    except csv.Error:
        raise BankFileError(
            [_("Le fichier CSV est illisible vers la ligne %(row)s.") % {"row": reader.line_num}]
        ) from None
    if errors:
        shown = errors[:ERRORS_SHOWN]
        if len(errors) > ERRORS_SHOWN:
            shown.append(_("… et %(n)s autres lignes en erreur.") % {"n": len(errors) - ERRORS_SHOWN})
        raise BankFileError(shown)
    if not lines:
        raise BankFileError([_("Le relevé ne contient aucune opération.")])
    return lines


def _amount_cells(cells: list[str], columns: Columns) -> bool:
    return any(_cell(cells, i) for i in (columns.amount, columns.debit, columns.credit))


def _read_row(row: int, cells: list[str], columns: Columns, errors: list[str]) -> ParsedLine | None:
    """The operation on a row, or None: nothing to read (a caption, a zero amount) or errors appended."""
    raw_date = _cell(cells, columns.date)
    booked_on = parse_date(raw_date)
    if booked_on is None and (not _amount_cells(cells, columns) or CAPTION.match(raw_date)):
        return None  # a caption ("Solde au 30/11/2026", "Total des opérations"…): not an operation
    problems: list[str] = []
    if booked_on is None:
        problems.append(
            _("Ligne %(row)s : date « %(value)s » illisible (attendu : jj/mm/aaaa).")
            % {"row": row, "value": raw_date[:20]}
        )
    try:
        cents = _amount(cells, columns)
    except ValueError:
        raw = " ".join(filter(None, (_cell(cells, i) for i in (columns.amount, columns.debit, columns.credit))))
        problems.append(_("Ligne %(row)s : montant « %(value)s » illisible.") % {"row": row, "value": raw[:40]})
    else:
        if cents is None:
            problems.append(_("Ligne %(row)s : montant manquant.") % {"row": row})
    if problems:
        errors.extend(problems)
        return None
    assert booked_on is not None and cents is not None
    if cents == 0:
        return None
    label = " ".join(" ".join(_cell(cells, i) for i in columns.labels).split())
    return ParsedLine(row=row, booked_on=booked_on, label=label[:500], amount_cents=cents)


# --- Matching --------------------------------------------------------------------------------------------------


def invoice_references(label: str) -> list[tuple[int, int]]:
    """(year, number in the year) of every invoice number in `label`, in order, credit notes' left out."""
    found = [
        (int(match.group(2)), int(match.group(3))) for match in REFERENCE.finditer(label or "") if not match.group(1)
    ]
    return list(dict.fromkeys(found))


def _invoices_by_reference(references: set[tuple[int, int]]) -> dict[tuple[int, int], Invoice]:
    if not references:
        return {}
    condition = Q()
    for year, sequence in references:
        condition |= Q(issue_date__year=year, sequence=sequence)
    invoices = Invoice.objects.filter(condition, kind=Invoice.Kind.INVOICE, series=Series.INVOICE).select_related(
        "member"
    )
    assert all(invoice.issue_date is not None for invoice in invoices)
    return {(invoice.issue_date.year, invoice.sequence or 0): invoice for invoice in invoices}  # type: ignore[union-attr]


def _open_invoices_by_balance(amounts: set[int]) -> dict[int, list[int]]:
    """{balance: ids of the open invoices with that balance} for the amounts received."""
    by_balance: dict[int, list[int]] = {}
    if not amounts:
        return by_balance
    rows = (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN)
        .annotate(balance=F("gross_cents") - F("paid_cents") - F("credited_cents"))
        .filter(balance__in=amounts)
        .order_by("due_date", "pk")
        .values_list("pk", "balance")
    )
    for pk, balance in rows.iterator(chunk_size=2000):
        by_balance.setdefault(balance, []).append(pk)
    return by_balance


@dataclass(frozen=True)
class Match:
    status: str
    invoice_id: int | None


def match_lines(lines: list[tuple[str, int]]) -> list[Match]:
    """A proposal for each (label, amount) credit, in order; an invoice is proposed as matched once."""
    references = [invoice_references(label) for label, _amount in lines]
    by_reference = _invoices_by_reference({ref for refs in references for ref in refs})
    by_balance = _open_invoices_by_balance({amount for _label, amount in lines})
    claimed: set[int] = set()
    matches: list[Match] = []
    for (_label, cents), refs in zip(lines, references, strict=True):
        found = [by_reference[ref] for ref in refs if ref in by_reference]
        exact = [invoice for invoice in found if invoice.balance_cents == cents and invoice.pk not in claimed]
        if exact:
            claimed.add(exact[0].pk)
            matches.append(Match(S.MATCHED, exact[0].pk))
        elif found:
            payable = [invoice for invoice in found if invoice.balance_cents > 0] or found
            matches.append(Match(S.AMBIGUOUS, payable[0].pk))
        else:
            same_amount = [pk for pk in by_balance.get(cents, []) if pk not in claimed]
            if len(same_amount) == 1:
                matches.append(Match(S.AMBIGUOUS, same_amount[0]))
            elif same_amount:
                matches.append(Match(S.AMBIGUOUS, None))  # several invoices of that amount: staff choose
            else:
                matches.append(Match(S.UNMATCHED, None))
    return matches


def fingerprints(lines: list[ParsedLine]) -> list[str]:
    """One per line: date, amount, label and its rank among the file's identical lines (two equal transfers)."""
    seen: dict[tuple[str, int, str], int] = {}
    result = []
    for line in lines:
        key = (line.booked_on.isoformat(), line.amount_cents, " ".join(line.label.upper().split()))
        seen[key] = seen.get(key, 0) + 1
        result.append(hashlib.sha256(f"{key[0]}|{key[1]}|{key[2]}|{seen[key]}".encode()).hexdigest())
    return result


def explain(line: BankLine) -> str:
    """Why a line is proposed the way it is, in French, for the review screen."""
    invoice = line.invoice
    if line.status == S.RECORDED:
        return _("Paiement enregistré.")
    if line.status == S.IGNORED:
        return _("Ligne ignorée.")
    if invoice is None:
        if line.status == S.AMBIGUOUS:
            return _("Plusieurs factures ont ce reste à payer : choisissez-la.")
        return _("Aucune facture trouvée (ni numéro dans le libellé, ni reste à payer de ce montant).")
    balance = invoice.balance_cents
    if balance <= 0:
        return _("La facture %(number)s est déjà soldée.") % {"number": invoice.number}
    referenced = any(
        (year, sequence) == (invoice.issue_date.year, invoice.sequence)
        for year, sequence in invoice_references(line.label)
        if invoice.issue_date is not None
    )
    if referenced and balance == line.amount_cents:
        return _("Le numéro de facture et le montant concordent.")
    if referenced:
        return _("Numéro de facture trouvé, mais le montant diffère du reste à payer (%(balance)s).") % {
            "balance": format_euros(balance)
        }
    return _("Montant égal au reste à payer, mais le numéro de facture est absent du libellé.")


# --- Services --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    statement: BankStatement | None
    credits: int  # credits in the file
    duplicates: int  # of which already imported
    debits: int  # debits in the file, not kept
    matched: int = 0
    to_check: int = 0
    unmatched: int = 0


def _lock_imports() -> None:
    """Serialises the firm's imports (two uploads of one file must not both store its lines)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.billing.bank_import'))")


@transaction.atomic
def import_statement(*, by: Any, data: bytes, filename: str) -> ImportResult:
    """Reads a statement, stores its new credits with a proposed invoice each; None statement when none is new."""
    ensure_perm(by, Perm.BILLING_EDIT)
    parsed = parse_statement(data, filename)
    credits = [line for line in parsed if line.amount_cents > 0]
    debits = len(parsed) - len(credits)
    _lock_imports()
    prints = fingerprints(credits)
    known = set(BankLine.objects.filter(fingerprint__in=prints).values_list("fingerprint", flat=True))
    fresh = [(line, print_) for line, print_ in zip(credits, prints, strict=True) if print_ not in known]
    if not fresh:
        return ImportResult(statement=None, credits=len(credits), duplicates=len(credits), debits=debits)
    statement = BankStatement.objects.create(
        filename=(filename or "releve.csv")[:200], uploaded_by=by if getattr(by, "is_authenticated", False) else None
    )
    matches = match_lines([(line.label, line.amount_cents) for line, _print in fresh])
    BankLine.objects.bulk_create(
        BankLine(
            statement=statement,
            row=line.row,
            booked_on=line.booked_on,
            label=line.label,
            amount_cents=line.amount_cents,
            invoice_id=match.invoice_id,
            status=match.status,
            fingerprint=print_,
        )
        for (line, print_), match in zip(fresh, matches, strict=True)
    )
    counts = {status: sum(1 for match in matches if match.status == status) for status in S.values}
    audit.record(
        actor=by,
        action="billing.bank_statement_imported",
        obj=statement,
        changes={
            "lines": [None, len(fresh)],
            "duplicates": [None, len(credits) - len(fresh)],
            "matched": [None, counts[S.MATCHED]],
        },
    )
    return ImportResult(
        statement=statement,
        credits=len(credits),
        duplicates=len(credits) - len(fresh),
        debits=debits,
        matched=counts[S.MATCHED],
        to_check=counts[S.AMBIGUOUS],
        unmatched=counts[S.UNMATCHED],
    )


def _locked(line: BankLine) -> BankLine:
    return BankLine.objects.select_for_update().get(pk=line.pk)


@transaction.atomic
def record_line(*, by: Any, line: BankLine, invoice: Invoice) -> Payment:
    """Records the line's credit as a transfer paying `invoice` (refused above its balance, or twice)."""
    ensure_perm(by, Perm.BILLING_EDIT)
    line = _locked(line)
    if line.status == S.RECORDED or Payment.objects.filter(bank_line=line).exists():
        raise BillingError(_("Le paiement de cette ligne est déjà enregistré."), "already_recorded")
    if line.amount_cents <= 0:
        raise BillingError(_("Seul un crédit paie une facture."), "not_a_credit")
    payment = services.record_payment(
        by=by,
        invoice=invoice,
        amount_cents=line.amount_cents,
        method=Payment.Method.TRANSFER,
        received_on=line.booked_on,
        reference=line.label,
        bank_line=line,
    )
    line.invoice, line.status = invoice, S.RECORDED
    line.save(update_fields=["invoice", "status"])
    return payment


@dataclass
class ConfirmResult:
    recorded: list[BankLine] = field(default_factory=list)
    errors: list[tuple[BankLine, str]] = field(default_factory=list)


def confirm_matched(*, by: Any, statement: BankStatement) -> ConfirmResult:
    """Records every matched line of `statement`, each in its own transaction: a refused one leaves the others."""
    ensure_perm(by, Perm.BILLING_EDIT)
    result = ConfirmResult()
    lines = statement.lines.filter(status=S.MATCHED, invoice__isnull=False).select_related("invoice").order_by("row")
    for line in lines:
        assert line.invoice is not None
        try:
            record_line(by=by, line=line, invoice=line.invoice)
        except BillingError as exc:
            result.errors.append((line, exc.message))
        else:
            result.recorded.append(line)
    return result


@transaction.atomic
def ignore_line(*, by: Any, line: BankLine) -> BankLine:
    ensure_perm(by, Perm.BILLING_EDIT)
    line = _locked(line)
    if line.status == S.RECORDED:
        raise BillingError(_("Le paiement de cette ligne est enregistré : elle ne peut plus être ignorée."), "recorded")
    before = line.status
    line.status = S.IGNORED
    line.save(update_fields=["status"])
    audit.record(actor=by, action="billing.bank_line_ignored", obj=line, changes={"status": [before, line.status]})
    return line


@transaction.atomic
def restore_line(*, by: Any, line: BankLine) -> BankLine:
    """An ignored line is proposed again, matched against today's invoices."""
    ensure_perm(by, Perm.BILLING_EDIT)
    line = _locked(line)
    if line.status != S.IGNORED:
        raise BillingError(_("Cette ligne n'est pas ignorée."), "not_ignored")
    match = match_lines([(line.label, line.amount_cents)])[0]
    line.status, line.invoice_id = match.status, match.invoice_id
    line.save(update_fields=["status", "invoice"])
    audit.record(actor=by, action="billing.bank_line_restored", obj=line, changes={"status": [S.IGNORED, line.status]})
    return line


def invoice_by_number(text: str) -> Invoice | None:
    """The invoice staff typed (FA-2026-000042, or as a bank squeezes it: FA2026000042)."""
    text = (text or "").strip()
    if not text or len(text) > 60:
        return None
    invoice = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, number__iexact=text).first()
    if invoice is None:
        references = invoice_references(text)
        if len(references) == 1:
            invoice = _invoices_by_reference(set(references)).get(references[0])
    return invoice

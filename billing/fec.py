"""The FEC (fichier des écritures comptables, LPF art. A47 A-1) of a period, streamed.

Two journals, from the firm's `BillingSettings`:

- sales (`VE`): one entry per issued invoice, dated its issue date: the
  customer account (411, with the member's auxiliary account) is debited
  with the total including VAT; each sales account (the line's account, or
  the default 706) is credited with its lines' net total, and the VAT
  account (44571) with the VAT of each rate, computed as on the invoice
  (per rate on the sum of the lines). A credit note is the same entry
  reversed. A negative amount (a discount line) moves to the other side.
- bank (`BQ`): one entry per payment received, dated its reception: the
  bank account (512) is debited, the member's customer account credited.

Every entry balances; `EcritureNum` is `<journal><000001>`, continuous per
journal in date order. Lettering: the customer lines of an invoice settled
by the end of the period (its payments and credit notes add up to its
total) share a code derived from the invoice (EcritureLet) and the date it
was settled (DateLet).

The file is tab-separated, one header line then one line per account line,
dates YYYYMMDD, amounts with a comma and two decimals, named
`<SIREN>FEC<YYYYMMDD>.txt` (the period's last day). Rows are read through
server-side cursors (`iterator()`) and written out in batches: memory stays
flat whatever the period's size.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Max, OuterRef, Subquery, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from billing.models import BillingSettings, Invoice, InvoiceLine, Payment
from billing.services import round_cents

COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
ENCODINGS = ("utf-8", "iso-8859-15")
CHUNK = 2000
BATCH_BYTES = 128 * 1024
# Account labels (the file is for the French tax administration: French, whatever the user's language).
SALES_JOURNAL = "Ventes"
BANK_JOURNAL = "Banque"
CUSTOMERS = "Clients"
SALES = "Prestations de services"
VAT = "TVA collectée"
BANK = "Banque"
METHODS: dict[str, str] = {
    Payment.Method.CARD: "carte",
    Payment.Method.SEPA_DEBIT: "prélèvement SEPA",
    Payment.Method.TRANSFER: "virement",
    Payment.Method.CHEQUE: "chèque",
    Payment.Method.OTHER: "autre",
}
SETTLED = (Invoice.Status.PAID, Invoice.Status.CREDITED)
_ISSUED = [status for status in Invoice.Status.values if status != Invoice.Status.DRAFT]


def filename(siren: str, end: datetime.date) -> str:
    return f"{siren}FEC{end:%Y%m%d}.txt"


def amount(cents: int) -> str:
    """12345 → "123,45" (the FEC's decimal comma, no thousands separator)."""
    whole, rest = divmod(int(cents), 100)
    return f"{whole},{rest:02d}"


def fec_date(value: datetime.date | None) -> str:
    return f"{value:%Y%m%d}" if value else ""


def text(value: Any, limit: int = 200) -> str:
    """A field without the separators (tab, line breaks) nor surrounding spaces."""
    return " ".join(str(value or "").split())[:limit]


def letter_code(invoice_id: int) -> str:
    """A lettering code of at least three capital letters, unique per invoice (AAA, AAB, … then AAAA…)."""
    letters = ""
    n = invoice_id
    while True:
        n, digit = divmod(n, 26)
        letters = chr(ord("A") + digit) + letters
        if n == 0:
            break
    return letters.rjust(3, "A")


def auxiliary_account(config: BillingSettings, member_id: int) -> str:
    """The member's customer sub-account: the customers account's root then its stable id (411 → 411000042)."""
    root = config.account_customers.rstrip("0") or config.account_customers
    return f"{root}{member_id:06d}"


def _settled_on(path: str) -> Greatest:
    """When the invoice at `path` got its last payment or credit note (its settlement date once settled)."""
    last_payment = (
        Payment.objects.filter(invoice_id=OuterRef(path))
        .order_by()
        .values("invoice_id")
        .annotate(last=Max("received_on"))
        .values("last")
    )
    last_credit = (
        Invoice.objects.filter(credited_invoice_id=OuterRef(path), kind=Invoice.Kind.CREDIT_NOTE)
        .exclude(status=Invoice.Status.DRAFT)
        .order_by()
        .values("credited_invoice_id")
        .annotate(last=Max("issue_date"))
        .values("last")
    )
    # PostgreSQL's GREATEST ignores NULLs: an invoice with only payments or only credit notes has a date.
    return Greatest(Subquery(last_payment), Subquery(last_credit))


@dataclass(frozen=True)
class Lettering:
    code: str
    date: str


def lettering(
    *, invoice_id: int, status: str, gross: int, paid: int, credited: int, settled_on: Any, end: datetime.date
) -> Lettering | None:
    """The lettering of an invoice's customer lines when it was settled exactly by `end`, else None."""
    if status not in SETTLED or paid + credited != gross or settled_on is None or settled_on > end:
        return None
    return Lettering(letter_code(invoice_id), fec_date(settled_on))


class Writer:
    """Numbers entries per journal and renders lines; the caller batches them."""

    def __init__(self, config: BillingSettings, encoding: str) -> None:
        self.config = config
        self.encoding = encoding
        self.numbers: dict[str, int] = {}

    def next_number(self, journal: str) -> str:
        self.numbers[journal] = self.numbers.get(journal, 0) + 1
        return f"{journal}{self.numbers[journal]:06d}"

    def line(self, fields: list[str]) -> bytes:
        return ("\t".join(fields) + "\r\n").encode(self.encoding, errors="replace")

    def encode_text(self, value: Any, limit: int = 200) -> str:
        cleaned = text(value, limit)
        if self.encoding == "utf-8":
            return cleaned
        # ISO 8859-15 lacks some letters (ł, ő…): fall back to the letter without its accent rather than "?".
        return "".join(
            char
            if _encodable(char, self.encoding)
            else unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode() or "?"
            for char in cleaned
        )


def _encodable(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Entry:
    """One balanced entry: its journal, date, piece, label and (account, aux, debit, credit, lettering) lines."""

    journal: str
    journal_label: str
    date: datetime.date
    piece: str
    piece_date: datetime.date
    label: str
    valid_date: datetime.date
    lines: tuple[tuple[str, str, str, str, int, Lettering | None], ...]


def _render(writer: Writer, entry: Entry) -> list[bytes]:
    """The entry's lines, or nothing when every amount is zero (an entry of zeros means nothing)."""
    lines = [line for line in entry.lines if line[4] != 0]
    if not lines:
        return []
    number = writer.next_number(entry.journal)
    rendered = []
    for account, account_label, aux, aux_label, signed, letter in lines:
        # `signed` > 0 is a debit, < 0 a credit.
        rendered.append(
            writer.line(
                [
                    writer.encode_text(entry.journal, 20),
                    writer.encode_text(entry.journal_label),
                    number,
                    fec_date(entry.date),
                    writer.encode_text(account, 20),
                    writer.encode_text(account_label),
                    writer.encode_text(aux, 20),
                    writer.encode_text(aux_label),
                    writer.encode_text(entry.piece, 40),
                    fec_date(entry.piece_date),
                    writer.encode_text(entry.label),
                    amount(signed) if signed > 0 else "0,00",
                    amount(-signed) if signed < 0 else "0,00",
                    letter.code if letter else "",
                    letter.date if letter else "",
                    fec_date(entry.valid_date),
                    "",
                    "",
                ]
            )
        )
    return rendered


def _valid_date(recorded: datetime.datetime | None, date: datetime.date) -> datetime.date:
    """When the entry was validated in the software: when it was recorded, never before its own date."""
    if recorded is None:
        return date
    return max(timezone.localdate(recorded), date)


def _document_lines(start: datetime.date, end: datetime.date) -> Iterator[tuple[int, str, Decimal, int]]:
    """(invoice id, sales account, VAT rate, net) of the period's documents, in the documents' order."""
    rows = (
        InvoiceLine.objects.filter(
            invoice__issue_date__gte=start, invoice__issue_date__lte=end, invoice__status__in=_ISSUED
        )
        .values("invoice_id", "account", "vat_rate")
        .annotate(net=Sum("net_cents"))
        .order_by("invoice__issue_date", "invoice__issued_at", "invoice_id", "account", "vat_rate")
        .values_list("invoice_id", "account", "vat_rate", "net")
    )
    yield from rows.iterator(chunk_size=CHUNK)


def sales_entries(config: BillingSettings, start: datetime.date, end: datetime.date) -> Iterator[Entry]:
    """One entry per invoice or credit note issued in the period, by issue date."""
    documents = (
        Invoice.objects.filter(issue_date__gte=start, issue_date__lte=end, status__in=_ISSUED)
        .annotate(
            settled_on=_settled_on("pk"),
            origin_settled_on=_settled_on("credited_invoice_id"),
        )
        .order_by("issue_date", "issued_at", "pk")
        .values_list(
            "pk",
            "kind",
            "number",
            "issue_date",
            "issued_at",
            "member_id",
            "member__legal_name",
            "net_cents",
            "vat_cents",
            "gross_cents",
            "paid_cents",
            "credited_cents",
            "status",
            "settled_on",
            "credited_invoice_id",
            "credited_invoice__number",
            "credited_invoice__status",
            "credited_invoice__gross_cents",
            "credited_invoice__paid_cents",
            "credited_invoice__credited_cents",
            "origin_settled_on",
        )
    )
    lines = _document_lines(start, end)
    pending = next(lines, None)
    for (
        pk,
        kind,
        number,
        issued,
        issued_at,
        member_id,
        member_name,
        net,
        vat,
        gross,
        paid,
        credited,
        status,
        settled_on,
        origin_id,
        origin_number,
        origin_status,
        origin_gross,
        origin_paid,
        origin_credited,
        origin_settled_on,
    ) in documents.iterator(chunk_size=CHUNK):
        assert issued is not None  # an issued document has its date (a check constraint)
        by_account: dict[str, int] = {}
        by_rate: dict[Decimal, int] = {}
        while pending is not None and pending[0] == pk:
            _id, account, rate, line_net = pending
            account = account or config.account_sales
            by_account[account] = by_account.get(account, 0) + int(line_net)
            by_rate[rate] = by_rate.get(rate, 0) + int(line_net)
            pending = next(lines, None)
        credit_note = kind == Invoice.Kind.CREDIT_NOTE
        if credit_note and origin_id is not None:
            letter = lettering(
                invoice_id=origin_id,
                status=origin_status,
                gross=origin_gross,
                paid=origin_paid,
                credited=origin_credited,
                settled_on=origin_settled_on,
                end=end,
            )
        else:
            letter = lettering(
                invoice_id=pk, status=status, gross=gross, paid=paid, credited=credited, settled_on=settled_on, end=end
            )
        sign = -1 if credit_note else 1  # an invoice debits the customer; a credit note credits it
        aux = auxiliary_account(config, member_id)
        entry_lines: list[tuple[str, str, str, str, int, Lettering | None]] = [
            (config.account_customers, CUSTOMERS, aux, member_name, sign * gross, letter)
        ]
        if sum(by_account.values()) != net:  # lines missing or changed: the issued totals are the legal ones
            by_account = {config.account_sales: net}
        entry_lines += [(account, SALES, "", "", -sign * base, None) for account, base in sorted(by_account.items())]
        entry_lines += _vat_lines(config, by_rate, vat, sign)
        label = f"Avoir {number} sur {origin_number}" if credit_note else f"Facture {number}"
        yield Entry(
            journal=config.journal_sales,
            journal_label=SALES_JOURNAL,
            date=issued,
            piece=number or "",
            piece_date=issued,
            label=f"{label} {member_name}",
            valid_date=_valid_date(issued_at, issued),
            lines=tuple(entry_lines),
        )


def _vat_lines(
    config: BillingSettings, bases: dict[Decimal, int], vat: int, sign: int
) -> list[tuple[str, str, str, str, int, Lettering | None]]:
    """The VAT of each rate as the invoice computed it; any difference with its frozen total goes to the main rate."""
    per_rate = {rate: round_cents(Decimal(base) * rate / 100) for rate, base in bases.items()}
    per_rate = {rate: value for rate, value in per_rate.items() if value}
    gap = vat - sum(per_rate.values())
    if gap:
        main = max(per_rate, key=lambda rate: abs(per_rate[rate]), default=Decimal("20.00"))
        per_rate[main] = per_rate.get(main, 0) + gap
    return [
        (config.account_vat, f"{VAT} {rate.normalize():f} %".replace(".", ","), "", "", -sign * value, None)
        for rate, value in sorted(per_rate.items(), reverse=True)
    ]


def bank_entries(config: BillingSettings, start: datetime.date, end: datetime.date) -> Iterator[Entry]:
    """One entry per payment received in the period, by date of reception."""
    payments = (
        Payment.objects.filter(received_on__gte=start, received_on__lte=end)
        .annotate(settled_on=_settled_on("invoice_id"))
        .order_by("received_on", "pk")
        .values_list(
            "received_on",
            "created_at",
            "amount_cents",
            "method",
            "reference",
            "invoice_id",
            "invoice__number",
            "invoice__member_id",
            "invoice__member__legal_name",
            "invoice__status",
            "invoice__gross_cents",
            "invoice__paid_cents",
            "invoice__credited_cents",
            "settled_on",
        )
    )
    for (
        received,
        created_at,
        paid_amount,
        method,
        reference,
        invoice_id,
        number,
        member_id,
        member_name,
        status,
        gross,
        paid,
        credited,
        settled_on,
    ) in payments.iterator(chunk_size=CHUNK):
        letter = lettering(
            invoice_id=invoice_id,
            status=status,
            gross=gross,
            paid=paid,
            credited=credited,
            settled_on=settled_on,
            end=end,
        )
        label = f"Règlement {number} {member_name} ({METHODS.get(method, method)})"
        if reference:
            label = f"{label} {reference}"
        yield Entry(
            journal=config.journal_bank,
            journal_label=BANK_JOURNAL,
            date=received,
            piece=number or "",
            piece_date=received,
            label=label,
            valid_date=_valid_date(created_at, received),
            lines=(
                (config.account_bank, BANK, "", "", paid_amount, None),
                (
                    config.account_customers,
                    CUSTOMERS,
                    auxiliary_account(config, member_id),
                    member_name,
                    -paid_amount,
                    letter,
                ),
            ),
        )


def chunks(
    *, config: BillingSettings, start: datetime.date, end: datetime.date, encoding: str = "utf-8"
) -> Iterator[bytes]:
    """The FEC file's bytes: the header line, the sales journal, then the bank journal, in batches."""
    if encoding not in ENCODINGS:
        raise ValueError(encoding)
    writer = Writer(config, encoding)
    buffer = [writer.line(list(COLUMNS))]
    size = len(buffer[0])
    for entries in (sales_entries(config, start, end), bank_entries(config, start, end)):
        for entry in entries:
            for line in _render(writer, entry):
                buffer.append(line)
                size += len(line)
            if size >= BATCH_BYTES:
                yield b"".join(buffer)
                buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)

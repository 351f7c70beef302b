"""Finance exports: invoices, credit notes, payments and aged receivables, as CSV and XLSX.

The CSV is for French Excel (UTF-8 with a BOM, `;`, comma decimals) and is
streamed; the XLSX is built in openpyxl's write-only mode into a temporary
file, amounts as numbers and dates as dates. Rows are read with
`values_list(...).iterator()` (a server-side cursor): a long export is never
held in memory, and no model instance is built per row. Text cells go
through the member export's formula guard; amounts and dates are typed, so a
negative amount is not mistaken for a formula.

Aged receivables are computed at a date from what was known then: payments
received and credit notes issued up to that date, not today's balances.
"""

from __future__ import annotations

import csv
import datetime
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from billing.models import Invoice, Payment
from core.exports import CHUNK, Echo, safe_cell

OPEN = (Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TEXT, MONEY, DATE, INT = "text", "money", "date", "int"


@dataclass(frozen=True)
class Column:
    label: Any  # lazy translation
    kind: str = TEXT


@dataclass(frozen=True)
class Sheet:
    """A table to export: its title (the XLSX sheet's name), its columns and a function giving its rows."""

    title: Any
    columns: tuple[Column, ...]
    rows: Callable[[], Iterable[Sequence[Any]]]


@dataclass(frozen=True)
class Period:
    """Export filters: a period (inclusive bounds, either may be open) and a status or a payment method."""

    start: datetime.date | None = None
    end: datetime.date | None = None
    status: str = ""
    method: str = ""


def cents_text(cents: int) -> str:
    """12345 → "123,45", -5 → "-0,05": a plain decimal number French spreadsheets read as one."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole},{rest:02d}"


def _choices(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    return {str(value): str(label) for value, label in choices}


# --- Invoices and credit notes --------------------------------------------------------------------------------

DOCUMENT_COLUMNS = (
    Column(_("Numéro")),
    Column(_("Type")),
    Column(_("Date d'émission"), DATE),
    Column(_("Échéance"), DATE),
    Column(_("Adhérent")),
    Column(_("SIREN")),
    Column(_("Total HT"), MONEY),
    Column(_("TVA"), MONEY),
    Column(_("Total TTC"), MONEY),
    Column(_("Payé"), MONEY),
    Column(_("Avoirs"), MONEY),
    Column(_("Reste à payer"), MONEY),
    Column(_("Statut")),
    Column(_("Jours de retard"), INT),
    Column(_("Facture d'origine")),
)
DOCUMENT_FIELDS = (
    "number",
    "kind",
    "issue_date",
    "due_date",
    "member__legal_name",
    "member__siren",
    "net_cents",
    "vat_cents",
    "gross_cents",
    "paid_cents",
    "credited_cents",
    "status",
    "credited_invoice__number",
)


def issued_documents(kind: str, period: Period, *, today: datetime.date | None = None) -> QuerySet[Invoice]:
    """Issued invoices (or credit notes) of the period by issue date, chronological; `status` may be "overdue"."""
    today = today or timezone.localdate()
    qs = Invoice.objects.filter(kind=kind).exclude(status=Invoice.Status.DRAFT)
    if period.start:
        qs = qs.filter(issue_date__gte=period.start)
    if period.end:
        qs = qs.filter(issue_date__lte=period.end)
    if period.status == "overdue":
        qs = qs.filter(status__in=OPEN, due_date__lt=today)
    elif period.status:
        qs = qs.filter(status=period.status)
    return qs.order_by("issue_date", "sequence", "pk")


def document_rows(queryset: QuerySet[Invoice], *, today: datetime.date | None = None) -> Iterator[list[Any]]:
    today = today or timezone.localdate()
    kinds = _choices(Invoice.Kind.choices)
    statuses = _choices(Invoice.Status.choices)
    for (
        number,
        kind,
        issued,
        due,
        name,
        siren,
        net,
        vat,
        gross,
        paid,
        credited,
        status,
        origin,
    ) in queryset.values_list(*DOCUMENT_FIELDS).iterator(chunk_size=CHUNK):
        invoice = kind == Invoice.Kind.INVOICE
        balance = max(gross - paid - credited, 0) if invoice else 0
        late = (today - due).days if invoice and status in OPEN and due and due < today and balance > 0 else 0
        yield [
            number,
            kinds.get(kind, kind),
            issued,
            due,
            name,
            siren,
            net,
            vat,
            gross,
            paid,
            credited,
            balance,
            statuses.get(status, status),
            late,
            origin or "",
        ]


def invoices_sheet(period: Period, *, kind: str = Invoice.Kind.INVOICE, today: datetime.date | None = None) -> Sheet:
    title = _("Factures") if kind == Invoice.Kind.INVOICE else _("Avoirs")
    today = today or timezone.localdate()  # the request's day, not the day the stream is read
    return Sheet(
        title, DOCUMENT_COLUMNS, lambda: document_rows(issued_documents(kind, period, today=today), today=today)
    )


# --- Payments --------------------------------------------------------------------------------------------------

PAYMENT_COLUMNS = (
    Column(_("Date de réception"), DATE),
    Column(_("Facture")),
    Column(_("Adhérent")),
    Column(_("SIREN")),
    Column(_("Moyen de paiement")),
    Column(_("Montant"), MONEY),
    Column(_("Référence")),
)


def payments(period: Period) -> QuerySet[Payment]:
    qs = Payment.objects.all()
    if period.start:
        qs = qs.filter(received_on__gte=period.start)
    if period.end:
        qs = qs.filter(received_on__lte=period.end)
    if period.method:
        qs = qs.filter(method=period.method)
    return qs.order_by("received_on", "pk")


def payment_rows(queryset: QuerySet[Payment]) -> Iterator[list[Any]]:
    methods = _choices(Payment.Method.choices)
    fields = (
        "received_on",
        "invoice__number",
        "invoice__member__legal_name",
        "invoice__member__siren",
        "method",
        "amount_cents",
        "reference",
    )
    for received, number, name, siren, method, amount, reference in queryset.values_list(*fields).iterator(
        chunk_size=CHUNK
    ):
        yield [received, number, name, siren, methods.get(method, method), amount, reference]


def payments_sheet(period: Period) -> Sheet:
    return Sheet(_("Paiements"), PAYMENT_COLUMNS, lambda: payment_rows(payments(period)))


# --- Aged receivables ------------------------------------------------------------------------------------------

BUCKETS = (
    ("not_due", _("Non échu")),
    ("d30", _("0 à 30 jours")),
    ("d60", _("31 à 60 jours")),
    ("d90", _("61 à 90 jours")),
    ("d90_plus", _("Plus de 90 jours")),
)


def bucket_of(days_past_due: int) -> str:
    """Where a balance falls: not yet due (due today or later), then by days past the due date."""
    if days_past_due <= 0:
        return "not_due"
    if days_past_due <= 30:
        return "d30"
    if days_past_due <= 60:
        return "d60"
    if days_past_due <= 90:
        return "d90"
    return "d90_plus"


@dataclass(frozen=True)
class AgedInvoice:
    member_id: int
    member_name: str
    siren: str
    number: str
    issue_date: datetime.date
    due_date: datetime.date
    days_past_due: int
    balance_cents: int

    @property
    def bucket(self) -> str:
        return bucket_of(self.days_past_due)


@dataclass
class _Buckets:
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys((key for key, _label in BUCKETS), 0))

    def amounts(self) -> list[int]:
        return [self.buckets[key] for key, _label in BUCKETS]

    @property
    def total_cents(self) -> int:
        return sum(self.buckets.values())


@dataclass
class AgedMember(_Buckets):
    member_id: int = 0
    member_name: str = ""
    siren: str = ""
    invoices: int = 0

    def add(self, line: AgedInvoice) -> None:
        self.invoices += 1
        self.buckets[line.bucket] += line.balance_cents


def aged_invoices(at: datetime.date) -> Iterator[AgedInvoice]:
    """Invoices issued by `at` with a balance at `at` (payments received and credit notes issued by then)."""
    paid = (
        Payment.objects.filter(invoice=OuterRef("pk"), received_on__lte=at)
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    credited = (
        Invoice.objects.filter(credited_invoice=OuterRef("pk"), kind=Invoice.Kind.CREDIT_NOTE, issue_date__lte=at)
        .exclude(status=Invoice.Status.DRAFT)
        .order_by()
        .values("credited_invoice")
        .annotate(total=Sum("gross_cents"))
        .values("total")
    )
    qs = (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, issue_date__lte=at)
        .exclude(status=Invoice.Status.DRAFT)
        .annotate(
            balance_at=F("gross_cents") - Coalesce(Subquery(paid), Value(0)) - Coalesce(Subquery(credited), Value(0))
        )
        .filter(balance_at__gt=0)
        .order_by("member__legal_name", "member_id", "due_date", "sequence", "pk")
    )
    fields = ("member_id", "member__legal_name", "member__siren", "number", "issue_date", "due_date", "balance_at")
    for member_id, name, siren, number, issued, due, balance in qs.values_list(*fields).iterator(chunk_size=CHUNK):
        due = due or issued
        yield AgedInvoice(member_id, name, siren, number, issued, due, (at - due).days, balance)


def aged_members(at: datetime.date) -> Iterator[AgedMember]:
    """The aged balance per member (invoices come ordered by member, so one member is held at a time)."""
    current: AgedMember | None = None
    for line in aged_invoices(at):
        if current is None or current.member_id != line.member_id:
            if current is not None:
                yield current
            current = AgedMember(member_id=line.member_id, member_name=line.member_name, siren=line.siren)
        current.add(line)
    if current is not None:
        yield current


@dataclass
class AgedTotals(_Buckets):
    invoices: int = 0
    members: int = 0

    def add(self, member: AgedMember) -> None:
        self.members += 1
        self.invoices += member.invoices
        for key, amount in member.buckets.items():
            self.buckets[key] += amount


def aged_summary(at: datetime.date, *, keep: int) -> tuple[list[AgedMember], AgedTotals]:
    """The first `keep` members (for a page) and the totals over all of them."""
    totals = AgedTotals()
    shown: list[AgedMember] = []
    for member in aged_members(at):
        totals.add(member)
        if len(shown) < keep:
            shown.append(member)
    return shown, totals


BUCKET_COLUMNS = tuple(Column(label, MONEY) for _key, label in BUCKETS)
AGED_MEMBER_COLUMNS = (
    Column(_("Adhérent")),
    Column(_("SIREN")),
    Column(_("Factures"), INT),
    *BUCKET_COLUMNS,
    Column(_("Total"), MONEY),
)
AGED_INVOICE_COLUMNS = (
    Column(_("Adhérent")),
    Column(_("SIREN")),
    Column(_("Facture")),
    Column(_("Date d'émission"), DATE),
    Column(_("Échéance"), DATE),
    Column(_("Jours de retard"), INT),
    *BUCKET_COLUMNS,
    Column(_("Reste dû"), MONEY),
)


def aged_member_rows(at: datetime.date) -> Iterator[list[Any]]:
    totals = AgedTotals()
    for member in aged_members(at):
        totals.add(member)
        yield [member.member_name, member.siren, member.invoices, *member.amounts(), member.total_cents]
    yield [str(_("Total")), "", totals.invoices, *totals.amounts(), totals.total_cents]


def aged_invoice_rows(at: datetime.date) -> Iterator[list[Any]]:
    totals = _Buckets()
    for line in aged_invoices(at):
        totals.buckets[line.bucket] += line.balance_cents
        amounts = [line.balance_cents if key == line.bucket else None for key, _label in BUCKETS]
        yield [
            line.member_name,
            line.siren,
            line.number,
            line.issue_date,
            line.due_date,
            max(line.days_past_due, 0),
            *amounts,
            line.balance_cents,
        ]
    yield [str(_("Total")), "", "", None, None, None, *totals.amounts(), totals.total_cents]


def aged_sheets(at: datetime.date) -> list[Sheet]:
    return [
        Sheet(_("Par adhérent"), AGED_MEMBER_COLUMNS, lambda: aged_member_rows(at)),
        Sheet(_("Par facture"), AGED_INVOICE_COLUMNS, lambda: aged_invoice_rows(at)),
    ]


# --- Writers ---------------------------------------------------------------------------------------------------


def _csv_cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        return cents_text(value)
    if kind == DATE:
        return value.isoformat()
    if kind == INT:
        return str(value)
    return safe_cell(value)


def csv_chunks(sheet: Sheet) -> Iterator[bytes]:
    """The sheet as CSV for French Excel, row by row (rows are batched into chunks of about 64 KB)."""
    writer = csv.writer(Echo(), delimiter=";", lineterminator="\r\n")
    kinds = [column.kind for column in sheet.columns]
    buffer: list[str] = ["\ufeff", writer.writerow([str(column.label) for column in sheet.columns])]
    size = 0
    for row in sheet.rows():
        line = writer.writerow([_csv_cell(kind, value) for kind, value in zip(kinds, row, strict=True)])
        buffer.append(line)
        size += len(line)
        if size > 65536:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _xlsx_cell(sheet: WriteOnlyWorksheet, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == MONEY:
        cell = WriteOnlyCell(sheet, value=Decimal(int(value)) / 100)
        cell.number_format = "#,##0.00"
        return cell
    if kind == DATE:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD/MM/YYYY"
        return cell
    if kind == INT:
        return value
    return safe_cell(value)


def xlsx_file(sheets: Sequence[Sheet]) -> IO[bytes]:
    """An XLSX workbook with one sheet per table (header row frozen), rewound, in a temporary file."""
    workbook = Workbook(write_only=True)
    for table in sheets:
        sheet = workbook.create_sheet(title=str(table.title)[:31])
        sheet.freeze_panes = "A2"
        kinds = [column.kind for column in table.columns]
        sheet.append([str(column.label) for column in table.columns])
        for row in table.rows():
            sheet.append([_xlsx_cell(sheet, kind, value) for kind, value in zip(kinds, row, strict=True)])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the FileResponse that sends it)
    workbook.save(handle)
    handle.seek(0)
    return handle

"""Every write of billing: the catalogue, drafts, issuing (gapless numbering), credit notes, payments.

Rules (DOMAIN.md, Money):
- money is integer cents; a line's net is quantity × unit price rounded half up
  to the cent; VAT is computed once per rate on the sum of the lines at that
  rate (EN 16931 BR-CO-17), so the PDF, the Factur-X XML and the FEC agree;
- an invoice is a draft until issued; issuing takes the next number of its
  series and year from `InvoiceCounter` with one `UPDATE … RETURNING` inside
  the issuing transaction: the row stays locked until commit, a rollback gives
  the number back, so numbers are unique, chronological and without gaps;
- an issued invoice never changes except its settlement; a mistake is
  corrected by a credit note (avoir, its own series) that references it;
- a membership invoice settled in full marks the term paid (coverage starts,
  a suspension for non-payment is lifted) through mediation's services.

Public services check the caller's permission (`by`); the `*_automatically`
variants are for the system (renewal run, per-case fee, Stripe webhooks).
Stripe calls are in `billing.payments`, never here.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Perm, ensure_perm
from billing import signals
from billing.errors import BillingError
from billing.models import (
    VAT_RATES,
    BillingSettings,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    Price,
    Product,
    Series,
    new_token,
)
from core import audit
from core.money import format_euros
from core.tokens import hash_token
from firm.selectors import firm_profile
from mediation.members import membership as memberships
from mediation.members.models import Contact, Member, Membership

logger = logging.getLogger(__name__)

S = Invoice.Status
CENT = Decimal(1)
MAX_LINES = 200
MAX_AMOUNT_CENTS = 10_000_000_00  # 10 million euros: a typo, not an invoice of a mediation firm
OPERATION_NATURE = "Prestation de services"
VAT_ON_DEBITS_TEXT = "Option pour le paiement de la taxe d'après les débits"


def billing_settings() -> BillingSettings:
    """The firm's billing settings (created with the defaults on first use)."""
    row = BillingSettings.objects.filter(pk=1).first()
    if row is None:
        row, _created = BillingSettings.objects.get_or_create(pk=1)
    return row


@transaction.atomic
def save_settings(*, by: Any, form: Any) -> BillingSettings:
    """Saves the billing settings form (a ModelForm on the singleton) with an audit row of what changed."""
    ensure_perm(by, Perm.BILLING_EDIT)
    names = [f.name for f in BillingSettings._meta.concrete_fields if f.name not in ("id", "updated_at")]
    before = audit.snapshot(BillingSettings.objects.select_for_update().get(pk=1), names)
    config = form.save()
    after = audit.snapshot(config, names)
    audit.record(actor=by, action="billing.settings_updated", obj=config, changes=audit.diff(before, after))
    return config


# --- Amounts ---------------------------------------------------------------------------------------


def round_cents(value: Decimal) -> int:
    return int(value.quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class VatLine:
    rate: Decimal
    base_cents: int
    vat_cents: int


@dataclass(frozen=True)
class Totals:
    net_cents: int
    vat_cents: int
    gross_cents: int
    breakdown: tuple[VatLine, ...]


def line_net(quantity: Decimal, unit_price_cents: int) -> int:
    return round_cents(Decimal(quantity) * Decimal(unit_price_cents))


def compute_totals(lines: Iterable[Any]) -> Totals:
    """Net, VAT per rate and gross of `lines` (InvoiceLine objects or cleaned dicts)."""
    bases: dict[Decimal, int] = {}
    for line in lines:
        values = line if isinstance(line, Mapping) else vars(line)
        rate = Decimal(values["vat_rate"]).quantize(Decimal("0.01"))
        bases[rate] = bases.get(rate, 0) + line_net(Decimal(values["quantity"]), int(values["unit_price_cents"]))
    breakdown = tuple(
        VatLine(rate=rate, base_cents=base, vat_cents=round_cents(Decimal(base) * rate / 100))
        for rate, base in sorted(bases.items(), reverse=True)
    )
    net = sum(v.base_cents for v in breakdown)
    vat = sum(v.vat_cents for v in breakdown)
    return Totals(net_cents=net, vat_cents=vat, gross_cents=net + vat, breakdown=breakdown)


def clean_lines(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Checked lines: label, quantity > 0 (2 decimals), unit price in cents (negative for a discount), VAT rate."""
    cleaned: list[dict[str, Any]] = []
    for n, line in enumerate(lines, start=1):
        if not isinstance(line, Mapping):
            raise BillingError(_("Ligne %(n)s : format invalide.") % {"n": n}, "invalid_lines")
        label = str(line.get("label") or "").strip()
        product = line.get("product")
        if isinstance(product, int | str) and str(product).isdigit():
            product = Product.objects.filter(pk=int(product)).first()
        if not label and isinstance(product, Product):
            label = product.name
        if not label:
            raise BillingError(_("Ligne %(n)s : la désignation est obligatoire.") % {"n": n}, "invalid_lines")
        try:
            quantity = Decimal(str(line.get("quantity", 1))).quantize(Decimal("0.01"))
            unit_price = int(line["unit_price_cents"])
            default_rate = product.vat_rate if isinstance(product, Product) else Decimal("20.00")
            rate = Decimal(str(line.get("vat_rate", default_rate))).quantize(Decimal("0.01"))
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise BillingError(
                _("Ligne %(n)s : quantité, prix ou taux de TVA invalide.") % {"n": n}, "invalid_lines"
            ) from exc
        if not quantity.is_finite() or quantity <= 0 or quantity > 100000:
            raise BillingError(_("Ligne %(n)s : la quantité doit être positive.") % {"n": n}, "invalid_lines")
        if abs(unit_price) > MAX_AMOUNT_CENTS:
            raise BillingError(_("Ligne %(n)s : montant hors limites.") % {"n": n}, "invalid_lines")
        if rate not in VAT_RATES:
            raise BillingError(
                _("Ligne %(n)s : taux de TVA %(rate)s %% inconnu (20, 10, 5,5, 2,1 ou 0).") % {"n": n, "rate": rate},
                "invalid_vat_rate",
            )
        account = str(line.get("account") or (product.account if isinstance(product, Product) else "") or "")
        cleaned.append(
            {
                "label": label[:300],
                "quantity": quantity,
                "unit_price_cents": unit_price,
                "vat_rate": rate,
                "product": product if isinstance(product, Product) else None,
                "account": account[:20],
            }
        )
    if not cleaned:
        raise BillingError(_("Une facture a au moins une ligne."), "invalid_lines")
    if len(cleaned) > MAX_LINES:
        raise BillingError(_("Une facture a au plus %(n)s lignes.") % {"n": MAX_LINES}, "invalid_lines")
    totals = compute_totals(cleaned)
    if totals.gross_cents < 0:
        raise BillingError(_("Le total ne peut pas être négatif : émettez un avoir."), "negative_total")
    if totals.gross_cents > MAX_AMOUNT_CENTS:
        raise BillingError(_("Le total est hors limites."), "invalid_lines")
    return cleaned


def _write_lines(invoice: Invoice, lines: list[dict[str, Any]]) -> None:
    InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=n,
            product=line["product"],
            label=line["label"],
            quantity=line["quantity"],
            unit_price_cents=line["unit_price_cents"],
            vat_rate=line["vat_rate"],
            net_cents=line_net(line["quantity"], line["unit_price_cents"]),
            account=line["account"],
        )
        for n, line in enumerate(lines, start=1)
    )
    totals = compute_totals(lines)
    invoice.net_cents, invoice.vat_cents, invoice.gross_cents = totals.net_cents, totals.vat_cents, totals.gross_cents


# --- Catalogue ---------------------------------------------------------------------------------------


def price_of(*, product: Product, on: datetime.date, group_id: int | None = None) -> Price | None:
    """The product's price in force on `on`: the group's own price when it has one, else the list price."""
    prices = Price.objects.filter(product=product, valid_from__lte=on).exclude(valid_until__lt=on)
    if group_id is not None:
        own = prices.filter(group_id=group_id).order_by("-valid_from", "-pk").first()
        if own is not None:
            return own
    return prices.filter(group__isnull=True).order_by("-valid_from", "-pk").first()


def product_of_kind(kind: str) -> Product | None:
    return Product.objects.filter(kind=kind, is_active=True).order_by("pk").first()


@transaction.atomic
def save_product(*, by: Any, product: Product) -> Product:
    """Creates or updates a catalogue product (validated by the model)."""
    ensure_perm(by, Perm.BILLING_EDIT)
    before = audit.snapshot(Product.objects.get(pk=product.pk), ("name", "vat_rate", "account")) if product.pk else {}
    product.full_clean()
    product.save()
    after = audit.snapshot(product, ("name", "vat_rate", "account"))
    audit.record(actor=by, action="billing.product_saved", obj=product, changes=audit.diff(before, after))
    return product


@transaction.atomic
def add_price(
    *,
    by: Any,
    product: Product,
    unit_price_cents: int,
    valid_from: datetime.date,
    valid_until: datetime.date | None = None,
    group: Any = None,
) -> Price:
    """A new price of `product` from `valid_from`; the previous open price of the same audience ends the day before."""
    ensure_perm(by, Perm.BILLING_EDIT)
    if unit_price_cents < 0 or unit_price_cents > MAX_AMOUNT_CENTS:
        raise BillingError(_("Le prix doit être positif."), "invalid_price", field="unit_price_cents")
    if valid_until is not None and valid_until < valid_from:
        raise BillingError(_("La fin de validité précède son début."), "invalid_dates", field="valid_until")
    Price.objects.filter(product=product, group=group, valid_until__isnull=True, valid_from__lt=valid_from).update(
        valid_until=valid_from - datetime.timedelta(days=1)
    )
    price = Price.objects.create(
        product=product, group=group, unit_price_cents=unit_price_cents, valid_from=valid_from, valid_until=valid_until
    )
    audit.record(
        actor=by,
        action="billing.price_added",
        obj=product,
        changes={"price": [None, unit_price_cents], "valid_from": [None, valid_from.isoformat()]},
    )
    return price


# --- Drafts ------------------------------------------------------------------------------------------


def new_system_draft(
    *,
    by: Any = None,
    member: Member,
    lines: Iterable[Mapping[str, Any]],
    purpose: str = Invoice.Purpose.OTHER,
    membership: Membership | None = None,
    case_id: int | None = None,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    notes: str = "",
) -> Invoice:
    cleaned = clean_lines(lines)
    if period_start and period_end and period_end < period_start:
        raise BillingError(_("La fin de la période précède son début."), "invalid_dates", field="period_end")
    invoice = Invoice.objects.create(
        member=member,
        purpose=purpose,
        membership=membership,
        case_id=case_id,
        period_start=period_start,
        period_end=period_end,
        notes=(notes or "").strip()[:2000],
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    _write_lines(invoice, cleaned)
    invoice.save(update_fields=["net_cents", "vat_cents", "gross_cents"])
    return invoice


@transaction.atomic
def create_draft(
    *,
    by: Any,
    member: Member,
    lines: Iterable[Mapping[str, Any]],
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    notes: str = "",
) -> Invoice:
    """A draft invoice typed by staff (options, a service the catalogue lists, a one-off)."""
    ensure_perm(by, Perm.BILLING_EDIT)
    invoice = new_system_draft(
        by=by, member=member, lines=lines, period_start=period_start, period_end=period_end, notes=notes
    )
    audit.record(actor=by, action="billing.draft_created", obj=invoice, changes={"gross": [None, invoice.gross_cents]})
    return invoice


def _lock(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().select_related("member").get(pk=invoice.pk)


@transaction.atomic
def update_draft(
    *,
    by: Any,
    invoice: Invoice,
    lines: Iterable[Mapping[str, Any]],
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    notes: str = "",
) -> Invoice:
    """Replaces a draft's lines and mentions; an issued invoice is refused (correct it with a credit note)."""
    ensure_perm(by, Perm.BILLING_EDIT)
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise BillingError(_("Une facture émise ne change plus : émettez un avoir."), "not_draft")
    cleaned = clean_lines(lines)
    if period_start and period_end and period_end < period_start:
        raise BillingError(_("La fin de la période précède son début."), "invalid_dates", field="period_end")
    before = invoice.gross_cents
    _write_lines(invoice, cleaned)
    invoice.period_start, invoice.period_end, invoice.notes = period_start, period_end, (notes or "").strip()[:2000]
    invoice.save()
    audit.record(
        actor=by, action="billing.draft_updated", obj=invoice, changes={"gross": [before, invoice.gross_cents]}
    )
    return invoice


@transaction.atomic
def delete_draft(*, by: Any, invoice: Invoice) -> None:
    ensure_perm(by, Perm.BILLING_EDIT)
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise BillingError(_("Une facture émise ne se supprime pas : émettez un avoir."), "not_draft")
    audit.record(actor=by, action="billing.draft_deleted", obj=invoice, changes={"gross": [invoice.gross_cents, None]})
    invoice.delete()


# --- Issuing -------------------------------------------------------------------------------------------


def next_number(series: str, year: int) -> int:
    """The next number of `series` in `year`, locked until the caller's transaction ends (gapless)."""
    if not connection.in_atomic_block:
        raise RuntimeError("numbers are allocated inside the issuing transaction")
    table = InvoiceCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (series, year, last_number) VALUES (%s, %s, 0) "  # noqa: S608 (model's table)
            "ON CONFLICT (series, year) DO NOTHING",
            [series, year],
        )
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number + 1 "  # noqa: S608
            "WHERE series = %s AND year = %s RETURNING last_number",
            [series, year],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def format_number(*, prefix: str, series: str, year: int, sequence: int) -> str:
    """FA-2026-000042 for an invoice; FA-AV-2026-000003 for a credit note (prefix: the firm's setting)."""
    prefix = prefix or "FA"
    if series == Series.CREDIT_NOTE:
        return f"{prefix}-AV-{year}-{sequence:06d}"
    return f"{prefix}-{year}-{sequence:06d}"


def seller_snapshot() -> dict[str, Any]:
    profile = firm_profile()
    tenant = getattr(connection, "tenant", None)
    return {
        "name": profile.legal_name or getattr(tenant, "name", ""),
        "legal_form": profile.legal_form,
        "siren": profile.siren,
        "siret": profile.siret,
        "vat_number": profile.vat_number,
        "rcs": profile.rcs,
        "address_line1": profile.address_line1,
        "address_line2": profile.address_line2,
        "postcode": profile.postcode,
        "city": profile.city,
        "country": profile.country or "FR",
        "email": profile.contact_email,
        "phone": profile.contact_phone,
        "website": profile.website,
        "iban": profile.iban,
        "bic": profile.bic,
    }


def billing_emails(member: Member) -> list[str]:
    """Who receives invoices: the billing contacts, else the membership mail's recipients."""
    contacts = Contact.objects.filter(member=member, is_active=True).exclude(email="").order_by("pk")
    chosen = [c.email for c in contacts if Contact.Role.BILLING in (c.roles or [])]
    return list(dict.fromkeys(chosen)) or memberships.member_recipients(member)


def buyer_snapshot(member: Member) -> dict[str, Any]:
    return {
        "name": member.legal_name,
        "trade_name": member.trade_name,
        "siren": member.siren,
        "siret": member.siret,
        "vat_number": member.vat_number,
        "address_line1": member.address_line1,
        "address_line2": member.address_line2,
        "postcode": member.postcode,
        "city": member.city,
        "country": member.country or "FR",
        "emails": billing_emails(member),
    }


def _mentions(config: BillingSettings) -> dict[str, Any]:
    return {
        "operation_nature": OPERATION_NATURE,
        "payment_terms": config.payment_terms_text,
        "late_penalty": config.late_penalty_text,
        "recovery_indemnity_cents": config.recovery_indemnity_cents,
        "vat_on_debits": VAT_ON_DEBITS_TEXT if config.vat_on_debits else "",
        "vat_exemption": config.vat_exemption_text,
    }


def check_seller_identity(seller: Mapping[str, Any] | None = None) -> None:
    """Raises `seller_incomplete`, naming what is missing, when the firm's identity does not allow issuing."""
    seller = seller_snapshot() if seller is None else seller
    missing = [
        label
        for key, label in (
            ("name", _("raison sociale")),
            ("siren", _("SIREN")),
            # EN 16931 BR-S-02 / BR-E-02: the seller's VAT identifier is on every invoice with VAT (or exempt) lines.
            ("vat_number", _("numéro de TVA intracommunautaire")),
            ("address_line1", _("adresse")),
        )
        if not seller.get(key)
    ]
    if not (seller.get("postcode") and seller.get("city")):
        missing.append(_("code postal et ville"))
    if missing:
        raise BillingError(
            _("Complétez l'identité du cabinet avant d'émettre une facture : %(fields)s.")
            % {"fields": ", ".join(str(m) for m in missing)},
            "seller_incomplete",
        )


def _check_buyer(buyer: Mapping[str, Any]) -> None:
    if not buyer.get("siren") or not buyer.get("address_line1") or not buyer.get("city"):
        raise BillingError(
            _("Complétez le SIREN et l'adresse de l'adhérent avant de lui émettre une facture."), "buyer_incomplete"
        )


def _issue(*, invoice: Invoice, by: Any, today: datetime.date | None = None) -> tuple[Invoice, str]:
    """Numbers and freezes a locked draft; returns it with its payment-link token (the PDF comes after commit)."""
    if not invoice.is_draft:
        raise BillingError(_("Cette facture est déjà émise."), "not_draft")
    if not invoice.lines.exists():
        raise BillingError(_("Une facture a au moins une ligne."), "invalid_lines")
    config = billing_settings()
    seller, buyer = seller_snapshot(), buyer_snapshot(invoice.member)
    check_seller_identity(seller)
    _check_buyer(buyer)
    today = today or timezone.localdate()
    totals = compute_totals(invoice.lines.all())
    invoice.net_cents, invoice.vat_cents, invoice.gross_cents = totals.net_cents, totals.vat_cents, totals.gross_cents
    invoice.sequence = next_number(invoice.series, today.year)
    invoice.number = format_number(
        prefix=firm_profile().invoice_prefix, series=invoice.series, year=today.year, sequence=invoice.sequence
    )
    invoice.issue_date = today
    invoice.due_date = today if invoice.is_credit_note else today + datetime.timedelta(days=config.payment_terms_days)
    invoice.seller, invoice.buyer, invoice.mentions = seller, buyer, _mentions(config)
    invoice.status = S.ISSUED
    invoice.issued_at = timezone.now()
    invoice.issued_by = by if getattr(by, "is_authenticated", False) else None
    token = new_token()
    invoice.pay_token_hash = "" if invoice.is_credit_note else hash_token(token)
    invoice.save()
    audit.record(
        actor=by,
        action="billing.credit_note_issued" if invoice.is_credit_note else "billing.invoice_issued",
        obj=invoice,
        changes={"number": [None, invoice.number], "gross": [None, invoice.gross_cents]},
    )
    pk = invoice.pk
    transaction.on_commit(lambda: signals.invoice_issued.send(sender=Invoice, invoice_id=pk))
    return invoice, token


def ensure_pdf(invoice: Invoice) -> Invoice:
    """Renders and stores the PDF (Factur-X) of an issued invoice from its frozen data, once.

    Runs after the issuing transaction committed, so the number counter is not
    locked while the page renders (issuers work in parallel). A PDF that failed
    then (a crash, a bug) is made by the next caller: the PDF page, the e-mail
    task, the daily catch-up.
    """
    from billing import documents

    if invoice.pdf or invoice.is_draft:
        return invoice
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("member", "credited_invoice")
            .get(pk=invoice.pk)
        )
        if invoice.pdf or invoice.is_draft:
            return invoice
        pdf = documents.render_invoice_pdf(invoice)
        invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(pdf), save=False)
        invoice.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        invoice.save(update_fields=["pdf", "pdf_sha256"])
    return invoice


def with_pdf(invoice: Invoice) -> Invoice:
    """`invoice` with its PDF made if it is still missing (readers: pages, API, e-mails); a failure is logged."""
    if invoice.pdf or invoice.is_draft:
        return invoice
    try:
        return ensure_pdf(invoice)
    except Exception:
        logger.exception("PDF of invoice %s failed", invoice.pk)
        return invoice


def render_missing_pdfs(*, limit: int = 500) -> int:
    """Issued invoices whose PDF is missing get it (the repair of `ensure_pdf`); returns how many."""
    done = 0
    for invoice in Invoice.objects.exclude(status=S.DRAFT).filter(pdf="").order_by("pk")[:limit]:
        try:
            ensure_pdf(invoice)
            done += 1
        except Exception:
            logger.exception("PDF of invoice %s failed", invoice.pk)
    return done


def resend_unsent(*, older_than: datetime.timedelta = datetime.timedelta(hours=1), limit: int = 1000) -> int:
    """E-mails again the system's invoices that never left (a worker lost with its batch); returns how many.

    Only invoices the system issued (no `issued_by`: staff may issue without
    sending), still unpaid, with a billing address, issued a while ago.
    """
    from billing import tasks

    stale = (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE,
            status__in=(S.ISSUED, S.PARTLY_PAID),
            issued_by__isnull=True,
            sent_at__isnull=True,
            issued_at__lt=timezone.now() - older_than,
        )
        .exclude(buyer__emails=[])
        .order_by("pk")[:limit]
    )
    count = 0
    for invoice in stale:
        token = new_payment_token(invoice=invoice)
        transaction.on_commit(functools.partial(tasks.send_invoice.delay, invoice.pk, token))
        count += 1
    return count


def _in_callers_transaction() -> bool:
    """Whether a caller's transaction is open (the test case's own wrapping transactions do not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _render_then_send(pk: int, token: str, send: bool) -> None:
    from billing import tasks

    invoice = Invoice.objects.get(pk=pk)
    try:
        ensure_pdf(invoice)
    except Exception:  # the e-mail task and the catch-up render it again
        logger.exception("PDF of invoice %s failed after issue", pk)
    if send:
        transaction.on_commit(lambda: tasks.send_invoice.delay(pk, token))


def _after_issue(invoice: Invoice, token: str, *, send: bool) -> Invoice:
    """The PDF and the e-mail of a committed issue: now, or after the caller's transaction commits."""
    pk = invoice.pk
    if _in_callers_transaction():
        transaction.on_commit(lambda: _render_then_send(pk, token, send))
        return invoice
    _render_then_send(pk, token, send)
    invoice.refresh_from_db(fields=["pdf", "pdf_sha256"])
    return invoice


def issue_invoice(*, by: Any, invoice: Invoice, send: bool = True) -> Invoice:
    """Issues a draft: number, frozen parties and mentions; then its PDF with Factur-X, e-mailed.

    The issue commits first (the number's lock is held only that long); the PDF
    is rendered right after, or after the caller's own transaction commits.
    """
    ensure_perm(by, Perm.BILLING_EDIT)
    with transaction.atomic():
        invoice, token = _issue(invoice=_lock(invoice), by=by)
    return _after_issue(invoice, token, send=send)


def issue_automatically(
    *,
    invoice: Invoice,
    send: bool = True,
    today: datetime.date | None = None,
    outbox: list[tuple[int, str]] | None = None,
) -> Invoice:
    """Issues a draft the system made (membership term, per-case fee, renewal run); PDF and e-mail as above.

    With an `outbox`, the invoice's e-mail is left to the caller, who sends a
    batch at once (`tasks.send_invoices`: one task and one mail connection):
    (invoice id, payment-link token) is appended to it.
    """
    with transaction.atomic():
        invoice, token = _issue(invoice=_lock(invoice), by=None, today=today)
    if outbox is not None and send:
        outbox.append((invoice.pk, token))
        send = False
    return _after_issue(invoice, token, send=send)


@transaction.atomic
def new_payment_token(*, invoice: Invoice) -> str:
    """A fresh payment link for an issued, unpaid invoice (the previous link stops working)."""
    invoice = _lock(invoice)
    if invoice.is_draft or invoice.is_credit_note or invoice.balance_cents <= 0:
        raise BillingError(_("Cette facture n'est pas à payer."), "nothing_to_pay")
    token = new_token()
    invoice.pay_token_hash = hash_token(token)
    invoice.save(update_fields=["pay_token_hash"])
    return token


def invoice_by_token(token: str) -> Invoice | None:
    if not token or len(token) > 100:
        return None
    return Invoice.objects.select_related("member").filter(pay_token_hash=hash_token(token)).first()


# --- Settlement ----------------------------------------------------------------------------------------


def _settled_status(invoice: Invoice) -> str:
    if invoice.gross_cents - invoice.paid_cents - invoice.credited_cents <= 0:
        return S.PAID if invoice.paid_cents > 0 else S.CREDITED
    if invoice.paid_cents > 0 or invoice.credited_cents > 0:
        return S.PARTLY_PAID
    return S.ISSUED


def _after_settlement(invoice: Invoice, before: str) -> None:
    """Status and its effects: a membership invoice settled in full pays the term and lifts a suspension."""
    invoice.status = _settled_status(invoice)
    settled = invoice.status in (S.PAID, S.CREDITED)
    invoice.paid_at = invoice.paid_at or (timezone.now() if settled else None)
    if not settled:
        invoice.paid_at = None
    invoice.save(update_fields=["status", "paid_cents", "credited_cents", "paid_at", "updated_at"])
    if not settled or before in (S.PAID, S.CREDITED):
        return
    if invoice.purpose == Invoice.Purpose.MEMBERSHIP and invoice.membership_id:
        membership = Membership.objects.get(pk=invoice.membership_id)
        if invoice.status == S.PAID:
            memberships.record_term_paid(membership=membership)
        elif membership.suspended_at is not None:
            memberships.lift_suspension(membership=membership)
    if invoice.status == S.PAID:
        pk = invoice.pk
        transaction.on_commit(lambda: signals.invoice_paid.send(sender=Invoice, invoice_id=pk))


def _record_payment(
    *,
    by: Any,
    invoice: Invoice,
    amount_cents: int,
    method: str,
    received_on: datetime.date | None,
    reference: str = "",
    stripe_payment_intent: str | None = None,
    bank_line: Any = None,
    allow_overpayment: bool = False,
) -> Payment:
    invoice = _lock(invoice)
    if invoice.is_draft or invoice.is_credit_note:
        raise BillingError(_("Seule une facture émise reçoit un paiement."), "not_payable")
    if method not in Payment.Method.values:
        raise BillingError(_("Moyen de paiement inconnu."), "invalid_method", field="method")
    if amount_cents <= 0:
        raise BillingError(_("Le montant doit être positif."), "invalid_amount", field="amount_cents")
    balance = invoice.balance_cents
    if balance <= 0 and not allow_overpayment:
        raise BillingError(_("Cette facture est déjà soldée."), "already_paid")
    if amount_cents > balance and not allow_overpayment:
        raise BillingError(
            _("Le montant dépasse le reste à payer (%(balance)s).") % {"balance": format_euros(balance)},
            "overpayment",
            field="amount_cents",
        )
    received_on = received_on or timezone.localdate()
    if received_on > timezone.localdate():
        raise BillingError(_("La date de réception est dans le futur."), "invalid_date", field="received_on")
    before = invoice.status
    payment = Payment.objects.create(
        invoice=invoice,
        amount_cents=amount_cents,
        method=method,
        received_on=received_on,
        reference=(reference or "").strip()[:200],
        stripe_payment_intent=stripe_payment_intent or None,
        bank_line=bank_line,
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
    )
    invoice.paid_cents = F("paid_cents") + amount_cents
    invoice.save(update_fields=["paid_cents"])
    invoice.refresh_from_db(fields=["paid_cents"])
    audit.record(
        actor=by,
        action="billing.payment_recorded",
        obj=invoice,
        changes={"payment": [None, payment.pk], "amount": [None, amount_cents], "method": [None, method]},
    )
    _after_settlement(invoice, before)
    return payment


@transaction.atomic
def record_payment(
    *,
    by: Any,
    invoice: Invoice,
    amount_cents: int,
    method: str,
    received_on: datetime.date | None = None,
    reference: str = "",
    bank_line: Any = None,
) -> Payment:
    """Staff record money received (transfer, cheque...); refused above what is left to pay."""
    ensure_perm(by, Perm.BILLING_EDIT)
    return _record_payment(
        by=by,
        invoice=invoice,
        amount_cents=amount_cents,
        method=method,
        received_on=received_on,
        reference=reference,
        bank_line=bank_line,
    )


@transaction.atomic
def record_stripe_payment(
    *, invoice: Invoice, amount_cents: int, method: str, payment_intent: str, received_on: datetime.date | None = None
) -> Payment | None:
    """A payment Stripe confirmed (webhook): recorded once per PaymentIntent; None when it already was."""
    existing = Payment.objects.filter(stripe_payment_intent=payment_intent).first()
    if existing is not None:
        return None
    return _record_payment(
        by=None,
        invoice=invoice,
        amount_cents=amount_cents,
        method=method,
        received_on=received_on,
        reference=payment_intent,
        stripe_payment_intent=payment_intent,
        allow_overpayment=True,
    )


# --- Credit notes ------------------------------------------------------------------------------------


def create_credit_note(
    *, by: Any, invoice: Invoice, reason: str, lines: Iterable[Mapping[str, Any]] | None = None
) -> Invoice:
    """Issues a credit note (avoir) on `invoice`: all of it when `lines` is None, else those lines.

    Amounts are positive on the credit note; it may not credit more than what
    the invoice still carries (its total less earlier credit notes).
    """
    ensure_perm(by, Perm.BILLING_EDIT)
    reason = (reason or "").strip()
    if not reason:
        raise BillingError(_("Indiquez le motif de l'avoir."), "reason_missing", field="reason")
    with transaction.atomic():
        note = _credit(by=by, invoice=invoice, reason=reason, lines=lines)
    return _after_issue(note, "", send=True)


def _credit(*, by: Any, invoice: Invoice, reason: str, lines: Iterable[Mapping[str, Any]] | None) -> Invoice:
    invoice = _lock(invoice)
    if invoice.is_draft or invoice.is_credit_note:
        raise BillingError(_("Un avoir corrige une facture émise."), "not_creditable")
    if lines is None:
        if invoice.credited_cents:
            raise BillingError(
                _("Cette facture a déjà un avoir : indiquez les lignes du nouvel avoir."), "partly_credited"
            )
        lines = [
            {
                "label": line.label,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "vat_rate": line.vat_rate,
                "product": line.product,
                "account": line.account,
            }
            for line in invoice.lines.all()
        ]
    cleaned = clean_lines(lines)
    totals = compute_totals(cleaned)
    creditable = invoice.gross_cents - invoice.credited_cents
    if totals.gross_cents <= 0:
        raise BillingError(_("Le montant de l'avoir doit être positif."), "invalid_amount")
    if totals.gross_cents > creditable:
        raise BillingError(
            _("L'avoir (%(amount)s) dépasse ce qui reste à créditer sur la facture (%(left)s).")
            % {"amount": format_euros(totals.gross_cents), "left": format_euros(creditable)},
            "over_credit",
        )
    note = Invoice.objects.create(
        kind=Invoice.Kind.CREDIT_NOTE,
        series=Series.CREDIT_NOTE,
        purpose=invoice.purpose,
        member=invoice.member,
        membership=invoice.membership,
        case_id=invoice.case_id,
        credited_invoice=invoice,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        notes=reason[:2000],
        created_by=by,
    )
    _write_lines(note, cleaned)
    note.save(update_fields=["net_cents", "vat_cents", "gross_cents"])
    note, _token = _issue(invoice=_lock(note), by=by)
    before = invoice.status
    invoice.credited_cents = invoice.credited_cents + note.gross_cents
    _after_settlement(invoice, before)
    return note


# --- Dunning's effect on coverage (called by billing.dunning) ----------------------------------------


def suspend_for(invoice: Invoice, reason: str) -> None:
    """The membership billed by `invoice` loses its coverage until the invoice is settled."""
    if invoice.purpose == Invoice.Purpose.MEMBERSHIP and invoice.membership_id:
        memberships.suspend_coverage(membership=Membership.objects.get(pk=invoice.membership_id), reason=reason)

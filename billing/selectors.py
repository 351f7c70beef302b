"""Read queries of billing (lists, figures); writes are in services.py."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Invoice, Payment, Price, Product
from mediation.compliance.fees import FeeLine

OPEN = (Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID)


def invoices(filters: dict[str, Any] | None = None, *, today: datetime.date | None = None) -> QuerySet[Invoice]:
    """Invoices and credit notes, newest first, filtered by `filters` (a filter form's cleaned data)."""
    filters = filters or {}
    today = today or timezone.localdate()
    qs = Invoice.objects.select_related("member")
    q = (filters.get("q") or "").strip()
    if q:
        digits = q.replace(" ", "")
        condition = Q(number__icontains=q) | Q(member__legal_name__icontains=q) | Q(member__trade_name__icontains=q)
        if digits.isdigit():
            condition |= Q(member__siren__startswith=digits)
        qs = qs.filter(condition)
    status = filters.get("status")
    if status == "overdue":
        qs = overdue(qs, today=today)
    elif status:
        qs = qs.filter(status=status)
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("purpose"):
        qs = qs.filter(purpose=filters["purpose"])
    if filters.get("member"):
        qs = qs.filter(member_id=filters["member"])
    if filters.get("issued_from"):
        qs = qs.filter(issue_date__gte=filters["issued_from"])
    if filters.get("issued_to"):
        qs = qs.filter(issue_date__lte=filters["issued_to"])
    return qs.order_by(F("issue_date").desc(nulls_first=True), F("sequence").desc(nulls_first=True), "-pk")


def overdue(qs: QuerySet[Invoice] | None = None, *, today: datetime.date | None = None) -> QuerySet[Invoice]:
    """Issued invoices past their due date with something left to pay."""
    qs = Invoice.objects.all() if qs is None else qs
    today = today or timezone.localdate()
    return qs.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN, due_date__lt=today)


def invoice(*, pk: int) -> Invoice | None:
    return (
        Invoice.objects.select_related("member", "membership", "credited_invoice", "issued_by", "created_by")
        .filter(pk=pk)
        .first()
    )


@dataclass(frozen=True)
class Figures:
    issued_this_year_count: int
    issued_this_year_cents: int
    outstanding_cents: int
    overdue_count: int
    overdue_cents: int
    drafts: int


def figures(*, today: datetime.date | None = None) -> Figures:
    """The headline figures of the billing page: invoiced this year, left to collect, overdue, drafts."""
    today = today or timezone.localdate()
    balance = F("gross_cents") - F("paid_cents") - F("credited_cents")
    year = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, issue_date__year=today.year).exclude(
        status=Invoice.Status.DRAFT
    )
    credited = Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE, issue_date__year=today.year)
    open_invoices = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN)
    late = open_invoices.filter(due_date__lt=today)
    year_sum = year.aggregate(n=Coalesce(Sum("gross_cents"), 0))["n"]
    credited_sum = credited.aggregate(n=Coalesce(Sum("gross_cents"), 0))["n"]
    return Figures(
        issued_this_year_count=year.count(),
        issued_this_year_cents=year_sum - credited_sum,
        outstanding_cents=open_invoices.aggregate(n=Coalesce(Sum(balance), 0))["n"],
        overdue_count=late.count(),
        overdue_cents=late.aggregate(n=Coalesce(Sum(balance), 0))["n"],
        drafts=Invoice.objects.filter(status=Invoice.Status.DRAFT).count(),
    )


def payments_of(invoice: Invoice) -> QuerySet[Payment]:
    return invoice.payments.select_related("recorded_by").order_by("received_on", "pk")


def products() -> QuerySet[Product]:
    return Product.objects.prefetch_related("prices__group").order_by("kind", "name")


def catalogue_fees(today: datetime.date) -> list[FeeLine]:
    """Each active product's prices in force on `today` (the list price, and each group's own), for the CECMC pack.

    Registered with `mediation.compliance.fees` by BillingConfig.ready() (mediation does not import billing).
    Per product and group, the price that started last wins, as `services.price_of` reads it.
    """
    prices = (
        Price.objects.filter(product__is_active=True, valid_from__lte=today)
        .exclude(valid_until__lt=today)
        .select_related("product", "group")
        .order_by("product__kind", "product__name", "product_id", "group_id", "-valid_from", "-pk")
    )
    lines: list[FeeLine] = []
    seen: set[tuple[int, int | None]] = set()
    for price in prices:
        key = (price.product_id, price.group_id)
        if key in seen:
            continue
        seen.add(key)
        product = price.product
        label = product.name if price.group is None else f"{product.name} ({price.group.name})"
        lines.append(
            FeeLine(
                label=label,
                kind=str(product.get_kind_display()),
                amount_cents=int(price.unit_price_cents),
                vat_rate=product.vat_rate,
                valid_from=price.valid_from,
                valid_until=price.valid_until,
            )
        )
    return lines

"""Filters of GET /api/v1/invoices/, /payments/ and /products/ (django-filter), and the orderings they accept."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from billing import selectors
from billing.models import Invoice, Payment, Product

S = Invoice.Status
# A choice rather than a BooleanFilter, whose widget silently reads an unknown value as "not given".
YES_NO = [("true", _("oui")), ("false", _("non"))]


def listed_invoices() -> QuerySet[Invoice]:
    """Invoices and credit notes with what a row shows (member joined), their balance and sort keys, in one query."""
    return Invoice.objects.select_related("member", "credited_invoice").annotate(
        balance=F("gross_cents") - F("paid_cents") - F("credited_cents"), **INVOICE_SORT_KEYS
    )


def listed_payments() -> QuerySet[Payment]:
    return Payment.objects.select_related("invoice", "invoice__member", "recorded_by")


def listed_products() -> QuerySet[Product]:
    """Products with every price (and its group) prefetched: the current prices are picked in Python."""
    return selectors.products().order_by(*PRODUCT_ORDERING)


# --- Orderings (the `ordering` parameter): a name → the ORDER BY it means, ties broken by id ---------------
#
# The lists are cursor pages (`core.api.KeysetPages`): a page starts right after the previous page's last
# row, compared on every field of the ordering, so each field must be non-null. The nullable columns
# (a draft has no number, no issue date, no due date) are sorted through `INVOICE_SORT_KEYS`: a Coalesce with
# a date past (or before) every real one puts the drafts where NULLS FIRST / NULLS LAST put them.

FAR_FUTURE = datetime.date(9999, 12, 31)
FAR_PAST = datetime.date(1, 1, 1)
FAR_FUTURE_AT = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)

INVOICE_SORT_KEYS: dict[str, Any] = {
    "sort_issue_date": Coalesce("issue_date", Value(FAR_FUTURE)),  # drafts after every issued invoice
    "sort_issued_at": Coalesce("issued_at", Value(FAR_FUTURE_AT)),
    "sort_due_last": Coalesce("due_date", Value(FAR_FUTURE)),  # no due date: last in ascending order
    "sort_due_first": Coalesce("due_date", Value(FAR_PAST)),  # … and last in descending order
    "sort_unnumbered": Case(When(number__isnull=True, then=Value(1)), default=Value(0)),  # drafts after
    "sort_number": Coalesce("number", Value("")),
    "sort_member": F("member__legal_name"),
}


def _ordering(*fields: str) -> tuple[str, ...]:
    return (*fields, "-pk")


INVOICE_ORDERINGS: dict[str, tuple[str, ...]] = {
    # Drafts (no issue date yet) first, then the newest issued.
    "-issue_date": _ordering("-sort_issue_date", "-sort_issued_at"),
    "issue_date": _ordering("sort_issue_date", "sort_issued_at"),
    "due_date": _ordering("sort_due_last"),
    "-due_date": _ordering("-sort_due_first"),
    "number": _ordering("sort_unnumbered", "sort_number"),
    "-number": _ordering("sort_unnumbered", "-sort_number"),
    "gross_cents": _ordering("gross_cents"),
    "-gross_cents": _ordering("-gross_cents"),
    "balance_cents": _ordering("balance"),
    "-balance_cents": _ordering("-balance"),
    "member": _ordering("sort_member"),
}
DEFAULT_INVOICE_ORDERING = "-issue_date"

PAYMENT_ORDERINGS: dict[str, tuple[str, ...]] = {
    "-received_on": _ordering("-received_on"),
    "received_on": _ordering("received_on"),
    "-amount_cents": _ordering("-amount_cents"),
    "amount_cents": _ordering("amount_cents"),
}
DEFAULT_PAYMENT_ORDERING = "-received_on"
PRODUCT_ORDERING = ("kind", "name", "pk")


# --- Filter sets ---------------------------------------------------------------------------------------


class InvoiceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=Invoice.Kind.choices, help_text=_("invoice : factures ; credit_note : avoirs.")
    )
    status = django_filters.MultipleChoiceFilter(
        choices=S.choices, help_text=_("Un ou plusieurs statuts (répétez le paramètre).")
    )
    purpose = django_filters.ChoiceFilter(choices=Invoice.Purpose.choices, help_text=_("Objet de la facture."))
    overdue = django_filters.ChoiceFilter(
        choices=YES_NO,
        method="filter_overdue",
        help_text=_("true : échéance dépassée avec un reste à payer ; false : les autres."),
    )
    member = django_filters.NumberFilter(field_name="member_id", min_value=1, help_text=_("Identifiant de l'adhérent."))
    issued_from = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="gte", help_text=_("Émise ce jour ou après.")
    )
    issued_to = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="lte", help_text=_("Émise ce jour ou avant.")
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=100, help_text=_("Numéro de facture (ou une partie), raison sociale, SIREN.")
    )

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet[Invoice], name: str, value: str) -> QuerySet[Invoice]:
        if value == "true":
            return selectors.overdue(queryset)
        return queryset.exclude(pk__in=selectors.overdue().values("pk"))

    def filter_search(self, queryset: QuerySet[Invoice], name: str, value: str) -> QuerySet[Invoice]:
        for word in value.split()[:8]:
            queryset = queryset.filter(
                Q(number__icontains=word) | Q(member__legal_name__icontains=word) | Q(member__siren=word)
            )
        return queryset


class PaymentFilter(django_filters.FilterSet):
    received_from = django_filters.DateFilter(
        field_name="received_on", lookup_expr="gte", help_text=_("Reçu ce jour ou après.")
    )
    received_to = django_filters.DateFilter(
        field_name="received_on", lookup_expr="lte", help_text=_("Reçu ce jour ou avant.")
    )
    method = django_filters.MultipleChoiceFilter(
        choices=Payment.Method.choices, help_text=_("Un ou plusieurs moyens de paiement (répétez le paramètre).")
    )
    member = django_filters.NumberFilter(
        field_name="invoice__member_id", min_value=1, help_text=_("Identifiant de l'adhérent.")
    )
    invoice = django_filters.NumberFilter(
        field_name="invoice_id", min_value=1, help_text=_("Identifiant de la facture.")
    )

    class Meta:
        model = Payment
        fields: list[str] = []


class ProductFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Product.Kind.choices, help_text=_("Nature du produit."))
    active = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_active", help_text=_("true : produits actifs ; false : retirés du catalogue.")
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_active(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return queryset.filter(is_active=value == "true")

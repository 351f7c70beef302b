"""/api/v1/invoices/, /payments/, /products/: the firm's billing API (session authentication like the other APIs).

billing.view reads, billing.edit writes; the services check the permission
again. Every write goes through `billing.services`; a refused operation
(`BillingError`) keeps its stable `code`: 409 when the invoice's state forbids
it (`not_draft`, `already_paid`, `not_creditable`, `over_credit`…), 400 for
invalid input. Money is integer cents; VAT rates and quantities are decimal
strings ("20.00", "1.50").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.views import ErrorSerializer
from accounts.models import User
from accounts.permissions import HasPerm, Perm
from billing import services
from billing.api import serializers as s
from billing.api.filters import (
    DEFAULT_INVOICE_ORDERING,
    DEFAULT_PAYMENT_ORDERING,
    INVOICE_ORDERINGS,
    PAYMENT_ORDERINGS,
    PRODUCT_ORDERING,
    InvoiceFilter,
    PaymentFilter,
    ProductFilter,
    listed_invoices,
    listed_payments,
    listed_products,
)
from billing.errors import BillingError
from billing.models import Invoice, Payment, Product
from core.api import FilterBackend, KeysetPages

# The codes of a refused operation that the invoice's current state explains (409); any other code is 400.
CONFLICT_CODES = frozenset(
    {
        "not_draft",
        "not_issued",
        "not_payable",
        "already_paid",
        "overpayment",
        "nothing_to_pay",
        "not_creditable",
        "partly_credited",
        "over_credit",
        "seller_incomplete",
        "buyer_incomplete",
    }
)


class BillingAPIError(APIException):
    """A `BillingError` as JSON: its code, its message (under its field when it names one)."""

    def __init__(self, exc: BillingError) -> None:
        detail: Any = {exc.field: [exc.message]} if exc.field else exc.message
        super().__init__(detail=detail, code=exc.code)
        self.status_code = status.HTTP_409_CONFLICT if exc.code in CONFLICT_CODES else status.HTTP_400_BAD_REQUEST
        # core.api.exception_handler reads the code of a field-keyed detail here.
        self.default_code = exc.code


@contextmanager
def _service_errors() -> Iterator[None]:
    try:
        yield
    except BillingError as exc:
        raise BillingAPIError(exc) from exc
    except DjangoValidationError as exc:  # a model's full_clean (the catalogue)
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        raise serializers.ValidationError(detail) from exc


def _acting_user(request: Request) -> User:
    assert isinstance(request.user, User)  # IsAuthenticated and HasPerm ran first
    return request.user


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "today": timezone.localdate()}


# --- Shared pieces -------------------------------------------------------------------------------------


class InvoicePagination(KeysetPages):
    orderings = INVOICE_ORDERINGS
    default_ordering = DEFAULT_INVOICE_ORDERING


class PaymentPagination(KeysetPages):
    orderings = PAYMENT_ORDERINGS
    default_ordering = DEFAULT_PAYMENT_ORDERING


class ProductPagination(KeysetPages):
    ordering = PRODUCT_ORDERING


class BillingAPIView(GenericAPIView):
    """billing.view reads, billing.edit writes (the services check it again)."""

    parser_classes = [JSONParser]

    def get_permissions(self) -> list[BasePermission]:
        perm = Perm.BILLING_VIEW if self.request.method in SAFE_METHODS else Perm.BILLING_EDIT
        return [IsAuthenticated(), HasPerm(perm)()]


ERRORS: dict[int, Any] = {
    400: OpenApiResponse(
        ErrorSerializer, description="Invalid input (`code` invalid, invalid_lines, invalid_filter, invalid_amount…)."
    ),
    403: OpenApiResponse(ErrorSerializer, description="Not authenticated or the role does not allow it."),
    404: OpenApiResponse(ErrorSerializer, description="No such object in this firm."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="The invoice's state forbids it (`code` not_draft, already_paid, overpayment, not_creditable, "
        "partly_credited, over_credit, not_payable, seller_incomplete, buyer_incomplete).",
    ),
}


def _errors(*codes: int) -> dict[int, Any]:
    return {code: ERRORS[code] for code in codes}


def _ordering_parameter(orderings: dict[str, Any], default: str) -> OpenApiParameter:
    return OpenApiParameter(
        "ordering",
        OpenApiTypes.STR,
        enum=list(orderings),
        description=f"Sort order (default {default}); a leading minus sorts descending.",
    )


# --- Invoices ------------------------------------------------------------------------------------------


def _invoice(pk: int) -> Invoice:
    invoice = Invoice.objects.select_related("member").filter(pk=pk).first()
    if invoice is None:
        raise Http404
    return invoice


def _detail(invoice: Invoice, request: Request) -> dict[str, Any]:
    fresh = (
        listed_invoices()
        .prefetch_related(
            "lines",
            Prefetch("payments", queryset=Payment.objects.select_related("recorded_by")),
            Prefetch("credit_notes", queryset=Invoice.objects.order_by("issued_at", "pk")),
        )
        .get(pk=invoice.pk)
    )
    return s.InvoiceDetailSerializer(fresh, context=_context(request)).data


def _current_lines(invoice: Invoice) -> list[dict[str, Any]]:
    """A draft's lines as `services.update_draft` takes them (a PATCH without `lines` keeps them)."""
    return [
        {
            "label": line.label,
            "quantity": line.quantity,
            "unit_price_cents": line.unit_price_cents,
            "vat_rate": line.vat_rate,
            "product": line.product,
            "account": line.account,
        }
        for line in invoice.lines.select_related("product")
    ]


class InvoiceListView(BillingAPIView):
    serializer_class = s.InvoiceListSerializer
    pagination_class = InvoicePagination
    filter_backends = [FilterBackend]
    filterset_class = InvoiceFilter

    def get_queryset(self) -> QuerySet[Invoice]:
        return listed_invoices()

    @extend_schema(
        parameters=[_ordering_parameter(INVOICE_ORDERINGS, DEFAULT_INVOICE_ORDERING)],
        responses={200: s.InvoiceListSerializer(many=True), **_errors(400, 403)},
        operation_id="invoices_list",
        description="Invoices, credit notes and drafts, filtered, in cursor pages of 50 (page_size up to 200).",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.InvoiceListSerializer(page, many=True, context=_context(request)).data)

    @extend_schema(
        request=s.InvoiceInputSerializer,
        responses={201: s.InvoiceDetailSerializer, **_errors(400, 403)},
        operation_id="invoices_create",
        description=(
            "A draft invoice for a member (billing.edit). A line naming a catalogue `product` takes its label, "
            "its price in force today (the member's group price first) and its VAT rate unless given. "
            "Issue it with POST /api/v1/invoices/{id}/issue/."
        ),
    )
    def post(self, request: Request) -> Response:
        data = s.InvoiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        lines = s.priced_lines(values["lines"], member=values["member"], on=timezone.localdate())
        with _service_errors():
            invoice = services.create_draft(
                by=_acting_user(request),
                member=values["member"],
                lines=lines,
                period_start=values.get("period_start"),
                period_end=values.get("period_end"),
                notes=values["notes"],
            )
        return Response(_detail(invoice, request), status=status.HTTP_201_CREATED)


class InvoiceDetailView(BillingAPIView):
    @extend_schema(
        responses={200: s.InvoiceDetailSerializer, **_errors(403, 404)},
        operation_id="invoices_retrieve",
        description="The invoice or credit note with its lines, VAT per rate, payments, credit notes and PDF link.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(_invoice(pk), request))

    @extend_schema(
        request=s.InvoiceUpdateInputSerializer,
        responses={200: s.InvoiceDetailSerializer, **_errors(400, 403, 404, 409)},
        operation_id="invoices_partial_update",
        description=(
            "Changes a draft (billing.edit): `lines` replaces every line; fields not sent stay. "
            "An issued invoice never changes (409 not_draft): correct it with a credit note."
        ),
    )
    def patch(self, request: Request, pk: int) -> Response:
        invoice = _invoice(pk)
        if not invoice.is_draft:  # before reading the body: the answer does not depend on it
            raise BillingAPIError(BillingError(_("Une facture émise ne change plus : émettez un avoir."), "not_draft"))
        data = s.InvoiceUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "lines" in values:
            lines = s.priced_lines(values["lines"], member=invoice.member, on=timezone.localdate())
        else:
            lines = _current_lines(invoice)
        with _service_errors():
            invoice = services.update_draft(
                by=_acting_user(request),
                invoice=invoice,
                lines=lines,
                period_start=values.get("period_start", invoice.period_start),
                period_end=values.get("period_end", invoice.period_end),
                notes=values.get("notes", invoice.notes),
            )
        return Response(_detail(invoice, request))

    @extend_schema(
        request=None,
        responses={204: None, **_errors(403, 404, 409)},
        operation_id="invoices_destroy",
        description="Deletes a draft (billing.edit); an issued invoice is never deleted (409 not_draft).",
    )
    def delete(self, request: Request, pk: int) -> Response:
        invoice = _invoice(pk)
        with _service_errors():
            services.delete_draft(by=_acting_user(request), invoice=invoice)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PdfRenderer(BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`; the view answers with the stored file itself."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        return data


class InvoicePdfView(BillingAPIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF/A-3 with Factur-X."),
            **{(code, "application/json"): ERRORS[code] for code in (403, 404, 409)},
        },
        operation_id="invoices_pdf",
        description="The PDF of an issued invoice or credit note as stored when issued (409 not_issued for a draft).",
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        invoice = services.with_pdf(_invoice(pk))
        if invoice.is_draft:
            raise BillingAPIError(BillingError(_("Un brouillon n'a pas de PDF : émettez-le d'abord."), "not_issued"))
        if not invoice.pdf:  # its rendering failed: logged, made again by the next reader or the catch-up
            raise Http404
        try:
            handle = invoice.pdf.open("rb")
        except OSError as exc:
            raise Http404 from exc
        return FileResponse(handle, filename=f"{invoice.number}.pdf", content_type="application/pdf")

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response):  # an error: JSON whatever the client accepts
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class InvoiceIssueView(BillingAPIView):
    @extend_schema(
        request=s.IssueInputSerializer,
        responses={200: s.InvoiceDetailSerializer, **_errors(400, 403, 404, 409)},
        operation_id="invoices_issue",
        description=(
            "Issues a draft (billing.edit): the next number of its series without gaps, the firm and member "
            "frozen, the PDF with Factur-X stored; e-mailed to the member unless `send` is false."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        invoice = _invoice(pk)
        data = s.IssueInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            invoice = services.issue_invoice(
                by=_acting_user(request), invoice=invoice, send=data.validated_data["send"]
            )
        return Response(_detail(invoice, request))


class InvoicePaymentsView(BillingAPIView):
    @extend_schema(
        responses={200: s.PaymentOfInvoiceSerializer(many=True), **_errors(403, 404)},
        operation_id="invoices_payments_list",
        description="The payments received for the invoice, newest first.",
    )
    def get(self, request: Request, pk: int) -> Response:
        payments = _invoice(pk).payments.select_related("recorded_by")
        return Response(s.PaymentOfInvoiceSerializer(payments, many=True).data)

    @extend_schema(
        request=s.PaymentInputSerializer,
        responses={201: s.PaymentSerializer, **_errors(400, 403, 404, 409)},
        operation_id="invoices_payments_create",
        description=(
            "Records money received (billing.edit): at most what is left to pay (409 overpayment), never on a "
            "draft or a credit note (409 not_payable) nor a settled invoice (409 already_paid). A membership "
            "invoice paid in full starts the member's coverage."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        invoice = _invoice(pk)
        data = s.PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        with _service_errors():
            payment = services.record_payment(
                by=_acting_user(request),
                invoice=invoice,
                amount_cents=values["amount_cents"],
                method=values["method"],
                received_on=values.get("received_on"),
                reference=values["reference"],
            )
        fresh = listed_payments().get(pk=payment.pk)
        return Response(s.PaymentSerializer(fresh).data, status=status.HTTP_201_CREATED)


class InvoiceCreditNotesView(BillingAPIView):
    @extend_schema(
        responses={200: s.InvoiceListSerializer(many=True), **_errors(403, 404)},
        operation_id="invoices_credit_notes_list",
        description="The credit notes issued on the invoice, oldest first.",
    )
    def get(self, request: Request, pk: int) -> Response:
        notes = listed_invoices().filter(credited_invoice=_invoice(pk)).order_by("issued_at", "pk")
        return Response(s.InvoiceListSerializer(notes, many=True, context=_context(request)).data)

    @extend_schema(
        request=s.CreditNoteInputSerializer,
        responses={201: s.InvoiceDetailSerializer, **_errors(400, 403, 404, 409)},
        operation_id="invoices_credit_notes_create",
        description=(
            "Issues a credit note (avoir) on an issued invoice (billing.edit) with its reason: the whole invoice "
            "when `lines` is omitted, else those lines (positive amounts), never more than is left to credit "
            "(409 over_credit). Answers with the credit note."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        invoice = _invoice(pk)
        data = s.CreditNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        lines = values.get("lines")
        if lines is not None:
            lines = s.priced_lines(lines, member=invoice.member, on=timezone.localdate())
        with _service_errors():
            note = services.create_credit_note(
                by=_acting_user(request), invoice=invoice, reason=values["reason"], lines=lines
            )
        return Response(_detail(note, request), status=status.HTTP_201_CREATED)


# --- Payments --------------------------------------------------------------------------------------------


class PaymentListView(BillingAPIView):
    serializer_class = s.PaymentSerializer
    pagination_class = PaymentPagination
    filter_backends = [FilterBackend]
    filterset_class = PaymentFilter

    def get_queryset(self) -> QuerySet[Payment]:
        return listed_payments()

    @extend_schema(
        parameters=[_ordering_parameter(PAYMENT_ORDERINGS, DEFAULT_PAYMENT_ORDERING)],
        responses={200: s.PaymentSerializer(many=True), **_errors(400, 403)},
        operation_id="payments_list",
        description=(
            "Every payment received (card, SEPA, transfer, cheque…), in cursor pages of 50 (page_size up to 200)."
        ),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.PaymentSerializer(page, many=True).data)


# --- Products ----------------------------------------------------------------------------------------------


def _product(pk: int) -> Product:
    product = listed_products().filter(pk=pk).first()
    if product is None:
        raise Http404
    return product


def _product_detail(product: Product, request: Request) -> dict[str, Any]:
    return s.ProductDetailSerializer(_product(product.pk), context=_context(request)).data


class ProductListView(BillingAPIView):
    serializer_class = s.ProductSerializer
    pagination_class = ProductPagination
    filter_backends = [FilterBackend]
    filterset_class = ProductFilter

    def get_queryset(self) -> QuerySet[Product]:
        return listed_products()

    @extend_schema(
        responses={200: s.ProductSerializer(many=True), **_errors(400, 403)},
        operation_id="products_list",
        description=(
            "The catalogue with each product's prices in force today (list price, then group prices), by kind "
            "then name, in cursor pages of 50 (page_size up to 200)."
        ),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.ProductSerializer(page, many=True, context=_context(request)).data)

    @extend_schema(
        request=s.ProductInputSerializer,
        responses={201: s.ProductDetailSerializer, **_errors(400, 403)},
        operation_id="products_create",
        description="Adds a product to the catalogue (billing.edit); give it prices with POST …/prices/.",
    )
    def post(self, request: Request) -> Response:
        data = s.ProductInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            product = services.save_product(by=_acting_user(request), product=Product(**data.validated_data))
        return Response(_product_detail(product, request), status=status.HTTP_201_CREATED)


class ProductDetailView(BillingAPIView):
    @extend_schema(
        responses={200: s.ProductDetailSerializer, **_errors(403, 404)},
        operation_id="products_retrieve",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_product_detail(_product(pk), request))

    @extend_schema(
        request=s.ProductInputSerializer,
        responses={200: s.ProductDetailSerializer, **_errors(400, 403, 404)},
        operation_id="products_partial_update",
        description="Changes a product (billing.edit); its code and kind never change. Prices: POST …/prices/.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        product = _product(pk)
        data = s.ProductInputSerializer(product, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        for name, value in data.validated_data.items():
            setattr(product, name, value)
        with _service_errors():
            services.save_product(by=_acting_user(request), product=product)
        return Response(_product_detail(product, request))


class ProductPricesView(BillingAPIView):
    @extend_schema(
        request=s.PriceInputSerializer,
        responses={201: s.PriceSerializer, **_errors(400, 403, 404)},
        operation_id="products_prices_create",
        description=(
            "A new price from `valid_from` (billing.edit), for everyone or for a group; the previous open price "
            "of the same audience ends the day before."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        product = _product(pk)
        data = s.PriceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        with _service_errors():
            price = services.add_price(
                by=_acting_user(request),
                product=product,
                unit_price_cents=values["unit_price_cents"],
                valid_from=values["valid_from"],
                valid_until=values.get("valid_until"),
                group=values.get("group"),
            )
        return Response(s.PriceSerializer(price).data, status=status.HTTP_201_CREATED)

"""Serializers of the billing API: one per output shape and one per input. Money is integer cents, rates strings."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.permissions import Perm, permissions_of
from billing import services
from billing.models import VAT_RATES, Invoice, InvoiceLine, Payment, Price, Product
from core.api import ModelSerializer
from mediation.cases.api.serializers import MemberSummarySerializer, UserSummarySerializer
from mediation.members.models import Group, Member

S = Invoice.Status


# --- Enums described inline -------------------------------------------------------------------------
# `status`, `kind` and `method` are also enums of the cases and members APIs, with other values: as
# components their names would collide (drf-spectacular warns, and --fail-on-warn fails). Wrapped in
# `allOf` with a sibling description, each enum stays inline in its property.


def _inline_choice_field(values: list[str], description: str) -> type[serializers.ChoiceField]:
    @extend_schema_field({"allOf": [{"type": "string", "enum": values}], "description": description})
    class InlineChoiceField(serializers.ChoiceField):
        pass

    return InlineChoiceField


InvoiceKindField = _inline_choice_field(Invoice.Kind.values, "invoice or credit_note (avoir).")
InvoiceStatusField = _inline_choice_field(S.values, "draft → issued → partly_paid → paid, or credited.")
PurposeField = _inline_choice_field(Invoice.Purpose.values, "What the invoice bills.")
MethodField = _inline_choice_field(Payment.Method.values, "How the money was paid.")
ProductKindField = _inline_choice_field(Product.Kind.values, "What the product is.")


# --- Allowed actions (the detail's `allowed_actions`) ------------------------------------------------


def allowed_actions(invoice: Invoice, user: Any) -> list[str]:
    """What `user` may do with `invoice` now; the services check the same things again."""
    if Perm.BILLING_EDIT not in permissions_of(user):
        return []
    if invoice.is_draft:
        return ["update", "delete", "issue"]
    if invoice.is_credit_note:
        return []
    actions = []
    if invoice.balance_cents > 0:
        actions.append("record-payment")
    if invoice.gross_cents - invoice.credited_cents > 0:
        actions.append("credit")
    return actions


def _absolute(context: Mapping[str, Any], name: str, pk: int) -> str:
    path = reverse(f"billing-api:{name}", args=[pk])
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


# --- Output: invoices -------------------------------------------------------------------------------


class InvoiceSummarySerializer(ModelSerializer):
    """Another invoice named by this one: the invoice a credit note corrects, a credit note, a payment's invoice."""

    kind = InvoiceKindField(choices=Invoice.Kind.choices)
    status = InvoiceStatusField(choices=S.choices)

    class Meta:
        model = Invoice
        fields = ["id", "kind", "number", "status", "issue_date", "gross_cents"]
        read_only_fields = fields


class InvoiceListSerializer(ModelSerializer):
    """A row of GET /api/v1/invoices/."""

    kind = InvoiceKindField(choices=Invoice.Kind.choices)
    status = InvoiceStatusField(choices=S.choices)
    status_label = serializers.CharField(source="get_status_display")
    purpose = PurposeField(choices=Invoice.Purpose.choices)
    member = MemberSummarySerializer()
    balance_cents = serializers.IntegerField(help_text="What is left to pay (0 for a draft or a credit note).")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "kind",
            "number",
            "status",
            "status_label",
            "purpose",
            "member",
            "credited_invoice_id",
            "issue_date",
            "due_date",
            "period_start",
            "period_end",
            "net_cents",
            "vat_cents",
            "gross_cents",
            "paid_cents",
            "credited_cents",
            "balance_cents",
            "currency",
            "overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overdue(self, invoice: Invoice) -> bool:
        return invoice.is_overdue(self.context.get("today"))


class InvoiceLineSerializer(ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "position",
            "product",
            "label",
            "quantity",
            "unit_price_cents",
            "vat_rate",
            "net_cents",
            "account",
        ]
        read_only_fields = fields


class VatLineSerializer(serializers.Serializer):
    """The VAT of one rate: computed once on the sum of the lines at that rate (EN 16931 BR-CO-17)."""

    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    base_cents = serializers.IntegerField()
    vat_cents = serializers.IntegerField()


class PaymentOfInvoiceSerializer(ModelSerializer):
    method = MethodField(choices=Payment.Method.choices)
    method_label = serializers.CharField(source="get_method_display")
    recorded_by = UserSummarySerializer(allow_null=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "amount_cents",
            "method",
            "method_label",
            "received_on",
            "reference",
            "stripe_payment_intent",
            "bank_line_id",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class InvoiceLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    pdf = serializers.URLField(allow_null=True, help_text="The PDF (Factur-X); null for a draft.")


class InvoiceDetailSerializer(InvoiceListSerializer):
    """GET /api/v1/invoices/{id}/ and the answer of every write: the invoice with its lines and settlement."""

    lines = InvoiceLineSerializer(many=True)
    vat_breakdown = serializers.SerializerMethodField()
    payments = PaymentOfInvoiceSerializer(many=True)
    credit_notes = InvoiceSummarySerializer(many=True)
    credited_invoice = InvoiceSummarySerializer(allow_null=True)
    seller = serializers.DictField(help_text="The firm as frozen when issued (empty for a draft).")
    buyer = serializers.DictField(help_text="The member as frozen when issued (empty for a draft).")
    mentions = serializers.DictField(help_text="The legal mentions frozen when issued (empty for a draft).")
    links = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta(InvoiceListSerializer.Meta):
        fields = [
            *InvoiceListSerializer.Meta.fields,
            "credited_invoice",
            "membership_id",
            "case_id",
            "notes",
            "lines",
            "vat_breakdown",
            "payments",
            "credit_notes",
            "seller",
            "buyer",
            "mentions",
            "issued_at",
            "sent_at",
            "paid_at",
            "pdf_sha256",
            "links",
            "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(VatLineSerializer(many=True))
    def get_vat_breakdown(self, invoice: Invoice) -> Any:
        totals = services.compute_totals(invoice.lines.all())
        return VatLineSerializer(totals.breakdown, many=True).data

    @extend_schema_field(InvoiceLinksSerializer)
    def get_links(self, invoice: Invoice) -> dict[str, Any]:
        return {
            "self": _absolute(self.context, "invoice", invoice.pk),
            "pdf": _absolute(self.context, "invoice-pdf", invoice.pk) if invoice.pdf else None,
        }

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=["update", "delete", "issue", "record-payment", "credit"])
        )
    )
    def get_allowed_actions(self, invoice: Invoice) -> list[str]:
        request = self.context.get("request")
        return allowed_actions(invoice, getattr(request, "user", None))


# --- Output: payments ----------------------------------------------------------------------------


class PaymentSerializer(PaymentOfInvoiceSerializer):
    """A row of GET /api/v1/payments/ and the answer of POST /api/v1/invoices/{id}/payments/."""

    invoice = InvoiceSummarySerializer()
    member = MemberSummarySerializer(source="invoice.member")
    currency = serializers.CharField(source="invoice.currency")
    invoice_balance_cents = serializers.IntegerField(
        source="invoice.balance_cents", help_text="What is left to pay on the invoice now."
    )

    class Meta(PaymentOfInvoiceSerializer.Meta):
        fields = [*PaymentOfInvoiceSerializer.Meta.fields, "invoice", "member", "currency", "invoice_balance_cents"]
        read_only_fields = fields


# --- Output: products ----------------------------------------------------------------------------


class PriceGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PriceSerializer(ModelSerializer):
    group = PriceGroupSerializer(allow_null=True, help_text="The group this price is for; null: the list price.")

    class Meta:
        model = Price
        fields = ["id", "unit_price_cents", "valid_from", "valid_until", "group"]
        read_only_fields = fields


def current_prices(prices: Iterable[Price], on: datetime.date) -> list[Price]:
    """The price in force on `on` for each audience (list price, then each group), as `services.price_of` picks."""
    best: dict[int | None, Price] = {}
    for price in prices:
        if price.valid_from > on or (price.valid_until is not None and price.valid_until < on):
            continue
        held = best.get(price.group_id)
        if held is None or (price.valid_from, price.pk) > (held.valid_from, held.pk):
            best[price.group_id] = price
    return sorted(best.values(), key=lambda p: (p.group_id is not None, p.group.name if p.group else ""))


class ProductSerializer(ModelSerializer):
    """A row of GET /api/v1/products/: the product with the prices in force today."""

    kind = ProductKindField(choices=Product.Kind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    current_prices = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "kind_label",
            "description",
            "vat_rate",
            "account",
            "is_active",
            "current_prices",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PriceSerializer(many=True))
    def get_current_prices(self, product: Product) -> Any:
        today = self.context.get("today") or timezone.localdate()
        return PriceSerializer(current_prices(product.prices.all(), today), many=True).data


class ProductDetailSerializer(ProductSerializer):
    """GET /api/v1/products/{id}/: also every price, past and future, newest first."""

    prices = PriceSerializer(many=True)

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "prices"]
        read_only_fields = fields


# --- Input: invoices ----------------------------------------------------------------------------


def _vat_rate(value: Any) -> Any:
    if value is not None and value not in VAT_RATES:
        raise serializers.ValidationError(_("Taux de TVA inconnu : 20, 10, 5,5, 2,1 ou 0."))
    return value


class LineInputSerializer(serializers.Serializer):
    """A line of a draft or of a credit note; a catalogue `product` gives its label, price and VAT rate by default."""

    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="A product of the catalogue (active): label, current price and VAT rate by default.",
    )
    # A declared field named like Field.label: DRF's metaclass moves it out of the class attributes.
    label = serializers.CharField(required=False, allow_blank=True, max_length=300)  # type: ignore[assignment]
    quantity = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, default=Decimal(1), help_text="Up to 2 decimals (default 1)."
    )
    unit_price_cents = serializers.IntegerField(
        required=False,
        min_value=-services.MAX_AMOUNT_CENTS,
        max_value=services.MAX_AMOUNT_CENTS,
        help_text="Unit price excluding VAT in cents (negative for a discount); default: the product's price.",
    )
    vat_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        validators=[_vat_rate],
        help_text="20.00, 10.00, 5.50, 2.10 or 0.00; default: the product's rate, else 20.00.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("product") and not (attrs.get("label") or "").strip():
            raise serializers.ValidationError({"label": [_("La désignation est obligatoire.")]})
        if not attrs.get("product") and attrs.get("unit_price_cents") is None:
            raise serializers.ValidationError({"unit_price_cents": [_("Indiquez le prix unitaire HT en centimes.")]})
        return attrs


def priced_lines(lines: list[dict[str, Any]], *, member: Member, on: datetime.date) -> list[dict[str, Any]]:
    """The lines as `services.clean_lines` reads them, a product's current price filled in where none is given."""
    result: list[dict[str, Any]] = []
    errors: list[dict[str, list[str]]] = []
    for line in lines:
        line = {key: value for key, value in line.items() if value is not None}
        error: dict[str, list[str]] = {}
        if "unit_price_cents" not in line:
            price = services.price_of(product=line["product"], on=on, group_id=member.group_id)
            if price is None:
                error["unit_price_cents"] = [str(_("Aucun prix de ce produit en vigueur : indiquez le prix."))]
            else:
                line["unit_price_cents"] = price.unit_price_cents
        errors.append(error)
        result.append(line)
    if any(errors):
        raise serializers.ValidationError({"lines": errors})
    return result


def _lines_field(**kwargs: Any) -> serializers.ListSerializer:
    return serializers.ListSerializer(
        child=LineInputSerializer(), allow_empty=False, max_length=services.MAX_LINES, **kwargs
    )


class InvoiceInputSerializer(serializers.Serializer):
    """POST /api/v1/invoices/: a draft for a member."""

    member = serializers.PrimaryKeyRelatedField(queryset=Member.objects.all())
    lines = _lines_field()
    period_start = serializers.DateField(required=False, allow_null=True, help_text="The period of service billed.")
    period_end = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class InvoiceUpdateInputSerializer(serializers.Serializer):
    """PATCH /api/v1/invoices/{id}/ (a draft): what is sent replaces what was; `lines` replaces every line."""

    lines = _lines_field(required=False)
    period_start = serializers.DateField(required=False, allow_null=True)
    period_end = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "member" in data:
            # Silently ignoring it would let a client believe the draft moved to another member.
            raise serializers.ValidationError(
                {"member": [_("L'adhérent d'un brouillon ne change pas : supprimez-le et créez-en un autre.")]}
            )
        return super().to_internal_value(data)


class IssueInputSerializer(serializers.Serializer):
    send = serializers.BooleanField(
        required=False, default=True, help_text="E-mail the invoice to the member's billing contacts (default true)."
    )


class PaymentInputSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField(
        max_value=services.MAX_AMOUNT_CENTS, help_text="Positive, at most what is left to pay."
    )
    method = MethodField(choices=Payment.Method.choices)
    received_on = serializers.DateField(required=False, allow_null=True, help_text="Default: today; not in the future.")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class CreditNoteInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    lines = _lines_field(
        required=False,
        allow_null=True,
        help_text="The lines credited (positive amounts); omitted or null: the whole invoice.",
    )


# --- Input: products ----------------------------------------------------------------------------


class ProductInputSerializer(ModelSerializer):
    """POST /api/v1/products/ (code, name, kind required) and PATCH (any subset; code and kind never change)."""

    kind = ProductKindField(choices=Product.Kind.choices)
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, validators=[_vat_rate])

    class Meta:
        model = Product
        fields = ["code", "name", "kind", "description", "vat_rate", "account", "is_active"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        product = self.instance
        if product is not None:
            for name in ("code", "kind"):
                if name in attrs and attrs[name] != getattr(product, name):
                    raise serializers.ValidationError({name: [_("Ce champ ne change plus une fois le produit créé.")]})
        return attrs


class PriceInputSerializer(serializers.Serializer):
    unit_price_cents = serializers.IntegerField(
        max_value=services.MAX_AMOUNT_CENTS, help_text="Unit price excluding VAT in cents."
    )
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(required=False, allow_null=True)
    group = serializers.PrimaryKeyRelatedField(
        queryset=Group.objects.all(),
        required=False,
        allow_null=True,
        help_text="A group's own price; null: the list price.",
    )

"""Staff forms of billing: filters, draft invoices with their lines, payments, credit notes, catalogue, settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import VAT_RATES, BillingSettings, Invoice, Payment, Product
from core.money import parse_euros
from firm import validators as identifiers
from mediation.members.models import Group, Member

VAT_CHOICES = [(f"{rate:.2f}", f"{rate.normalize():f} %".replace(".", ",")) for rate in VAT_RATES]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EurosField(forms.Field):
    """An amount typed in euros ("129,90", "1 299,90 €"), cleaned to integer cents; `signed` allows "-10,00"."""

    widget = forms.TextInput

    def __init__(self, *args: Any, signed: bool = False, **kwargs: Any) -> None:
        self.signed = signed
        super().__init__(*args, **kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "inputmode": "decimal", "autocomplete": "off", "maxlength": "20"}

    def to_python(self, value: Any) -> int | None:
        text = str(value or "").strip()
        if not text:
            return None
        negative = self.signed and text.startswith("-")
        try:
            if len(text) > 20:
                raise ValueError("too long")
            cents = parse_euros(text.removeprefix("-") if negative else text)
        except ValueError as exc:
            raise forms.ValidationError(_("Montant invalide : écrivez par exemple 129,90."), code="invalid") from exc
        if cents is None:
            return None
        return -cents if negative else cents


class InvoiceFilterForm(forms.Form):
    STATUS_CHOICES = [("", _("Tous les statuts")), ("overdue", _("En retard")), *Invoice.Status.choices]

    q = forms.CharField(label=_("Numéro, adhérent ou SIREN"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Statut"), choices=STATUS_CHOICES, required=False)
    kind = forms.ChoiceField(
        label=_("Type"), choices=[("", _("Factures et avoirs")), *Invoice.Kind.choices], required=False
    )
    purpose = forms.ChoiceField(label=_("Objet"), choices=[("", _("Tous")), *Invoice.Purpose.choices], required=False)
    issued_from = forms.DateField(label=_("Émise à partir du"), required=False, widget=DATE_INPUT)
    issued_to = forms.DateField(label=_("Émise jusqu'au"), required=False, widget=DATE_INPUT)
    member = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def filters(self) -> dict[str, Any]:
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in self.fields if name not in self.errors}


class InvoiceForm(forms.Form):
    siren = forms.CharField(
        label=_("SIREN de l'adhérent"), max_length=11, help_text=_("Les 9 chiffres du SIREN de l'entreprise facturée.")
    )
    period_start = forms.DateField(label=_("Période du"), required=False, widget=DATE_INPUT)
    period_end = forms.DateField(label=_("au"), required=False, widget=DATE_INPUT)
    notes = forms.CharField(
        label=_("Mentions particulières"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_siren(self) -> Member:
        value = self.cleaned_data["siren"]
        identifiers.validate_siren(value)
        siren = identifiers.normalize_siren(value)
        member = Member.objects.filter(siren=siren).first()
        if member is None:
            raise forms.ValidationError(_("Aucun adhérent n'a ce SIREN."), code="unknown_member")
        return member

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("La fin de la période précède son début."))
        return data


class LineForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Produit"), queryset=Product.objects.filter(is_active=True), required=False, empty_label="—"
    )
    label = forms.CharField(label=_("Désignation"), max_length=300, required=False)
    quantity = forms.DecimalField(
        label=_("Quantité"), max_digits=10, decimal_places=2, min_value=Decimal("0.01"), initial=1, required=False
    )
    unit_price = EurosField(
        label=_("Prix unitaire HT (€)"), required=False, signed=True, help_text=_("Négatif pour une remise.")
    )
    vat_rate = forms.ChoiceField(label=_("TVA"), choices=VAT_CHOICES, initial="20.00")

    def line(self, on: Any) -> dict[str, Any] | None:
        """The service's line dict, or None for an empty row; the product's price fills an empty price."""
        from billing import services

        data = self.cleaned_data
        product, label, price = data.get("product"), (data.get("label") or "").strip(), data.get("unit_price")
        if not product and not label and price is None:
            return None
        if price is None and product is not None:
            found = services.price_of(product=product, on=on)
            price = found.unit_price_cents if found else None
        if price is None:
            raise forms.ValidationError(_("Indiquez le prix unitaire."), code="price_missing")
        rate = data.get("vat_rate") or (f"{product.vat_rate:.2f}" if product else "20.00")
        return {
            "product": product,
            "label": label or (product.name if product else ""),
            "quantity": data.get("quantity") or Decimal(1),
            "unit_price_cents": price,
            "vat_rate": rate,
        }


LineFormSet = formset_factory(LineForm, extra=0, min_num=1, max_num=200, validate_max=True)


def line_initial(invoice: Invoice) -> list[dict[str, Any]]:
    from core.money import format_euros

    return [
        {
            "product": line.product_id,
            "label": line.label,
            "quantity": line.quantity,
            "unit_price": format_euros(line.unit_price_cents).replace("\u00a0€", "").replace("\u202f", " "),
            "vat_rate": f"{line.vat_rate:.2f}",
        }
        for line in invoice.lines.all()
    ]


class PaymentForm(forms.Form):
    amount = EurosField(label=_("Montant reçu (€)"))
    method = forms.ChoiceField(label=_("Moyen de paiement"), choices=Payment.Method.choices, initial="transfer")
    received_on = forms.DateField(label=_("Reçu le"), widget=DATE_INPUT)
    reference = forms.CharField(label=_("Référence"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()


class CreditNoteForm(forms.Form):
    FULL, PARTIAL = "full", "partial"

    reason = forms.CharField(label=_("Motif de l'avoir"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    scope = forms.ChoiceField(
        label=_("Étendue"),
        choices=[(FULL, _("Toute la facture")), (PARTIAL, _("Une partie (montant ci-dessous)"))],
        initial=FULL,
        widget=forms.RadioSelect,
    )
    label = forms.CharField(label=_("Désignation de la ligne d'avoir"), max_length=300, required=False)
    amount = EurosField(label=_("Montant HT à créditer (€)"), required=False)
    vat_rate = forms.ChoiceField(label=_("TVA"), choices=VAT_CHOICES, initial="20.00", required=False)

    def lines(self) -> list[dict[str, Any]] | None:
        data = self.cleaned_data
        if data["scope"] == self.FULL:
            return None
        return [
            {
                "label": data.get("label") or data["reason"][:300],
                "quantity": 1,
                "unit_price_cents": data["amount"],
                "vat_rate": data.get("vat_rate") or "20.00",
            }
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == self.PARTIAL and not data.get("amount"):
            self.add_error("amount", _("Indiquez le montant à créditer."))
        return data


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ("code", "name", "kind", "description", "vat_rate", "account", "is_active")
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class PriceForm(forms.Form):
    price = EurosField(label=_("Prix unitaire HT (€)"))
    valid_from = forms.DateField(label=_("Valable à partir du"), widget=DATE_INPUT)
    valid_until = forms.DateField(label=_("jusqu'au"), required=False, widget=DATE_INPUT)
    group = forms.ModelChoiceField(
        label=_("Prix réservé à un groupement"),
        queryset=Group.objects.order_by("name"),
        required=False,
        empty_label=_("Tous les adhérents"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("La fin de validité précède son début."))
        return data


TERMS_FIELDS = (
    "payment_terms_days",
    "payment_terms_text",
    "late_penalty_text",
    "recovery_indemnity",
    "vat_on_debits",
    "vat_exemption_text",
)
DUNNING_FIELDS = (
    "proration",
    "renewal_lead_days",
    "first_reminder_days",
    "second_reminder_days",
    "suspend_after_days",
)
ACCOUNTING_FIELDS = (
    "account_customers",
    "account_sales",
    "account_vat",
    "account_bank",
    "journal_sales",
    "journal_bank",
)


class BillingSettingsForm(forms.ModelForm):
    TERMS_FIELDS = TERMS_FIELDS
    DUNNING_FIELDS = DUNNING_FIELDS
    ACCOUNTING_FIELDS = ACCOUNTING_FIELDS

    recovery_indemnity = EurosField(label=_("Indemnité forfaitaire de recouvrement (€)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cents = self.instance.recovery_indemnity_cents if self.instance else 4000
        self.fields["recovery_indemnity"].initial = f"{cents // 100},{cents % 100:02d}"

    def save(self, commit: bool = True) -> BillingSettings:
        self.instance.recovery_indemnity_cents = self.cleaned_data["recovery_indemnity"]
        return super().save(commit=commit)

    class Meta:
        model = BillingSettings
        fields = tuple(
            name for name in (*TERMS_FIELDS, *DUNNING_FIELDS, *ACCOUNTING_FIELDS) if name != "recovery_indemnity"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second, suspend = (
            data.get("first_reminder_days"),
            data.get("second_reminder_days"),
            data.get("suspend_after_days"),
        )
        if (data.get("recovery_indemnity") or 0) < 4000:
            self.add_error(
                "recovery_indemnity", _("L'indemnité légale est d'au moins 40 € (art. D441-5 du Code de commerce).")
            )
        if first is not None and second is not None and suspend is not None and not (first < second <= suspend):
            self.add_error(
                "second_reminder_days",
                _("Les délais se suivent : première relance, puis seconde relance, puis suspension."),
            )
        return data

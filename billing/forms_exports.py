"""Forms of the finance exports (filters, the FEC's period) and of the bank statement import."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import bank_import, fec
from billing.exports import Period
from billing.models import Invoice, Payment

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
MAX_FEC_DAYS = 2 * 366  # a first financial year may last up to 23 months


def _date_field(label: Any, *, required: bool = False) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DATE_INPUT, input_formats=DATE_FORMATS)


class PeriodForm(forms.Form):
    """A period, both bounds optional; the end may not precede the start."""

    date_from = _date_field(_("Du"))
    date_to = _date_field(_("Au"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("La fin de la période précède son début."))
        return data

    def period(self) -> Period:
        data = self.cleaned_data
        return Period(
            start=data.get("date_from"),
            end=data.get("date_to"),
            status=data.get("status") or "",
            method=data.get("method") or "",
        )


class InvoiceExportForm(PeriodForm):
    STATUS_CHOICES = [
        ("", _("Tous les statuts")),
        ("overdue", _("En retard")),
        *[(value, label) for value, label in Invoice.Status.choices if value != Invoice.Status.DRAFT],
    ]

    status = forms.ChoiceField(label=_("Statut"), choices=STATUS_CHOICES, required=False)


class PaymentExportForm(PeriodForm):
    method = forms.ChoiceField(
        label=_("Moyen de paiement"), choices=[("", _("Tous")), *Payment.Method.choices], required=False
    )


class AgedForm(forms.Form):
    DETAIL_CHOICES = [("member", _("Par adhérent")), ("invoice", _("Par facture"))]

    at = _date_field(_("Situation au"))
    detail = forms.ChoiceField(label=_("Détail (CSV)"), choices=DETAIL_CHOICES, required=False)

    def clean_at(self) -> datetime.date:
        at = self.cleaned_data.get("at") or timezone.localdate()
        if at > timezone.localdate():
            raise forms.ValidationError(_("Choisissez une date passée ou aujourd'hui."), code="future")
        return at


def _previous_year() -> tuple[datetime.date, datetime.date]:
    year = timezone.localdate().year - 1
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


class FecForm(forms.Form):
    ENCODING_CHOICES = [
        ("utf-8", _("UTF-8 (recommandé)")),
        ("iso-8859-15", _("ISO 8859-15 (anciens logiciels)")),
    ]

    start = _date_field(_("Début de l'exercice"), required=True)
    end = _date_field(_("Clôture de l'exercice"), required=True)
    encoding = forms.ChoiceField(label=_("Encodage"), choices=ENCODING_CHOICES, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        start, end = _previous_year()
        self.fields["start"].initial = start
        self.fields["end"].initial = end

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("La clôture précède le début de l'exercice."))
            elif (end - start).days > MAX_FEC_DAYS:
                self.add_error("end", _("Un exercice dure au plus 24 mois."))
        if data.get("encoding") not in fec.ENCODINGS:
            data["encoding"] = "utf-8"
        return data


class BankUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Relevé bancaire (CSV)"),
        help_text=_(
            "L'export CSV de votre banque : une ligne d'en-tête avec la date, le libellé et le montant (ou le débit "
            "et le crédit) ; 2 Mo au plus. Seuls les crédits sont repris."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        assert isinstance(upload, UploadedFile)
        if upload.size is not None and upload.size > bank_import.MAX_BYTES:
            raise forms.ValidationError(
                _("Ce fichier pèse plus de %(max)s Mo : exportez une période plus courte."),
                code="too_large",
                params={"max": bank_import.MAX_BYTES // 2**20},
            )
        data = upload.read(bank_import.MAX_BYTES + 1)
        upload.seek(0)
        try:
            bank_import.parse_statement(data, upload.name or "")
        except bank_import.BankFileError as exc:
            raise forms.ValidationError(
                [forms.ValidationError(message, code="bad_file") for message in exc.errors]
            ) from None
        return upload


class AssignForm(forms.Form):
    """The invoice a bank line pays, typed by staff."""

    number = forms.CharField(label=_("N° de facture"), max_length=60)

    def clean_number(self) -> Invoice:
        number = self.cleaned_data["number"]
        invoice = bank_import.invoice_by_number(number)
        if invoice is None:
            raise forms.ValidationError(
                _("Aucune facture n° « %(number)s ».") % {"number": number.strip()[:60]}, code="unknown"
            )
        return invoice

"""The upload form of the member import: a CSV or XLSX file and what to do with SIRENs already on file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from mediation.members import bulk_import


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier CSV ou XLSX"),
        help_text=_(
            "Une ligne d'en-tête puis une ligne par entreprise ; 10 Mo et 50 000 lignes au plus. "
            "CSV en UTF-8, séparé par des points-virgules ou des virgules."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )
    on_duplicate = forms.ChoiceField(
        label=_("Entreprises déjà enregistrées (même SIREN)"),
        choices=bulk_import.ON_DUPLICATE_CHOICES,
        initial=bulk_import.UPDATE,
        widget=forms.RadioSelect,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        assert isinstance(upload, UploadedFile)
        if upload.size is not None and upload.size > bulk_import.MAX_BYTES:
            raise forms.ValidationError(
                _("Ce fichier pèse plus de %(max)s Mo : découpez-le en plusieurs fichiers."),
                code="too_large",
                params={"max": bulk_import.MAX_BYTES // 2**20},
            )
        data = upload.read()
        upload.seek(0)
        try:
            bulk_import.inspect(data, upload.name or "")
        except bulk_import.ImportFileError as exc:
            raise forms.ValidationError(exc.message, code="bad_file") from None
        return upload

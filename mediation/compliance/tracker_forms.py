"""The filing tracker's forms: filters, an obligation, its completion date, a document."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from firm.site_forms import DATE_WIDGET, MAX_TEXT_CHARS
from mediation.compliance import tracker
from mediation.compliance.models import DOCUMENT_MAX_BYTES, Obligation

ALL = [("", _("Tous"))]


class FilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Statut"), choices=ALL + list(Obligation.Status.choices), required=False)
    kind = forms.ChoiceField(label=_("Type"), choices=ALL + list(Obligation.Kind.choices), required=False)

    def filters(self) -> dict[str, str]:
        """The valid filters (none when the form has errors: the page then lists everything and says why)."""
        if not self.is_valid():
            return {}
        return {name: self.cleaned_data[name] for name in ("status", "kind")}


class ObligationForm(forms.Form):
    """An obligation's title, due date and notes; with its kind when it is created."""

    def __init__(self, *args: Any, with_kind: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = ("kind", *tracker.EDITABLE_FIELDS) if with_kind else tracker.EDITABLE_FIELDS
        widgets: dict[str, Any] = {"due_on": DATE_WIDGET, "notes": forms.Textarea(attrs={"rows": 4})}
        self.fields.update(forms.fields_for_model(Obligation, fields=names, widgets=widgets))
        self.fields["notes"].validators.append(MaxLengthValidator(MAX_TEXT_CHARS))

    @staticmethod
    def initial_for(item: Obligation) -> dict[str, Any]:
        return {name: getattr(item, name) for name in tracker.EDITABLE_FIELDS}


class DoneForm(forms.Form):
    done_on = forms.DateField(label=_("Fait le"), widget=DATE_WIDGET)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"done_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class DocumentForm(forms.Form):
    file = forms.FileField(
        label=_("Document"),
        help_text=format_lazy(
            _("{max} Mo au plus ; formats : {extensions}."),
            max=DOCUMENT_MAX_BYTES // 2**20,
            extensions=", ".join(tracker.DOCUMENT_EXTENSIONS),
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(f".{e}" for e in tracker.DOCUMENT_EXTENSIONS)}),
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        assert isinstance(upload, UploadedFile)
        tracker.check_document(upload)  # its ValidationError shows next to the field
        return upload

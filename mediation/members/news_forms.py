"""The news draft form: subject, text, and the segment with the value it names (one select per kind)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from mediation.members import news as svc
from mediation.members.models import News

Segment = News.Segment
# The form field that holds the value of each segment that takes one.
VALUE_FIELDS = {Segment.GROUP: "group", Segment.SECTOR: "sector", Segment.HEADCOUNT: "headcount_band"}


class NewsForm(forms.Form):
    subject = forms.CharField(label=_("Objet"), max_length=200)
    body = forms.CharField(
        label=_("Texte"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Texte brut, envoyé tel quel. Un lien de désabonnement des actualités est ajouté à la fin de chaque e-mail."
        ),
    )
    segment = forms.ChoiceField(label=_("Destinataires"), choices=Segment.choices, widget=forms.RadioSelect)
    group = forms.ChoiceField(label=_("Groupement ou fédération"), required=False, help_text=_("Si « Un groupement »."))
    sector = forms.ChoiceField(label=_("Secteur"), required=False, help_text=_("Si « Un secteur »."))
    headcount_band = forms.ChoiceField(
        label=_("Tranche d'effectif"), required=False, help_text=_("Si « Une tranche d'effectif ».")
    )

    def __init__(self, *args: Any, instance: News | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            initial: dict[str, Any] = {"subject": instance.subject, "body": instance.body, "segment": instance.segment}
            field = VALUE_FIELDS.get(Segment(instance.segment)) if instance.segment in Segment.values else None
            if field:
                initial[field] = instance.segment_value
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        blank = [("", "—")]
        for name, segment in (
            ("group", Segment.GROUP),
            ("sector", Segment.SECTOR),
            ("headcount_band", Segment.HEADCOUNT),
        ):
            cast(forms.ChoiceField, self.fields[name]).choices = blank + svc.segment_choices(segment)
        if not svc.segment_choices(Segment.GROUP):
            self.fields["group"].help_text = _("Aucun groupement ni fédération enregistré.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        segment = data.get("segment")
        if not segment:
            return data
        field = VALUE_FIELDS.get(Segment(segment))
        value = data.get(field, "") if field else ""
        try:
            data["segment_value"] = svc.check_segment(segment=segment, value=value)
        except svc.NewsError as exc:
            self.add_error(field or "segment", exc.message)
        return data

    def values(self) -> dict[str, str]:
        """The keyword arguments of `news.create_news` / `news.update_news`."""
        data = self.cleaned_data
        return {
            "subject": data["subject"],
            "body": data["body"],
            "segment": data["segment"],
            "segment_value": data.get("segment_value", ""),
        }

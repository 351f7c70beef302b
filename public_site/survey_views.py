"""The consumer's satisfaction survey page (`/avis/<token>/`): no login, the secret link is the key."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from mediation.cases import survey as surveys
from mediation.cases.errors import CaseError
from mediation.cases.models import SatisfactionSurvey

YES_NO = [("", _("Sans avis")), ("yes", _("Oui")), ("no", _("Non"))]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class SurveyForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Dans l'ensemble, êtes-vous satisfait de la médiation ?"),
        choices=SatisfactionSurvey.Rating.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )
    clear_information = forms.ChoiceField(
        label=_("Les informations reçues étaient-elles claires ?"),
        choices=YES_NO,
        required=False,
        widget=forms.RadioSelect,
    )
    reasonable_duration = forms.ChoiceField(
        label=_("La durée de traitement vous a-t-elle paru raisonnable ?"),
        choices=YES_NO,
        required=False,
        widget=forms.RadioSelect,
    )
    would_recommend = forms.ChoiceField(
        label=_("Recommanderiez-vous la médiation à un proche ?"),
        choices=YES_NO,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Un commentaire ? (facultatif)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def survey(request: HttpRequest, token: str) -> HttpResponse:
    found = surveys.survey_by_token(token)
    if found is None:
        raise Http404
    if found.answered_at is not None:
        return render(request, "public_site/survey/thanks.html", {"already": True})
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            surveys.answer(
                survey=found,
                rating=data["rating"],
                clear_information=_yes_no(data["clear_information"]),
                reasonable_duration=_yes_no(data["reasonable_duration"]),
                would_recommend=_yes_no(data["would_recommend"]),
                comment=data["comment"],
            )
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            return render(request, "public_site/survey/thanks.html", {"already": False})
    status = 400 if form.errors else 200
    return render(request, "public_site/survey/form.html", {"form": form, "case": found.case}, status=status)

"""Staff pages of the renewal run and of the dunning letters (/staff/facturation/renouvellements/).

billing.view reads (runs, progress, reminders sent); billing.edit starts a run and edits the letters.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Perm, forbidden, require_perm, user_has_perm
from billing import dunning, renewals, services
from billing.errors import BillingError
from billing.models import RenewalRun

RUNS_SHOWN = 30
ERRORS_SHOWN = 500
NOTICES_SHOWN = 50


class RunForm(forms.Form):
    run_on = forms.DateField(
        label=gettext_lazy("Date du traitement"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy(
            "Les adhésions qui se terminent au plus tard à cette date, plus le délai de facturation du "
            "renouvellement, sont renouvelées."
        ),
    )

    def clean_run_on(self) -> datetime.date:
        run_on: datetime.date = self.cleaned_data["run_on"]
        today = timezone.localdate()
        if run_on < today:
            raise ValidationError(_("La date du traitement ne peut pas être passée."))
        if run_on > today + datetime.timedelta(days=366):
            raise ValidationError(_("Choisissez une date dans l'année qui vient."))
        return run_on


class LettersForm(forms.Form):
    first_reminder_subject = forms.CharField(label=gettext_lazy("Objet"), max_length=200, required=False)
    first_reminder_body = forms.CharField(
        label=gettext_lazy("Texte"), required=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    second_reminder_subject = forms.CharField(label=gettext_lazy("Objet"), max_length=200, required=False)
    second_reminder_body = forms.CharField(
        label=gettext_lazy("Texte"), required=False, widget=forms.Textarea(attrs={"rows": 10})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The default letter shows through while the firm has none of its own.
        for name, text in dunning.default_letters().items():
            self.fields[name].widget.attrs["placeholder"] = text
            self.fields[name].help_text = _("Vide : le texte par défaut, affiché en grisé.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in dunning.TEMPLATE_FIELDS:
            unknown = dunning.unknown_placeholders(cleaned.get(name) or "")
            if unknown:
                self.add_error(
                    name,
                    _("Champs inconnus : %(names)s.") % {"names": ", ".join(f"{{{n}}}" for n in unknown)},
                )
        return cleaned


def _run(pk: int) -> RenewalRun:
    run = renewals.runs().filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def _list_context(request: HttpRequest, form: RunForm, preview: renewals.Preview | None) -> dict[str, Any]:
    config = services.billing_settings()
    return {
        "form": form,
        "preview": preview,
        "runs": renewals.runs()[:RUNS_SHOWN],
        "running": renewals.running_run(),
        "lead_days": config.renewal_lead_days,
        "can_edit": user_has_perm(request.user, Perm.BILLING_EDIT),
    }


@require_perm(Perm.BILLING_VIEW)
@require_GET
def renewal_list(request: HttpRequest) -> HttpResponse:
    """The past runs; with ?run_on=…, the preview of a run on that date."""
    preview = None
    if "run_on" in request.GET:
        form = RunForm(request.GET)
        if form.is_valid():
            preview = renewals.preview(run_on=form.cleaned_data["run_on"])
    else:
        form = RunForm(initial={"run_on": timezone.localdate()})
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "billing/renewals/list.html", _list_context(request, form, preview), status=status)


@require_perm(Perm.BILLING_EDIT)
@require_POST
def renewal_start(request: HttpRequest) -> HttpResponse:
    form = RunForm(request.POST)
    if form.is_valid():
        try:
            run = renewals.start_run(by=request.user, run_on=form.cleaned_data["run_on"])
        except BillingError as exc:
            form.add_error("run_on" if exc.field == "run_on" else None, exc.message)
            status = 409 if exc.code == "run_in_progress" else 400
            return render(request, "billing/renewals/list.html", _list_context(request, form, None), status=status)
        messages.success(request, _("Le traitement des renouvellements est lancé : cette page suit sa progression."))
        return redirect("billing-renewals:detail", pk=run.pk)
    return render(request, "billing/renewals/list.html", _list_context(request, form, None), status=400)


@require_perm(Perm.BILLING_VIEW)
@require_GET
def renewal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(pk)
    errors = run.errors or []
    context = {
        "run": run,
        "until": renewals.window_end(run.run_on),
        "progress": renewals.progress(run),
        "errors": errors[:ERRORS_SHOWN],
        "error_count": len(errors),
    }
    return render(request, "billing/renewals/detail.html", context)


@require_perm(Perm.BILLING_VIEW)
@require_GET
def renewal_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled every 2 s by the run's page while it runs."""
    response = JsonResponse(renewals.progress(_run(pk)))
    response["Cache-Control"] = "no-store"
    return response


@require_perm(Perm.BILLING_VIEW)
@require_http_methods(["GET", "POST"])
def dunning_letters(request: HttpRequest) -> HttpResponse:
    """The reminders sent lately; the firm's letters (edited with billing.edit)."""
    can_edit = user_has_perm(request.user, Perm.BILLING_EDIT)
    config = services.billing_settings()
    initial = {name: getattr(config, name) for name in dunning.TEMPLATE_FIELDS}
    form = LettersForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if not can_edit:
            return forbidden(request)
        if form.is_valid():
            try:
                dunning.save_letters(by=request.user, values=form.cleaned_data)
            except BillingError as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(request, _("Les lettres de relance sont enregistrées."))
                return redirect("billing-renewals:dunning")
        status = 400
    context = {
        "form": form,
        "can_edit": can_edit,
        "config": config,
        "placeholders": dunning.PLACEHOLDERS,
        "notices": dunning.notices()[:NOTICES_SHOWN],
    }
    return render(request, "billing/renewals/dunning.html", context, status=status)

"""Recurring dysfunctions' staff pages (/staff/conformite/dysfonctionnements/).

cases.view reads the alerts; cases.decide closes one and sends the letter of recommendations; the thresholds and
the letter's text are changed by whoever holds firm.settings or reports.edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import Perm, forbidden, require_perm, user_has_perm
from firm.site_forms import add_service_error
from mediation.compliance import dysfunctions
from mediation.compliance.dysfunction_forms import CloseAlertForm, DysfunctionSettingsForm
from mediation.compliance.models import DysfunctionAlert

# The requests listed under a sector alert (the inbox cannot filter by sector); the count says how many there are.
REFERENCES_SHOWN = 50


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the permission check let only staff users through
    return request.user


def _require_settings_editor(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """firm.settings or reports.edit (require_perm takes one permission)."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not dysfunctions.can_edit_settings(request.user):
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class AlertLine:
    alert: DysfunctionAlert
    window: str
    cases_url: str  # the inbox filtered on the alert's business or subject; "" for a sector
    references: list[str]  # a sector's requests, when the inbox cannot list them
    more: int  # requests of a sector beyond the references shown


def _inbox_url(alert: DysfunctionAlert) -> str:
    if alert.scope == DysfunctionAlert.Scope.SUBJECT:
        return f"{reverse('cases:inbox')}?{urlencode({'subject': alert.value})}"
    if alert.scope == DysfunctionAlert.Scope.MEMBER:
        member = dysfunctions.alert_member(alert)
        return f"{reverse('cases:inbox')}?{urlencode({'member': member.siren})}" if member else ""
    return ""


def _line(alert: DysfunctionAlert, *, with_cases: bool) -> AlertLine:
    references: list[str] = []
    more = 0
    if with_cases and alert.scope == DysfunctionAlert.Scope.SECTOR:
        cases = dysfunctions.alert_cases(alert).exclude(reference=None).order_by("-received_at", "-pk")
        references = [ref for ref in cases.values_list("reference", flat=True)[:REFERENCES_SHOWN] if ref]
        more = max(alert.cases_count - len(references), 0)
    return AlertLine(alert, dysfunctions.window_label(alert), _inbox_url(alert), references, more)


@require_perm(Perm.CASES_VIEW)
def alert_list(request: HttpRequest) -> HttpResponse:
    open_lines = [_line(alert, with_cases=True) for alert in dysfunctions.open_alerts()]
    closed_lines = [_line(alert, with_cases=False) for alert in dysfunctions.closed_alerts()[:100]]
    context = {
        "open_lines": open_lines,
        "closed_lines": closed_lines,
        "settings_row": dysfunctions.current_settings(),
        "can_decide": user_has_perm(request.user, Perm.CASES_DECIDE),
        "can_edit_settings": dysfunctions.can_edit_settings(request.user),
        "close_form": CloseAlertForm(),
    }
    return render(request, "compliance/dysfunctions/list.html", context)


@require_POST
@require_perm(Perm.CASES_DECIDE)
def alert_close(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(DysfunctionAlert, pk=pk)
    form = CloseAlertForm(request.POST)
    if form.is_valid():
        try:
            dysfunctions.close_alert(alert=alert, by=_acting_user(request), note=form.cleaned_data["note"])
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("L'alerte « %(label)s » est traitée.") % {"label": alert.label})
            return redirect("dysfunctions:list")
    context = {"alert": alert, "form": form, "window": dysfunctions.window_label(alert)}
    return render(request, "compliance/dysfunctions/close.html", context, status=400)


def _member_alert(pk: int) -> DysfunctionAlert:
    return get_object_or_404(DysfunctionAlert, pk=pk, scope=DysfunctionAlert.Scope.MEMBER)


def _letter_page(request: HttpRequest, alert: DysfunctionAlert, *, error: str = "", status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {"alert": alert, "window": dysfunctions.window_label(alert), "error": error}
    try:
        context["letter"] = dysfunctions.render_letter(alert=alert, by=_acting_user(request))
    except dysfunctions.LetterError as exc:
        context["error"], status = str(exc), 404
    context["can_decide"] = user_has_perm(request.user, Perm.CASES_DECIDE) and "letter" in context
    return render(request, "compliance/dysfunctions/letter.html", context, status=status)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.CASES_VIEW)
def alert_letter(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the letter as it would leave now, and to whom; POST (cases.decide): its PDF e-mailed to the business."""
    alert = _member_alert(pk)
    if request.method != "POST":
        return _letter_page(request, alert)
    if not user_has_perm(request.user, Perm.CASES_DECIDE):
        return forbidden(request)
    try:
        letter = dysfunctions.send_letter(alert=alert, by=_acting_user(request))
    except dysfunctions.LetterError as exc:
        return _letter_page(request, alert, error=str(exc), status=400)
    assert letter.contact is not None  # send_letter refuses a business without one
    messages.success(
        request,
        _("La lettre de recommandations est envoyée à %(name)s (%(email)s).")
        % {"name": letter.contact, "email": letter.contact.email},
    )
    return redirect("dysfunctions:list")


@require_perm(Perm.CASES_VIEW)
def alert_letter_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The letter's PDF as it would leave now."""
    alert = _member_alert(pk)
    try:
        pdf, filename = dysfunctions.letter_pdf(alert=alert, by=_acting_user(request))
    except dysfunctions.LetterError as exc:
        raise Http404(str(exc)) from exc
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@_require_settings_editor
@require_http_methods(["GET", "POST"])
def settings_edit(request: HttpRequest) -> HttpResponse:
    form = DysfunctionSettingsForm(request.POST or None, instance=dysfunctions.current_settings())
    if request.method == "POST" and form.is_valid():
        user = _acting_user(request)
        try:
            with transaction.atomic():  # the thresholds and the letter's text together, or neither
                dysfunctions.save_settings(by=user, values=form.settings_values())
                dysfunctions.save_letter_template(
                    by=user, subject=form.cleaned_data["letter_subject"], body=form.cleaned_data["letter_body"]
                )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Les seuils de dysfonctionnement sont enregistrés."))
            return redirect("dysfunctions:list")
    context = {"form": form, "saved": dysfunctions.settings_saved(), "variables": dysfunctions.LETTER_VARIABLES}
    return render(request, "compliance/dysfunctions/settings.html", context, status=400 if form.errors else 200)

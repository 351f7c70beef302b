"""The CECMC filing tracker's staff pages (/staff/conformite/obligations/).

reports.view reads the obligations and downloads their documents; reports.edit
creates, edits, closes, reopens and attaches documents. The views parse the
request and call `tracker`; a service's ValidationError comes back on the form.
"""

from __future__ import annotations

import mimetypes
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm, user_has_perm
from firm.site_forms import add_service_error
from mediation.compliance import tracker
from mediation.compliance.models import Obligation
from mediation.compliance.tracker_forms import DocumentForm, DoneForm, FilterForm, ObligationForm


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _get(pk: int) -> Obligation:
    item = tracker.obligation(pk=pk)
    if item is None:
        raise Http404
    return item


def _rows(items: Any, today: Any) -> list[tuple[Obligation, str, bool]]:
    return [(item, tracker.timing_text(item, today), tracker.days_left(item, today) < 0) for item in items]


@require_perm(Perm.REPORTS_VIEW)
def obligation_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET or None)
    filters = form.filters()
    queryset = tracker.obligations(**filters)
    today = timezone.localdate()
    context = {
        "form": form,
        "to_do": _rows(tracker.to_do(queryset), today),
        "closed": list(tracker.closed(queryset)),
        "filtered": any(filters.values()),
        "can_edit": user_has_perm(request.user, Perm.REPORTS_EDIT),
    }
    return render(request, "compliance/tracker/list.html", context)


@require_perm(Perm.REPORTS_EDIT)
@require_http_methods(["GET", "POST"])
def obligation_create(request: HttpRequest) -> HttpResponse:
    form = ObligationForm(request.POST or None, with_kind=True)
    if request.method == "POST" and form.is_valid():
        try:
            item = tracker.create_obligation(by=_acting_user(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("L'obligation a été ajoutée."))
            return redirect("tracker:detail", pk=item.pk)
    return render(request, "compliance/tracker/create.html", {"form": form}, status=400 if form.errors else 200)


def _detail(request: HttpRequest, item: Obligation, *, status: int = 200, **forms: Any) -> HttpResponse:
    today = timezone.localdate()
    can_edit = user_has_perm(request.user, Perm.REPORTS_EDIT)
    context = {
        "item": item,
        "timing": tracker.timing_text(item, today),
        "overdue": item.status == Obligation.Status.TODO and tracker.days_left(item, today) < 0,
        "documents": tracker.documents_of(item),
        "can_edit": can_edit,
        "edit_form": forms.get("edit_form") or ObligationForm(initial=ObligationForm.initial_for(item)),
        "done_form": forms.get("done_form") or DoneForm(),
        "document_form": forms.get("document_form") or DocumentForm(),
        "error": forms.get("error"),
    }
    return render(request, "compliance/tracker/detail.html", context, status=status)


@require_perm(Perm.REPORTS_VIEW)
def obligation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _get(pk))


@require_perm(Perm.REPORTS_EDIT)
@require_POST
def obligation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get(pk)
    form = ObligationForm(request.POST)
    if form.is_valid():
        try:
            tracker.update_obligation(by=_acting_user(request), obligation=item, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("L'obligation a été modifiée."))
            return redirect("tracker:detail", pk=item.pk)
    return _detail(request, item, status=400, edit_form=form)


@require_perm(Perm.REPORTS_EDIT)
@require_POST
def obligation_done(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get(pk)
    form = DoneForm(request.POST)
    if form.is_valid():
        try:
            tracker.mark_done(by=_acting_user(request), obligation=item, done_on=form.cleaned_data["done_on"])
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("L'obligation est marquée comme faite."))
            return redirect("tracker:detail", pk=item.pk)
    return _detail(request, item, status=400, done_form=form)


def _status_change(request: HttpRequest, pk: int, change: Any, success: str) -> HttpResponse:
    item = _get(pk)
    try:
        change(by=_acting_user(request), obligation=item)
    except ValidationError as exc:
        return _detail(request, item, status=409, error=" ".join(exc.messages))
    messages.success(request, success)
    return redirect("tracker:detail", pk=item.pk)


@require_perm(Perm.REPORTS_EDIT)
@require_POST
def obligation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_change(request, pk, tracker.cancel, _("L'obligation est marquée sans objet."))


@require_perm(Perm.REPORTS_EDIT)
@require_POST
def obligation_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_change(request, pk, tracker.reopen, _("L'obligation est de nouveau à faire."))


@require_perm(Perm.REPORTS_EDIT)
@require_POST
def document_add(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get(pk)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            tracker.add_document(by=_acting_user(request), obligation=item, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Le document a été ajouté."))
            return redirect("tracker:detail", pk=item.pk)
    return _detail(request, item, status=400, document_form=form)


@require_perm(Perm.REPORTS_VIEW)
def document_download(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    document = tracker.documents_of(_get(pk)).filter(pk=document_pk).first()
    if document is None:
        raise Http404
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = mimetypes.guess_type(document.original_name)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=document.original_name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)  # a streaming response; the decorator's type wants HttpResponse

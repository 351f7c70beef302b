"""Staff pages of the cases (/staff/dossiers/): the inbox, the case page and its actions, the postal filing.

cases.view reads; every write goes through a service, which checks the
permission again (cases.handle or cases.decide) and refuses what the case's
state does not allow with a `CaseError` shown to the user.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Perm, forbidden, require_perm, user_has_perm
from mediation.cases import clock, directory, forms, selectors, services
from mediation.cases.errors import CaseError
from mediation.cases.models import (
    BEFORE_SEIZURE,
    IN_PROGRESS,
    Case,
    CaseDocument,
    CaseEvent,
    Channel,
    Party,
    Status,
    Subject,
)

PAGE_SIZE = 50
STATUS_LABELS = dict(Status.choices)
CHANNEL_LABELS = dict(Channel.choices)
PARTY_LABELS = dict(Party.choices)


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


@dataclass(frozen=True)
class Due:
    """A deadline as the pages show it: the date, the days left, and the urgency marker."""

    date: datetime.date | None
    left: int | None
    urgency: str

    @property
    def late(self) -> int:
        return -self.left if self.left is not None and self.left < 0 else 0


def due(date: datetime.date | None, today: datetime.date) -> Due:
    if date is None:
        return Due(None, None, "none")
    return Due(date, clock.days_left(date, today), clock.urgency(date, today))


# --- Inbox -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    """One line of the inbox, formatted here once: the template only prints (50 rows a page)."""

    pk: int
    reference: str
    url: str
    consumer: str
    business: str
    subject: str
    status: str
    status_label: str
    assignee: str
    due: Due
    due_date: str
    due_text: str
    received: str


def _due_text(d: Due) -> str:
    if d.left is None:
        return ""
    if d.left < 0:
        return ngettext("dépassée de %(counter)s jour", "dépassée de %(counter)s jours", d.late) % {"counter": d.late}
    if d.left == 0:
        return _("aujourd'hui")
    return ngettext("%(counter)s jour restant", "%(counter)s jours restants", d.left) % {"counter": d.left}


def inbox_rows(cases: list[Case], *, today: datetime.date) -> list[InboxRow]:
    url = reverse("cases:detail", args=["REFERENCE"])
    subjects = dict(Subject.choices)
    rows = []
    for case in cases:
        d = due(case.next_due_on, today)
        assignee = case.assignee
        rows.append(
            InboxRow(
                pk=case.pk,
                reference=case.reference or "",
                url=url.replace("REFERENCE", case.reference or ""),
                consumer=case.consumer_name or "—",
                business=case.business_display or "—",
                subject=str(subjects.get(case.subject, "—")),
                status=case.status,
                status_label=str(STATUS_LABELS[case.status]),
                assignee=(assignee.get_full_name() or assignee.email) if assignee else "",
                due=d,
                due_date=formats.date_format(d.date, "SHORT_DATE_FORMAT") if d.date else "",
                due_text=_due_text(d),
                received=formats.date_format(timezone.localtime(case.received_at), "SHORT_DATE_FORMAT")
                if case.received_at
                else "",
            )
        )
    return rows


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


@require_perm(Perm.CASES_VIEW)
def inbox(request: HttpRequest) -> HttpResponse:
    handlers = list(selectors.case_handlers())
    form = forms.InboxFilterForm(request.GET, handlers=handlers)
    form.is_valid()  # an invalid filter is ignored, the others still apply
    filters = form.filters()
    queryset = selectors.inbox_queryset(filters, _acting_user(request))
    # The page number is only shown; the cursor (the last row of the previous page) says where to start.
    number = _page_number(request) if request.GET.get("after") else 1
    rows, next_cursor = selectors.inbox_page(
        queryset, sort=filters.sort, cursor=request.GET.get("after"), size=PAGE_SIZE
    )
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("after", None)
    counts = selectors.state_counts()
    context = {
        "form": form,
        "rows": inbox_rows(rows, today=timezone.localdate()),
        "page_number": number,
        "has_next": next_cursor is not None,
        "next_cursor": next_cursor,
        "has_previous": number > 1,
        "query": query.urlencode(),
        "status_choices": [
            (value, label, value in filters.statuses) for value, label in Status.choices if value != Status.DRAFT
        ],
        # Translated once, not once per row.
        "select_label": _("Sélectionner"),
        "unassigned_label": _("Non attribué"),
        "overdue_label": _("En retard"),
        "soon_label": _("Proche"),
        "counts": [(status, STATUS_LABELS[status], count) for status, count in counts.items()],
        "total": sum(counts.values()),
        "can_handle": user_has_perm(request.user, Perm.CASES_HANDLE),
        "handlers": handlers,
    }
    return render(request, "cases/staff/inbox.html", context)


@require_perm(Perm.CASES_HANDLE)
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    form = forms.BulkAssignForm(request.POST)
    target = reverse("cases:inbox")
    query = QueryDict(request.POST.get("query", "")).urlencode()  # re-encoded: only parameters go back
    if query:
        target = f"{target}?{query}"
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(target)
    assignee = form.cleaned_data["assignee"]
    done, refused = services.bulk_assign(cases=form.cleaned_data["cases"], by=_acting_user(request), assignee=assignee)
    if done:
        messages.success(
            request,
            _("%(count)s dossier(s) attribué(s) : %(references)s.")
            % {"count": len(done), "references": ", ".join(str(case) for case in done)},
        )
    for case, reason in refused:
        messages.error(request, _("%(reference)s non attribué : %(reason)s") % {"reference": case, "reason": reason})
    return redirect(target)


# --- Case actions ------------------------------------------------------------------------------


Run = Callable[[Case, User, Any], object]


@dataclass(frozen=True)
class Action:
    """One thing staff may do on a case page: who may, when the case's state allows it, the form, the service."""

    label: Promise
    perm: Perm
    form: type[forms.CaseActionForm]
    run: Run
    available: Callable[[Case], bool]
    done: Promise
    section: str = "actions"


def _targets(status: str) -> Callable[[Case], bool]:
    return lambda case: status in case.allowed_targets


def _in(*statuses: str) -> Callable[[Case], bool]:
    return lambda case: case.status in statuses


ACTIONS: dict[str, Action] = {
    "request_documents": Action(
        gettext_lazy("Demander des pièces"),
        Perm.CASES_HANDLE,
        forms.RequestDocumentsForm,
        lambda case, by, f: services.request_documents(case=case, by=by, what=f.cleaned_data["what"]),
        _in(Status.RECEIVED),
        gettext_lazy("Les pièces sont demandées au consommateur."),
    ),
    "mark_complete": Action(
        gettext_lazy("Marquer le dossier complet"),
        Perm.CASES_HANDLE,
        forms.EmptyForm,
        lambda case, by, f: services.mark_complete(case=case, by=by),
        _in(Status.INCOMPLETE),
        gettext_lazy("Le dossier est complet : le délai de recevabilité court à partir d'aujourd'hui."),
    ),
    "declare_inadmissible": Action(
        gettext_lazy("Déclarer irrecevable"),
        Perm.CASES_DECIDE,
        forms.InadmissibleForm,
        lambda case, by, f: services.declare_inadmissible(
            case=case, by=by, reason=f.cleaned_data["reason"], note=f.cleaned_data["note"]
        ),
        _targets(Status.INADMISSIBLE),
        gettext_lazy("Le dossier est déclaré irrecevable ; le consommateur en est informé."),
    ),
    "reorient": Action(
        gettext_lazy("Réorienter"),
        Perm.CASES_HANDLE,
        forms.ReorientForm,
        lambda case, by, f: services.reorient(case=case, by=by, to=f.cleaned_data["to"], note=f.cleaned_data["note"]),
        _targets(Status.REORIENTED),
        gettext_lazy("Le dossier est réorienté ; le consommateur en est informé."),
    ),
    "open": Action(
        gettext_lazy("Notifier la saisine"),
        Perm.CASES_DECIDE,
        forms.NoteForm,
        lambda case, by, f: services.open_case(case=case, by=by, note=f.cleaned_data["note"]),
        _targets(Status.OPENED),
        gettext_lazy("La saisine est notifiée aux parties : le délai de 90 jours court."),
    ),
    "business_answer": Action(
        gettext_lazy("Enregistrer la réponse du professionnel"),
        Perm.CASES_HANDLE,
        forms.BusinessAnswerForm,
        lambda case, by, f: services.record_business_answer(
            case=case, by=by, accepts=f.cleaned_data["accepts"], note=f.cleaned_data["note"]
        ),
        _in(Status.OPENED),
        gettext_lazy("La réponse du professionnel est enregistrée."),
    ),
    "extend": Action(
        gettext_lazy("Prolonger le délai"),
        Perm.CASES_DECIDE,
        forms.ExtendForm,
        lambda case, by, f: services.extend(
            case=case, by=by, until=f.cleaned_data["until"], reason=f.cleaned_data["reason"]
        ),
        _in(Status.OPENED, Status.IN_MEDIATION),
        gettext_lazy("Le délai est prolongé ; les parties en sont informées."),
    ),
    "send_proposal": Action(
        gettext_lazy("Envoyer une proposition de solution"),
        Perm.CASES_DECIDE,
        forms.ProposalForm,
        lambda case, by, f: services.send_proposal(
            case=case, by=by, text=f.cleaned_data["text"], answer_due_on=f.cleaned_data["answer_due_on"]
        ),
        _targets(Status.PROPOSAL_SENT),
        gettext_lazy("La proposition de solution est envoyée aux parties."),
    ),
    "resume_mediation": Action(
        gettext_lazy("Reprendre la médiation"),
        Perm.CASES_DECIDE,
        forms.RequiredNoteForm,
        lambda case, by, f: services.resume_mediation(case=case, by=by, note=f.cleaned_data["note"]),
        _in(Status.PROPOSAL_SENT),
        gettext_lazy("La médiation reprend."),
    ),
    "answer_proposal": Action(
        gettext_lazy("Enregistrer la réponse d'une partie à la proposition"),
        Perm.CASES_HANDLE,
        forms.ProposalAnswerForm,
        lambda case, by, f: services.answer_proposal(
            case=case,
            by=by,
            party=f.cleaned_data["party"],
            accepts=f.cleaned_data["accepts"],
            note=f.cleaned_data["note"],
        ),
        _in(Status.PROPOSAL_SENT),
        gettext_lazy("La réponse à la proposition est enregistrée."),
    ),
    "close": Action(
        gettext_lazy("Clore le dossier"),
        Perm.CASES_DECIDE,
        forms.CloseForm,
        lambda case, by, f: services.close(
            case=case, by=by, outcome=f.cleaned_data["outcome"], note=f.cleaned_data["note"]
        ),
        _in(Status.IN_MEDIATION, Status.PROPOSAL_SENT),
        gettext_lazy("Le dossier est clos."),
    ),
    "withdraw": Action(
        gettext_lazy("Enregistrer un retrait"),
        Perm.CASES_HANDLE,
        forms.WithdrawForm,
        lambda case, by, f: services.withdraw(
            case=case, by=by, party=f.cleaned_data["party"], note=f.cleaned_data["note"]
        ),
        _targets(Status.WITHDRAWN),
        gettext_lazy("Le retrait est enregistré."),
    ),
    "interrupt": Action(
        gettext_lazy("Interrompre la médiation"),
        Perm.CASES_DECIDE,
        forms.RequiredNoteForm,
        lambda case, by, f: services.interrupt(case=case, by=by, note=f.cleaned_data["note"]),
        _targets(Status.INTERRUPTED),
        gettext_lazy("La médiation est interrompue."),
    ),
    "assign": Action(
        gettext_lazy("Attribuer le dossier"),
        Perm.CASES_HANDLE,
        forms.AssignForm,
        lambda case, by, f: services.assign(case=case, by=by, assignee=f.cleaned_data["assignee"]),
        lambda case: not case.is_final,
        gettext_lazy("L'attribution est enregistrée."),
    ),
    "recommendations": Action(
        gettext_lazy("Recommandations en équité"),
        Perm.CASES_DECIDE,
        forms.RecommendationsForm,
        lambda case, by, f: services.record_recommendations(case=case, by=by, text=f.cleaned_data["text"]),
        lambda case: case.opened_at is not None,
        gettext_lazy("Les recommandations sont enregistrées."),
    ),
    "execution": Action(
        gettext_lazy("Enregistrer l'exécution de la solution"),
        Perm.CASES_HANDLE,
        forms.ExecutionForm,
        lambda case, by, f: services.record_execution(
            case=case, by=by, carried_out=f.carried_out, party=f.cleaned_data["party"], note=f.cleaned_data["note"]
        ),
        lambda case: case.execution != Case.Execution.NOT_ASKED,
        gettext_lazy("Le suivi de l'exécution est enregistré."),
    ),
    "message": Action(
        gettext_lazy("Écrire un message"),
        Perm.CASES_HANDLE,
        forms.MessageForm,
        lambda case, by, f: services.post_message(
            case=case, by=by, party=Party.STAFF, channel=f.cleaned_data["channel"], body=f.cleaned_data["body"]
        ),
        lambda case: True,
        gettext_lazy("Le message est enregistré."),
        section="messages",
    ),
    "upload": Action(
        gettext_lazy("Ajouter une pièce"),
        Perm.CASES_HANDLE,
        forms.UploadForm,
        lambda case, by, f: services.add_document(
            case=case,
            by=by,
            party=Party.STAFF,
            file=f.cleaned_data["file"],
            kind=f.cleaned_data["kind"],
            channel=f.cleaned_data["channel"],
        ),
        lambda case: True,
        gettext_lazy("La pièce est ajoutée."),
        section="documents",
    ),
    "share": Action(
        gettext_lazy("Changer qui voit la pièce"),
        Perm.CASES_HANDLE,
        forms.ShareForm,
        lambda case, by, f: services.share_document(
            document=f.cleaned_data["document"], by=by, channel=f.cleaned_data["channel"]
        ),
        lambda case: True,
        gettext_lazy("La visibilité de la pièce est enregistrée."),
        section="documents",
    ),
}


def _get_case(reference: str) -> Case:
    case = selectors.case_for_staff(reference)
    if case is None:
        raise Http404
    return case


def _event_text(event: CaseEvent) -> str:
    if event.kind == CaseEvent.Kind.STATUS:
        return f"{STATUS_LABELS.get(event.before, event.before) or '—'} → {STATUS_LABELS.get(event.after, event.after)}"
    return str(event.get_kind_display())


def _timeline(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "at": event.at,
            "text": _event_text(event),
            "note": event.note,
            "by": (event.by.get_full_name() or event.by.email) if event.by else "",
            "party": PARTY_LABELS.get(event.party, event.party),
            "channel": event.channel,
            "channel_label": CHANNEL_LABELS.get(event.channel, event.channel),
        }
        for event in case.events.all()
    ]


def _deadlines(case: Case, today: datetime.date) -> dict[str, Any]:
    return {
        "admissibility": due(case.admissibility_due_on if case.status in BEFORE_SEIZURE else None, today),
        "outcome": due(case.outcome_due_on if case.status in IN_PROGRESS else None, today),
        "proposal": due(case.proposal_answer_due_on if case.status == Status.PROPOSAL_SENT else None, today),
        "next": due(case.next_due_on, today),
    }


def _case_page(
    request: HttpRequest, case: Case, *, bound: tuple[str, forms.CaseActionForm] | None = None, status: int = 200
) -> HttpResponse:
    user = _acting_user(request)
    today = timezone.localdate()
    handlers = selectors.case_handlers()
    action_forms: dict[str, forms.CaseActionForm] = {}
    for name, action in ACTIONS.items():
        if not user_has_perm(user, action.perm) or not action.available(case):
            continue
        if bound is not None and bound[0] == name:
            action_forms[name] = bound[1]
        elif name == "assign":
            action_forms[name] = forms.AssignForm(case=case, handlers=handlers, prefix=name)
        else:
            action_forms[name] = action.form(case=case, prefix=name)
    documents = list(case.documents.all())
    by_channel: dict[str, list[Any]] = {channel: [] for channel in Channel.values}
    for message in case.messages.all():
        by_channel.setdefault(message.channel, []).append(message)
    context = {
        "case": case,
        "today": today,
        "deadlines": _deadlines(case, today),
        "timeline": _timeline(case),
        "documents": documents,
        "message_groups": [(channel, CHANNEL_LABELS[channel], items) for channel, items in by_channel.items() if items],
        "actions": [
            (name, ACTIONS[name].label, form)
            for name, form in action_forms.items()
            if ACTIONS[name].section == "actions"
        ],
        "message_form": action_forms.get("message"),
        "upload_form": action_forms.get("upload"),
        "share_form": action_forms.get("share"),
        "channels": Channel.choices,
        "open_action": bound[0] if bound else "",
        "sector_mediators": directory.entries() if "reorient" in action_forms else (),
    }
    return render(request, "cases/staff/case_detail.html", context, status=status)


@require_perm(Perm.CASES_VIEW)
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return _case_page(request, _get_case(reference))


@require_perm(Perm.CASES_VIEW)
@require_POST
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    if not user_has_perm(request.user, spec.perm):
        return forbidden(request)
    case = _get_case(reference)
    form = spec.form(request.POST, request.FILES, case=case, prefix=action)
    if not form.is_valid():
        return _case_page(request, case, bound=(action, form), status=400)
    try:
        spec.run(case, _acting_user(request), form)
    except PermissionDenied:
        return forbidden(request)
    except CaseError as exc:
        form.add_error(None, exc.message)
        messages.error(request, exc.message)
        # The service rolled back: the page shows the case as it still is.
        return _case_page(request, _get_case(reference), bound=(action, form), status=exc.status_code)
    messages.success(request, str(spec.done))
    anchor = {"messages": "#messages", "documents": "#documents"}.get(spec.section, "")
    return redirect(reverse("cases:detail", args=[case.reference]) + anchor)


@require_perm(Perm.CASES_VIEW)
def document_download(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = _get_case(reference)
    document = selectors.case_document(case=case, pk=pk)
    if document is None:
        raise Http404
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
    )
    return cast(HttpResponse, response)  # require_perm is typed for HttpResponse; Django serves both alike


# --- Postal filing --------------------------------------------------------------------------------


def _postal_draft(request: HttpRequest) -> Case | None:
    value = request.POST.get("draft", "")
    return selectors.postal_draft(pk=int(value)) if value.isdigit() else None


@require_perm(Perm.CASES_HANDLE)
def new_postal(request: HttpRequest) -> HttpResponse:
    draft = _postal_draft(request) if request.method == "POST" else None
    form = forms.PostalFilingForm(request.POST or None, request.FILES or None, draft=draft)
    if request.method == "POST" and form.is_valid():
        user = _acting_user(request)
        try:
            if draft is None:
                draft = services.create_postal_case(by=user, **form.case_fields())
            else:
                draft = services.update_draft(case=draft, **form.case_fields())
            uploads = [(form.cleaned_data.get("complaint"), CaseDocument.Kind.COMPLAINT)]
            uploads += [(file, CaseDocument.Kind.EVIDENCE) for file in form.cleaned_data["documents"]]
            for file, kind in uploads:
                if file:
                    # A consumer's document: the channel is the consumer's, whoever typed it in.
                    services.add_document(case=draft, file=file, party=Party.CONSUMER, kind=kind, by=user)
            case = services.submit(case=draft, consent=False, by=user, received_at=form.received_at())
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Le dossier %(reference)s est enregistré.") % {"reference": case.reference})
            return redirect("cases:detail", reference=case.reference)
    context = {
        "form": form,
        "draft": draft,
        "draft_documents": list(draft.documents.all()) if draft is not None else [],
        "members": selectors.members_for_choice(),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "cases/staff/postal_form.html", context, status=status)

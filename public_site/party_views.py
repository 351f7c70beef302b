"""The parties' personal space at /suivi/: login by e-mail and one-time code, cases, messages, answers.

Confidentiality (L612-3): every read is filtered on the channels the party
may see (`visible_channels`); a case the person is no party to, or a
document on another channel, is a 404. Every write goes through
`mediation.cases.services` as `Party.CONSUMER` or `Party.BUSINESS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.throttle import rate_limit
from mediation.cases import clock, party, services
from mediation.cases.errors import CaseError
from mediation.cases.models import (
    BEFORE_SEIZURE,
    IN_PROGRESS,
    Case,
    CaseDocument,
    CaseEvent,
    InadmissibilityReason,
    Outcome,
    Party,
    Status,
    visible_channels,
)
from public_site.forms import (
    AnswerForm,
    CodeForm,
    MessageForm,
    PartyDocumentForm,
    PartyLoginForm,
    WithdrawForm,
)

SESSION_KEY = party.SESSION_KEY
PENDING_KEY = "party_login"

# What each status means for the person reading it, in plain French.
STATUS_TEXT: dict[str, Any] = {
    Status.RECEIVED: gettext_lazy(
        "Votre demande a été reçue. Le médiateur vérifie qu'elle est recevable et vous répond dans les trois semaines."
    ),
    Status.INCOMPLETE: gettext_lazy(
        "Le médiateur attend des documents de votre part pour examiner la demande : voyez ses messages ci-dessous."
    ),
    Status.INADMISSIBLE: gettext_lazy("Le médiateur ne peut pas examiner ce litige : la demande est irrecevable."),
    Status.REORIENTED: gettext_lazy("Ce litige relève d'un autre médiateur ou d'une autre instance."),
    Status.OPENED: gettext_lazy(
        "Le médiateur a notifié sa saisine aux deux parties. Le professionnel doit dire s'il accepte d'entrer en "
        "médiation."
    ),
    Status.IN_MEDIATION: gettext_lazy("La médiation est en cours : le médiateur échange avec les deux parties."),
    Status.PROPOSAL_SENT: gettext_lazy(
        "Le médiateur a proposé une solution : chaque partie est libre de l'accepter ou de la refuser."
    ),
    Status.CLOSED: gettext_lazy("La médiation est terminée."),
    Status.WITHDRAWN: gettext_lazy("La médiation a pris fin : une partie s'en est retirée."),
    Status.INTERRUPTED: gettext_lazy("Le médiateur a interrompu la médiation."),
}


# --- Session ----------------------------------------------------------------------------------


def current_identity(request: HttpRequest) -> party.PartyIdentity | None:
    """The logged-in party, if the session was opened on this firm."""
    return party.session_identity(request.session)


def _login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        identity = current_identity(request)
        if identity is None:
            return redirect("party:login")
        return view(request, identity, *args, **kwargs)

    return wrapper


def _case_or_404(identity: party.PartyIdentity, reference: str) -> Case:
    case = party.case_for(identity=identity, reference=reference)
    if case is None:
        raise Http404
    return case


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, f"public_site/party/{template}", context, status=status)


# --- Login ----------------------------------------------------------------------------------------


@rate_limit("public_party_login")
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: the e-mail. The answer is the same whether it is known or not."""
    if current_identity(request) is not None:
        return redirect("party:cases")
    if request.method == "POST":
        form = PartyLoginForm(request.POST)
        if form.is_valid():
            email = party.normalize_email(form.cleaned_data["email"])
            party.request_code(email=email, party=form.cleaned_data["party"])
            request.session[PENDING_KEY] = {"email": email, "party": form.cleaned_data["party"]}
            return redirect("party:verify")
    else:
        form = PartyLoginForm()
    return _render(request, "login.html", {"form": form})


@rate_limit("public_party_login")
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Step 2: the code. On success the session key is rotated and holds the party and its e-mail."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return redirect("party:login")
    if request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                identity = party.verify_code(
                    email=pending["email"], party=pending["party"], code=form.cleaned_data["code"]
                )
            except CaseError as exc:
                form.add_error("code", exc.message)
            else:
                request.session.cycle_key()
                request.session.pop(PENDING_KEY, None)
                party.open_session(request.session, identity=identity)
                return redirect("party:cases")
    else:
        form = CodeForm()
    return _render(
        request, "verify.html", {"form": form, "email": pending["email"]}, status=400 if form.errors else 200
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    messages.info(request, _("Vous êtes déconnecté de votre espace."))
    return redirect("party:login")


# --- Cases ------------------------------------------------------------------------------------------


@_login_required
def case_list(request: HttpRequest, identity: party.PartyIdentity) -> HttpResponse:
    cases = list(party.cases_for(identity=identity))
    return _render(request, "case_list.html", {"identity": identity, "cases": cases})


def _deadlines(case: Case, identity: party.PartyIdentity) -> list[dict[str, Any]]:
    today = timezone.localdate()
    items: list[tuple[Any, Any]] = []
    if case.status in BEFORE_SEIZURE and case.admissibility_due_on:
        items.append((_("Réponse du médiateur sur la recevabilité au plus tard le"), case.admissibility_due_on))
    if case.status in {Status.OPENED, Status.IN_MEDIATION} and case.outcome_due_on:
        items.append((_("Issue de la médiation attendue au plus tard le"), case.outcome_due_on))
    if case.status == Status.PROPOSAL_SENT and case.proposal_answer_due_on:
        items.append((_("Réponse à la proposition attendue au plus tard le"), case.proposal_answer_due_on))
    return [{"label": label, "date": due, "days_left": clock.days_left(due, today)} for label, due in items]


def _timeline(case: Case, identity: party.PartyIdentity) -> list[dict[str, Any]]:
    """The lines of the timeline this party may read, in plain words; notes only from staff or the party itself."""
    events = case.events.filter(channel__in=visible_channels(identity.party)).order_by("at", "pk")
    if identity.party == Party.BUSINESS and case.opened_at:
        # Before the seizure the business was no party to the case.
        events = events.filter(at__gte=case.opened_at)
    lines = []
    for event in events:
        text = _event_text(event)
        if not text:
            continue
        show_note = event.party in {Party.STAFF, identity.party} and event.kind == CaseEvent.Kind.STATUS
        lines.append({"at": event.at, "text": text, "note": event.note if show_note else ""})
    return lines


def _event_text(event: CaseEvent) -> str:
    if event.kind == CaseEvent.Kind.STATUS:
        label = Status(event.after).label if event.after in Status.values else event.after
        text = _("Statut : %(status)s") % {"status": label}
        reason = (event.data or {}).get("reason")
        if reason in InadmissibilityReason.values:
            text += " — " + str(InadmissibilityReason(reason).label)
        return text
    if event.kind == CaseEvent.Kind.MESSAGE:
        return _("Nouveau message")
    if event.kind == CaseEvent.Kind.DOCUMENT:
        return _("Pièce ajoutée : %(name)s") % {"name": event.note}
    if event.kind == CaseEvent.Kind.EXTENDED:
        return _("Délai de la médiation prolongé jusqu'au %(date)s") % {"date": (event.data or {}).get("until", "")}
    if event.kind == CaseEvent.Kind.BUSINESS_ANSWER:
        return _("Réponse du professionnel sur l'entrée en médiation")
    if event.kind == CaseEvent.Kind.PROPOSAL_ANSWER:
        return _("Réponse d'une partie à la proposition")
    return ""


def _actions(case: Case, identity: party.PartyIdentity) -> dict[str, bool]:
    is_consumer = identity.party == Party.CONSUMER
    answered = case.consumer_answer if is_consumer else case.business_answer
    writable = not case.is_final and (is_consumer or case.status in IN_PROGRESS)
    return {
        "can_write": writable,
        "can_answer_proposal": case.status == Status.PROPOSAL_SENT and not answered,
        "can_answer_participation": not is_consumer and case.status == Status.OPENED,
        "can_withdraw": writable,
    }


@_login_required
def case_detail(request: HttpRequest, identity: party.PartyIdentity, reference: str) -> HttpResponse:
    case = _case_or_404(identity, reference)
    channels = visible_channels(identity.party)
    context = {
        "identity": identity,
        "is_consumer": identity.party == Party.CONSUMER,
        "case": case,
        "status_text": STATUS_TEXT.get(case.status, ""),
        "deadlines": _deadlines(case, identity),
        "timeline": _timeline(case, identity),
        "case_messages": case.messages.filter(channel__in=channels).order_by("created_at", "pk"),
        "documents": case.documents.filter(channel__in=channels).order_by("created_at", "pk"),
        "message_form": MessageForm(),
        "document_form": PartyDocumentForm(),
        "answer_form": AnswerForm(),
        "outcome_label": Outcome(case.outcome).label if case.outcome in Outcome.values else "",
        **_actions(case, identity),
    }
    return _render(request, "case_detail.html", context)


@_login_required
def document(request: HttpRequest, identity: party.PartyIdentity, reference: str, pk: int) -> HttpResponse:
    case = _case_or_404(identity, reference)
    doc = CaseDocument.objects.filter(case=case, pk=pk, channel__in=visible_channels(identity.party)).first()
    if doc is None:
        raise Http404
    response = FileResponse(
        doc.file.open("rb"), as_attachment=True, filename=doc.original_name, content_type=doc.content_type
    )
    return cast(HttpResponse, response)  # Django serves both alike


def _author_name(case: Case, identity: party.PartyIdentity) -> str:
    if identity.party == Party.CONSUMER:
        return case.consumer_name or identity.email
    return identity.email


def _done(request: HttpRequest, case: Case, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("party:case", reference=case.reference)


def _refused(request: HttpRequest, case: Case, exc: CaseError) -> HttpResponse:
    messages.error(request, exc.message)
    return redirect("party:case", reference=case.reference)


@require_POST
@_login_required
def post_message(request: HttpRequest, identity: party.PartyIdentity, reference: str) -> HttpResponse:
    case = _case_or_404(identity, reference)
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Le message est vide."))
        return redirect("party:case", reference=case.reference)
    try:
        services.post_message(
            case=case, party=identity.party, body=form.cleaned_data["body"], author_name=_author_name(case, identity)
        )
    except CaseError as exc:
        return _refused(request, case, exc)
    return _done(request, case, _("Votre message a été envoyé au médiateur."))


@require_POST
@_login_required
def upload(request: HttpRequest, identity: party.PartyIdentity, reference: str) -> HttpResponse:
    case = _case_or_404(identity, reference)
    form = PartyDocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choisissez un fichier à envoyer."))
        return redirect("party:case", reference=case.reference)
    try:
        doc = services.add_document(case=case, file=form.cleaned_data["file"], party=identity.party)
    except CaseError as exc:
        return _refused(request, case, exc)
    return _done(request, case, _("« %(name)s » a été transmis au médiateur.") % {"name": doc.original_name})


@require_POST
@_login_required
def answer_proposal(request: HttpRequest, identity: party.PartyIdentity, reference: str) -> HttpResponse:
    case = _case_or_404(identity, reference)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez si vous acceptez ou refusez la proposition."))
        return redirect("party:case", reference=case.reference)
    accepts = form.cleaned_data["accepts"]
    try:
        services.answer_proposal(case=case, party=identity.party, accepts=accepts, note=form.cleaned_data["note"])
    except CaseError as exc:
        return _refused(request, case, exc)
    text = _("Vous avez accepté la proposition.") if accepts else _("Vous avez refusé la proposition.")
    return _done(request, case, text)


@require_POST
@_login_required
def answer_participation(request: HttpRequest, identity: party.PartyIdentity, reference: str) -> HttpResponse:
    """The business agrees or refuses to take part in the mediation (status opened)."""
    case = _case_or_404(identity, reference)
    if identity.party != Party.BUSINESS:
        raise Http404
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez si vous acceptez ou refusez d'entrer en médiation."))
        return redirect("party:case", reference=case.reference)
    accepts = form.cleaned_data["accepts"]
    try:
        services.record_business_answer(case=case, accepts=accepts, by=None, note=form.cleaned_data["note"])
    except CaseError as exc:
        return _refused(request, case, exc)
    text = _("Vous avez accepté d'entrer en médiation.") if accepts else _("Vous avez refusé d'entrer en médiation.")
    return _done(request, case, text)


@require_http_methods(["GET", "POST"])
@_login_required
def withdraw(request: HttpRequest, identity: party.PartyIdentity, reference: str) -> HttpResponse:
    case = _case_or_404(identity, reference)
    if request.method == "POST":
        form = WithdrawForm(request.POST)
        if form.is_valid():
            try:
                services.withdraw(case=case, party=identity.party, note=form.cleaned_data["note"])
            except CaseError as exc:
                return _refused(request, case, exc)
            return _done(request, case, _("Vous vous êtes retiré de la médiation."))
    else:
        form = WithdrawForm()
    context = {"identity": identity, "case": case, "form": form}
    return _render(request, "withdraw.html", context, status=400 if form.errors else 200)

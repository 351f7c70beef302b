"""The consumer's filing wizard at /deposer/: eligibility, you, the dispute, documents, review.

Every step saves the draft through `mediation.cases.services`; the draft is
found again from its resume token, kept in the session (and sent by e-mail as
a link as soon as the e-mail address is known). Nothing here writes a model.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.mail import EmailMessage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.throttle import rate_limit
from mediation.cases import directory, eligibility, services
from mediation.cases.errors import CaseError
from mediation.cases.models import Case, CaseDocument, Party
from mediation.members.models import Member
from public_site.forms import (
    ContactDetailsForm,
    DisputeForm,
    DocumentUploadForm,
    EligibilityForm,
    ReviewForm,
    yes_no_initial,
)

TOKEN_KEY = "filing_token"  # noqa: S105 - a session key, not a secret
RESUME_SENT_KEY = "filing_resume_sent_to"
DONE_KEY = "filing_done"

STEPS: tuple[tuple[str, Any], ...] = (
    ("filing:start", gettext_lazy("Recevabilité")),
    ("filing:you", gettext_lazy("Vos coordonnées")),
    ("filing:dispute", gettext_lazy("Le litige")),
    ("filing:documents", gettext_lazy("Les documents")),
    ("filing:review", gettext_lazy("Vérification et envoi")),
)
CONTACT_FIELDS = tuple(ContactDetailsForm.base_fields)


# --- Helpers -----------------------------------------------------------------------------


def _draft(request: HttpRequest) -> Case | None:
    return services.draft_by_token(request.session.get(TOKEN_KEY, ""))


def _steps(current: int) -> dict[str, Any]:
    return {
        "step": current,
        "step_total": len(STEPS),
        "step_title": STEPS[current - 1][1],
        "steps": [
            {"number": number, "url": reverse(name), "title": title}
            for number, (name, title) in enumerate(STEPS, start=1)
        ],
    }


def _render_step(request: HttpRequest, template: str, current: int, status: int = 200, **context: Any) -> HttpResponse:
    return render(request, f"public_site/filing/{template}", {**_steps(current), **context}, status=status)


def _first_incomplete_step(case: Case) -> str:
    """Where a resumed draft continues: the first step whose answers are missing."""
    if not case.consumer_last_name or not case.consumer_email:
        return "filing:you"
    if not case.subject or not case.description.strip():
        return "filing:dispute"
    if not _has_complaint(case):
        return "filing:documents"
    return "filing:review"


def _has_complaint(case: Case) -> bool:
    return case.documents.filter(kind=CaseDocument.Kind.COMPLAINT).exists()


def _no_draft(request: HttpRequest) -> HttpResponse:
    messages.info(request, _("Commencez par répondre aux questions de recevabilité."))
    return redirect("filing:start")


def _guard(request: HttpRequest, step: str) -> tuple[Case | None, HttpResponse | None]:
    """The session's draft, or a redirect to the start, or to an earlier step left unanswered."""
    case = _draft(request)
    if case is None:
        return None, _no_draft(request)
    order = [name for name, _title in STEPS]
    first = _first_incomplete_step(case)
    # Documents and review may be reached without a complaint: the review says it is missing.
    reachable = order.index(first) if first != "filing:documents" else order.index("filing:review")
    if order.index(step) > reachable:
        return case, redirect(first)
    return case, None


def _send_resume_link(request: HttpRequest, *, email: str, token: str) -> None:
    from firm.selectors import email_identity

    link = request.build_absolute_uri(reverse("filing:resume", args=[token]))
    tenant_name = getattr(getattr(request, "tenant", None), "name", "")
    subject = _("Votre demande de médiation : le lien pour la reprendre")
    body = _(
        "Bonjour,\n\n"
        "Vous avez commencé une demande de médiation auprès de %(firm)s. "
        "Pour la reprendre là où vous l'avez laissée, ouvrez ce lien :\n\n%(link)s\n\n"
        "Gardez ce lien pour vous : il donne accès à votre brouillon. "
        "Il cesse de fonctionner une fois la demande envoyée.\n"
    ) % {"firm": tenant_name, "link": link}
    from_email, reply_to = email_identity()
    EmailMessage(subject, body, from_email, [email], reply_to=reply_to).send()


def format_euros(cents: int | None) -> str:
    """ "129,90" for 12990: the amount as the consumer typed it, back in the form."""
    if cents is None:
        return ""
    euros, rest = divmod(int(cents), 100)
    return f"{euros},{rest:02d}" if rest else str(euros)


# --- Step 1: eligibility --------------------------------------------------------------------


def _eligibility_initial(request: HttpRequest, case: Case | None) -> tuple[dict[str, Any], Member | None]:
    initial: dict[str, Any]
    if case is not None:
        initial = {
            "is_consumer": yes_no_initial(case.is_consumer),
            "member": case.member_id,
            "business_name": case.business_name,
            "complained": yes_no_initial(case.complained_on is not None) if case.is_consumer is not None else None,
            "complained_on": case.complained_on,
            "other_proceedings": yes_no_initial(case.other_proceedings),
        }
        return initial, None
    initial = {"business_query": request.GET.get("q", "")}
    siren = request.GET.get("adherent", "")
    member = directory.covered_member_by_siren(siren) if siren else None
    if member is not None:
        initial["member"] = member.pk
        return initial, None
    # A poster's QR code of a member whose membership lapsed: say so rather than show nothing.
    return initial, directory.member_by_siren(siren) if siren else None


def _results(query: str, selected: Any) -> list[Member]:
    results = directory.search_covered_members(query)
    try:
        selected_pk = int(selected) if selected not in (None, "") else None
    except (TypeError, ValueError):
        selected_pk = None
    if selected_pk is not None and all(member.pk != selected_pk for member in results):
        chosen = directory.covered_members().filter(pk=selected_pk).first()
        if chosen is not None:
            results.insert(0, chosen)
    return results


@rate_limit("public_filing")
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Step 1: who, against whom, the written complaint, other proceedings (L612-2)."""
    case = _draft(request)
    problems: list[eligibility.Problem] = []
    not_member = False
    lapsed_member: Member | None = None
    if request.method == "POST" and request.POST.get("action") == "search":
        # A search keeps what was already answered and asks nothing yet.
        form = EligibilityForm(initial=request.POST.dict())
        selected: Any = request.POST.get("member")
    elif request.method == "POST":
        form = EligibilityForm(request.POST)
        selected = request.POST.get("member")
        if form.is_valid():
            data = form.cleaned_data
            problems = eligibility.check(
                is_consumer=data["is_consumer"],
                complained_on=data["complained_on"],
                other_proceedings=data["other_proceedings"],
                today=timezone.localdate(),
            )
            not_member = data["member"] is None and not data["non_member_confirmed"]
            if not problems and not not_member:
                return _save_eligibility(request, case, data)
    else:
        initial, lapsed_member = _eligibility_initial(request, case)
        form = EligibilityForm(initial=initial)
        selected = initial.get("member")
    query = (form["business_query"].value() or "") if form.is_bound else (form.initial.get("business_query") or "")
    codes = {problem.code for problem in problems}
    context: dict[str, Any] = {
        "form": form,
        "results": _results(query, selected),
        "selected": str(selected or ""),
        "query": query,
        "searched": len(query.strip()) >= directory.SEARCH_MIN_LENGTH,
        "problems": problems,
        "not_member": not_member,
        "lapsed_member": lapsed_member,
        "show_model_letter": "no_prior_complaint" in codes,
        "show_directory": not_member or lapsed_member is not None or "not_consumer" in codes or "too_late" in codes,
        "directory": directory.entries(),
    }
    return _render_step(request, "eligibility.html", 1, **context)


def _save_eligibility(request: HttpRequest, case: Case | None, data: dict[str, Any]) -> HttpResponse:
    fields = {
        "is_consumer": data["is_consumer"],
        "member": data["member"],
        "business_name": (data["business_name"] or "").strip() if data["member"] is None else "",
        "complained_on": data["complained_on"],
        "other_proceedings": data["other_proceedings"],
    }
    try:
        if case is None:
            case, token = services.create_draft(**fields)
            request.session[TOKEN_KEY] = token
            request.session.pop(RESUME_SENT_KEY, None)
        else:
            services.update_draft(case=case, **fields)
    except CaseError as exc:
        messages.error(request, exc.message)
        return redirect("filing:start")
    return redirect("filing:you")


# --- Step 2: you ---------------------------------------------------------------------------------


@rate_limit("public_filing")
@require_http_methods(["GET", "POST"])
def you(request: HttpRequest) -> HttpResponse:
    case, redirection = _guard(request, "filing:you")
    if redirection is not None or case is None:
        return redirection or _no_draft(request)
    if request.method == "POST":
        form = ContactDetailsForm(request.POST)
        if form.is_valid():
            case = services.update_draft(case=case, **form.cleaned_data)
            email = form.cleaned_data["consumer_email"]
            if request.session.get(RESUME_SENT_KEY) != email:
                _send_resume_link(request, email=email, token=request.session[TOKEN_KEY])
                request.session[RESUME_SENT_KEY] = email
            return redirect("filing:dispute")
    else:
        form = ContactDetailsForm(initial={name: getattr(case, name) for name in CONTACT_FIELDS})
    return _render_step(request, "you.html", 2, form=form, case=case)


# --- Step 3: the dispute ----------------------------------------------------------------------------


@rate_limit("public_filing")
@require_http_methods(["GET", "POST"])
def dispute(request: HttpRequest) -> HttpResponse:
    case, redirection = _guard(request, "filing:dispute")
    if redirection is not None or case is None:
        return redirection or _no_draft(request)
    if request.method == "POST":
        form = DisputeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            services.update_draft(
                case=case,
                subject=data["subject"],
                description=data["description"].strip(),
                amount_cents=data["amount"],
                desired_outcome=data["desired_outcome"].strip(),
            )
            return redirect("filing:documents")
    else:
        form = DisputeForm(
            initial={
                "subject": case.subject,
                "description": case.description,
                "amount": format_euros(case.amount_cents),
                "desired_outcome": case.desired_outcome,
            }
        )
    return _render_step(request, "dispute.html", 3, form=form, case=case)


# --- Step 4: documents --------------------------------------------------------------------------------


@rate_limit("public_filing")
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest) -> HttpResponse:
    case, redirection = _guard(request, "filing:documents")
    if redirection is not None or case is None:
        return redirection or _no_draft(request)
    form = DocumentUploadForm(initial={"kind": "evidence" if _has_complaint(case) else "complaint"})
    missing_complaint = False
    if request.method == "POST" and request.POST.get("action") == "continue":
        if _has_complaint(case):
            return redirect("filing:review")
        missing_complaint = True
    elif request.method == "POST":
        form = DocumentUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                document = services.add_document(
                    case=case, file=form.cleaned_data["file"], party=Party.CONSUMER, kind=form.cleaned_data["kind"]
                )
            except CaseError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(request, _("« %(name)s » a bien été ajouté.") % {"name": document.original_name})
                return redirect("filing:documents")
    status = 400 if form.errors or missing_complaint else 200
    return _render_step(
        request,
        "documents.html",
        4,
        form=form,
        case=case,
        uploaded=case.documents.all(),
        has_complaint=_has_complaint(case),
        missing_complaint=missing_complaint,
        status=status,
    )


# --- Step 5: review and send ------------------------------------------------------------------------------


@rate_limit("public_filing")
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest) -> HttpResponse:
    case, redirection = _guard(request, "filing:review")
    if redirection is not None or case is None:
        return redirection or _no_draft(request)
    error = ""
    if request.method == "POST":
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                case = services.submit(case=case, consent=True, ip_address=_client_ip(request))
            except CaseError as exc:
                error = exc.message
            else:
                request.session.pop(TOKEN_KEY, None)
                request.session.pop(RESUME_SENT_KEY, None)
                request.session[DONE_KEY] = {"reference": case.reference, "email": case.consumer_email}
                return redirect("filing:done")
    else:
        form = ReviewForm()
    return _render_step(
        request,
        "review.html",
        5,
        form=form,
        case=case,
        amount=format_euros(case.amount_cents),
        uploaded=case.documents.all(),
        has_complaint=_has_complaint(case),
        error=error,
        status=400 if error or form.errors else 200,
    )


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def done(request: HttpRequest) -> HttpResponse:
    filed = request.session.get(DONE_KEY)
    if not filed:
        return redirect("filing:start")
    return render(request, "public_site/filing/done.html", {"filed": filed})


# --- Resume link and model letter --------------------------------------------------------------------------


@rate_limit("public_filing_resume", methods=("GET",))
def resume(request: HttpRequest, token: str) -> HttpResponse:
    """The link sent by e-mail: restores the draft into this browser's session and continues where it stopped."""
    case = services.draft_by_token(token)
    if case is None:
        return render(request, "public_site/filing/resume_invalid.html", status=404)
    request.session.cycle_key()
    request.session[TOKEN_KEY] = token
    request.session[RESUME_SENT_KEY] = case.consumer_email
    messages.info(request, _("Votre demande a été retrouvée : vous pouvez la poursuivre."))
    return redirect(_first_incomplete_step(case))


def model_letter(request: HttpRequest) -> HttpResponse:
    """A model of written complaint to send to the business before asking for mediation (L612-2 1°)."""
    return render(request, "public_site/filing/model_letter.html")

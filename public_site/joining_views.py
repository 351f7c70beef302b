"""Joining the firm online (/adherer/): a proposal accepted from its link, or self-service joining.

Self-service: SIREN → the business's details → the offer → the convention →
confirmation (the invoice follows: payment comes with Billing). The state
between steps is kept in the session; every write goes through
`mediation.members.membership`. Nobody is logged in here.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.throttle import rate_limit
from mediation.members import membership as ms
from mediation.members.models import Convention, Member, Proposal, Tariff
from public_site.joining_forms import AcceptanceForm, DetailsForm, OfferForm, SirenForm

STATE_KEY = "joining"
DONE_KEY = "joining_done"
TEMPLATES = "public_site/joining/"

STEPS: tuple[tuple[str, Any], ...] = (
    ("joining:start", gettext_lazy("Votre entreprise")),
    ("joining:details", gettext_lazy("Vos coordonnées")),
    ("joining:offer", gettext_lazy("L'offre")),
    ("joining:convention", gettext_lazy("La convention")),
)


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, as the proxy in front of Django gives it; None when not an IP."""
    address = str(request.META.get("REMOTE_ADDR", "")).strip()
    try:
        validate_ipv46_address(address)
    except ValidationError:
        return None
    return address


def _state(request: HttpRequest) -> dict[str, Any]:
    state = request.session.get(STATE_KEY)
    return dict(state) if isinstance(state, dict) else {}


def _save_state(request: HttpRequest, **values: Any) -> None:
    request.session[STATE_KEY] = {**_state(request), **values}


def _render_step(
    request: HttpRequest, template: str, current: int, *, status: int = 200, **context: Any
) -> HttpResponse:
    steps = [
        {"number": number, "url": reverse(name), "title": title} for number, (name, title) in enumerate(STEPS, start=1)
    ]
    context = {
        "step": current,
        "step_total": len(STEPS),
        "step_title": STEPS[current - 1][1],
        "steps": steps,
        **context,
    }
    return render(request, TEMPLATES + template, context, status=status)


def _already_member(request: HttpRequest, member: Member) -> HttpResponse:
    context = {
        "member": member,
        "covered_until": ms.covered_until(member=member),
        "pending_payment": member.status == Member.Status.CONVENTION_ACCEPTED,
    }
    return render(request, TEMPLATES + "already_member.html", context)


def _is_member(member: Member | None) -> bool:
    return member is not None and (
        member.status in ms.COVERED_STATUSES or member.status == Member.Status.CONVENTION_ACCEPTED
    )


def _state_member(request: HttpRequest) -> Member | None:
    pk = _state(request).get("member")
    return Member.objects.filter(pk=pk).first() if isinstance(pk, int) else None


# --- Self-service joining ---------------------------------------------------------------------------


@rate_limit("public_joining")
@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    form = SirenForm(request.POST or None, initial={"siren": _state(request).get("siren", "")})
    if request.method == "POST" and form.is_valid():
        siren = form.cleaned_data["siren"]
        member = ms.member_by_siren(siren)
        if member is not None and _is_member(member):
            return _already_member(request, member)
        request.session[STATE_KEY] = {"siren": siren}
        return redirect("joining:details")
    status = 400 if form.is_bound and form.errors else 200
    return _render_step(request, "siren.html", 1, form=form, status=status)


@rate_limit("public_joining")
@never_cache
@require_http_methods(["GET", "POST"])
def details(request: HttpRequest) -> HttpResponse:
    siren = _state(request).get("siren")
    if not siren:
        return redirect("joining:start")
    existing = ms.member_by_siren(siren)
    initial: dict[str, Any] = {}
    if existing is not None:
        # Only what the company register makes public anyway: never the contacts on file.
        initial = {name: getattr(existing, name) for name in ms.PUBLIC_MEMBER_FIELDS}
    form = DetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            member = ms.join_as_prospect(siren=siren, **form.cleaned_data)
        except ms.MembershipError as exc:
            if exc.code == "already_member":
                found = ms.member_by_siren(siren)
                if found is not None:
                    return _already_member(request, found)
            form.add_error(None, exc.message)
        else:
            _save_state(
                request,
                member=member.pk,
                band=form.cleaned_data["headcount_band"],
                signer_name=" ".join(
                    (form.cleaned_data["contact_first_name"], form.cleaned_data["contact_last_name"])
                ).strip(),
                signer_role=form.cleaned_data["contact_role"],
                email=form.cleaned_data["contact_email"],
            )
            return redirect("joining:offer")
    status = 400 if form.is_bound and form.errors else 200
    return _render_step(request, "details.html", 2, form=form, siren=siren, status=status)


def _offer_choices(band: str) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    offers = []
    choices = []
    for term, tariff in ms.online_offer(headcount_band=band):
        total = tariff.yearly_price_cents * term
        offers.append({"term": term, "tariff": tariff, "total_cents": total})
        choices.append((term, Tariff.Term(term).label))
    return choices, offers


@rate_limit("public_joining")
@never_cache
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest) -> HttpResponse:
    member = _state_member(request)
    if member is None:
        return redirect("joining:start")
    if _is_member(member):
        return _already_member(request, member)
    band = member.headcount_band or _state(request).get("band", "")
    choices, offers = _offer_choices(band)
    if not offers:
        return _render_step(request, "no_offer.html", 3, member=member)
    form = OfferForm(request.POST or None, choices=choices, initial={"term_years": _state(request).get("term", 1)})
    if request.method == "POST" and form.is_valid():
        _save_state(request, term=form.cleaned_data["term_years"])
        return redirect("joining:convention")
    status = 400 if form.is_bound and form.errors else 200
    return _render_step(request, "offer.html", 3, form=form, offers=offers, member=member, status=status)


@rate_limit("public_joining")
@never_cache
@require_http_methods(["GET", "POST"])
def convention(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    member = _state_member(request)
    term = state.get("term")
    if member is None or term not in (1, 3):
        return redirect("joining:start")
    if _is_member(member):
        return _already_member(request, member)
    current = ms.current_convention()
    if current is None:
        return _render_step(request, "no_convention.html", 4, member=member)
    tariff = ms.current_tariff(headcount_band=member.headcount_band, term_years=term, on=timezone.localdate())
    form = AcceptanceForm(
        request.POST or None,
        initial={
            "signer_name": state.get("signer_name", ""),
            "signer_role": state.get("signer_role", ""),
            "version": current.version,
        },
    )
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["version"] != current.version:
            form = _outdated(current, form)
        else:
            try:
                ms.join_online(
                    member=member,
                    convention=current,
                    term_years=term,
                    signer_name=form.cleaned_data["signer_name"],
                    signer_role=form.cleaned_data["signer_role"],
                    ip_address=client_ip(request),
                    contact_email=str(state.get("email", "")),
                )
            except ms.MembershipError as exc:
                form.add_error(None, exc.message)
            else:
                request.session.pop(STATE_KEY, None)
                request.session[DONE_KEY] = {"name": member.legal_name, "email": state.get("email", "")}
                return redirect("joining:done")
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "convention": current, "member": member, "term": term, "tariff": tariff}
    return _render_step(request, "convention.html", 4, status=status, **context)


def _outdated(current: Convention, form: AcceptanceForm) -> AcceptanceForm:
    """The same answers, without the checkbox, on the version now in force, with the reason."""
    data = {name: form.data.get(name, "") for name in ("signer_name", "signer_role")}
    data["version"] = str(current.version)
    fresh = AcceptanceForm(data)
    fresh.is_valid()
    fresh.errors.pop("accept", None)
    fresh.add_error(None, _("La convention a changé entre-temps : lisez la version en vigueur avant de l'accepter."))
    return fresh


def done(request: HttpRequest) -> HttpResponse:
    joined = request.session.get(DONE_KEY)
    if not joined:
        return redirect("joining:start")
    return render(request, TEMPLATES + "done.html", {"joined": joined})


# --- A proposal accepted from its link -----------------------------------------------------------------


def _proposal(token: str) -> Proposal:
    proposal = ms.proposal_by_token(token)
    if proposal is None:
        raise Http404
    return proposal


@rate_limit("public_joining")
@never_cache
@require_http_methods(["GET", "POST"])
def proposal(request: HttpRequest, token: str) -> HttpResponse:
    found = _proposal(token)
    member = found.member
    if found.status == Proposal.Status.ACCEPTED:
        term = found.member.memberships.filter(proposal=found).first()
        return render(request, TEMPLATES + "proposal_accepted.html", {"proposal": found, "term": term})
    if not ms.proposal_is_open(found):
        return render(request, TEMPLATES + "proposal_closed.html", {"proposal": found}, status=410)
    if _is_member(member):
        return _already_member(request, member)
    current = ms.current_convention()
    if current is None:
        return render(request, TEMPLATES + "proposal_closed.html", {"proposal": found, "no_convention": True})
    form = AcceptanceForm(request.POST or None, initial={"version": current.version})
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["version"] != current.version:
            form = _outdated(current, form)
        else:
            try:
                ms.accept_convention(
                    member=member,
                    convention=current,
                    signer_name=form.cleaned_data["signer_name"],
                    signer_role=form.cleaned_data["signer_role"],
                    ip_address=client_ip(request),
                    proposal=found,
                )
            except ms.MembershipError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("joining:proposal", token=token)
    status = 400 if form.is_bound and form.errors else 200
    context = {
        "proposal": found,
        "member": member,
        "totals": ms.proposal_totals(found),
        "convention": current,
        "form": form,
        "token": token,
    }
    return render(request, TEMPLATES + "proposal.html", context, status=status)


def proposal_pdf(request: HttpRequest, token: str) -> HttpResponse:
    found = _proposal(token)
    if not found.pdf:
        raise Http404
    try:
        handle = found.pdf.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=f"proposition-{found.pk}.pdf", content_type="application/pdf"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return cast(HttpResponse, response)

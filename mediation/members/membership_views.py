"""Staff pages of the membership lifecycle (/staff/adherents/adhesions/): members.view reads, members.edit acts."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models.fields.files import FieldFile
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Perm, forbidden, require_perm, user_has_perm
from mediation.members import membership as ms
from mediation.members.membership_forms import (
    ConventionForm,
    ProposalForm,
    RenewForm,
    StatusForm,
    TariffForm,
    TerminateForm,
)
from mediation.members.models import Convention, ConventionAcceptance, Member, Membership, Proposal


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _member(pk: int) -> Member:
    return get_object_or_404(Member.objects.select_related("group"), pk=pk)


def _pdf(field: FieldFile, filename: str) -> HttpResponse:
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")
    return cast(HttpResponse, response)  # require_perm is typed for HttpResponse; Django serves both alike


def _error(request: HttpRequest, exc: ms.MembershipError | PermissionDenied) -> None:
    if isinstance(exc, PermissionDenied):
        messages.error(request, _("Votre rôle ne vous permet pas d'effectuer cette action."))
    else:
        messages.error(request, exc.message)


# --- Tariffs ------------------------------------------------------------------------------------


@require_perm(Perm.MEMBERS_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    return redirect("membership:tariffs")


@require_perm(Perm.MEMBERS_VIEW)
def tariff_list(request: HttpRequest) -> HttpResponse:
    context = {"tariffs": ms.tariffs(), "can_edit": user_has_perm(request.user, Perm.MEMBERS_EDIT)}
    return render(request, "members/membership/tariff_list.html", context)


@require_perm(Perm.MEMBERS_EDIT)
def tariff_create(request: HttpRequest) -> HttpResponse:
    form = TariffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ms.create_tariff(
                by=_acting_user(request),
                headcount_band=data["headcount_band"],
                term_years=data["term_years"],
                yearly_price_cents=data["yearly_price"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
            )
        except ms.MembershipError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Le tarif est enregistré."))
            return redirect("membership:tariffs")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "members/membership/tariff_form.html", {"form": form}, status=status)


# --- Conventions ---------------------------------------------------------------------------------


@require_perm(Perm.MEMBERS_VIEW)
def convention_list(request: HttpRequest) -> HttpResponse:
    context = {
        "conventions": ms.conventions(),
        "current": ms.current_convention(),
        "can_edit": user_has_perm(request.user, Perm.MEMBERS_EDIT),
    }
    return render(request, "members/membership/convention_list.html", context)


@require_perm(Perm.MEMBERS_EDIT)
def convention_publish(request: HttpRequest) -> HttpResponse:
    current = ms.current_convention()
    initial = {"title": current.title, "text": current.text} if current else None
    form = ConventionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            convention = ms.publish_convention(by=_acting_user(request), **form.cleaned_data)
        except ms.MembershipError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("La version %(version)s est publiée.") % {"version": convention.version})
            return redirect("membership:convention", version=convention.version)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "members/membership/convention_form.html", {"form": form, "current": current}, status=status)


@require_perm(Perm.MEMBERS_VIEW)
def convention_detail(request: HttpRequest, version: int) -> HttpResponse:
    convention = get_object_or_404(Convention, version=version)
    context = {
        "convention": convention,
        "current": ms.current_convention(),
        "acceptances": convention.acceptances.count(),
    }
    return render(request, "members/membership/convention_detail.html", context)


# --- A member's membership ------------------------------------------------------------------------


def _member_page(request: HttpRequest, member: Member, *, status: int = 200, **forms: Form) -> HttpResponse:
    can_edit = user_has_perm(request.user, Perm.MEMBERS_EDIT)
    context: dict[str, Any] = {
        "member": member,
        "history": ms.status_history(member=member),
        "memberships": ms.memberships_of(member),
        "acceptances": ConventionAcceptance.objects.filter(member=member).select_related("convention"),
        "proposals": Proposal.objects.filter(member=member).order_by("-created_at", "-pk"),
        "covered": ms.covered_until(member=member) is not None,
        "covered_until": ms.covered_until(member=member),
        "can_edit": can_edit,
        "renewable": member.status in ms.COVERED_STATUSES,
        "terminable": ms.can_transition(member.status, Member.Status.TERMINATED),
        "payable": member.status in (Member.Status.CONVENTION_ACCEPTED, *ms.COVERED_STATUSES),
    }
    if can_edit:
        context["renew_form"] = forms.get("renew_form") or RenewForm()
        context["terminate_form"] = forms.get("terminate_form") or TerminateForm()
        context["status_form"] = forms.get("status_form") or StatusForm(member=member)
    return render(request, "members/membership/member.html", context, status=status)


@require_perm(Perm.MEMBERS_VIEW)
def member_membership(request: HttpRequest, member_pk: int) -> HttpResponse:
    return _member_page(request, _member(member_pk))


@require_perm(Perm.MEMBERS_EDIT)
def proposal_create(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member(member_pk)
    form = ProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        by = _acting_user(request)
        try:
            proposal = ms.create_proposal(
                by=by,
                member=member,
                term_years=data["term_years"],
                upfront=data["upfront"],
                lines=None,
                valid_until=data["valid_until"],
                notes=data["notes"],
                discount_percent=data["discount_percent"] or 0,
                yearly_price_cents=data["yearly_price"],
            )
            proposal, token = ms.send_proposal(by=by, proposal=proposal)
        except ms.MembershipError as exc:
            form.add_error(None, exc.message)
        else:
            recipients = ms.member_recipients(member)
            if recipients:
                messages.success(
                    request,
                    _("La proposition est envoyée à %(emails)s. Lien d'acceptation : %(link)s")
                    % {"emails": ", ".join(recipients), "link": ms.proposal_link(token)},
                )
            else:
                messages.warning(
                    request,
                    _(
                        "Aucun contact n'a d'adresse e-mail : transmettez vous-même ce lien d'acceptation "
                        "(il ne sera plus affiché) : %(link)s"
                    )
                    % {"link": ms.proposal_link(token)},
                )
            return redirect("membership:member", member_pk=member.pk)
    tariffs = {
        term: ms.current_tariff(headcount_band=member.headcount_band, term_years=term, on=timezone.localdate())
        for term in (1, 3)
    }
    context = {"form": form, "member": member, "tariffs": tariffs}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "members/membership/proposal_form.html", context, status=status)


@require_perm(Perm.MEMBERS_VIEW)
def proposal_pdf(request: HttpRequest, member_pk: int, proposal_pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal, member_id=member_pk, pk=proposal_pk)
    return _pdf(proposal.pdf, f"proposition-{proposal.pk}.pdf")


@require_perm(Perm.MEMBERS_VIEW)
def acceptance_pdf(request: HttpRequest, member_pk: int, acceptance_pk: int) -> HttpResponse:
    acceptance = get_object_or_404(
        ConventionAcceptance.objects.select_related("convention"), member_id=member_pk, pk=acceptance_pk
    )
    return _pdf(acceptance.pdf, f"convention-v{acceptance.convention.version}-{acceptance.accepted_at:%Y%m%d}.pdf")


@require_POST
@require_perm(Perm.MEMBERS_EDIT)
def membership_paid(request: HttpRequest, member_pk: int, membership_pk: int) -> HttpResponse:
    term = get_object_or_404(Membership, member_id=member_pk, pk=membership_pk)
    try:
        ms.mark_paid(by=_acting_user(request), membership=term)
    except (ms.MembershipError, PermissionDenied) as exc:
        _error(request, exc)
    else:
        messages.success(request, _("La période est marquée payée."))
    return redirect("membership:member", member_pk=member_pk)


@require_POST
@require_perm(Perm.MEMBERS_EDIT)
def renew(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member(member_pk)
    form = RenewForm(request.POST)
    if not form.is_valid():
        return _member_page(request, member, status=400, renew_form=form)
    try:
        term = ms.renew(by=_acting_user(request), member=member, term_years=form.cleaned_data["term_years"])
    except ms.MembershipError as exc:
        form.add_error(None, exc.message)
        return _member_page(request, member, status=409, renew_form=form)
    messages.success(
        request,
        _("Adhésion renouvelée du %(start)s au %(end)s.")
        % {"start": term.starts_on.strftime("%d/%m/%Y"), "end": term.ends_on.strftime("%d/%m/%Y")},
    )
    return redirect("membership:member", member_pk=member_pk)


@require_POST
@require_perm(Perm.MEMBERS_EDIT)
def terminate(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member(member_pk)
    form = TerminateForm(request.POST)
    if not form.is_valid():
        return _member_page(request, member, status=400, terminate_form=form)
    try:
        ms.terminate(by=_acting_user(request), member=member, reason=form.cleaned_data["reason"])
    except ms.MembershipError as exc:
        form.add_error(None, exc.message)
        return _member_page(request, member, status=409, terminate_form=form)
    messages.success(request, _("L'adhésion est résiliée."))
    return redirect("membership:member", member_pk=member_pk)


@require_POST
@require_perm(Perm.MEMBERS_EDIT)
def status_change(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member(member_pk)
    form = StatusForm(request.POST, member=member)
    if not form.is_valid():
        return _member_page(request, member, status=400, status_form=form)
    try:
        ms.set_status(
            member=member, to=form.cleaned_data["to"], reason=form.cleaned_data["reason"], by=_acting_user(request)
        )
    except (ms.MembershipError, PermissionDenied) as exc:
        if isinstance(exc, PermissionDenied):
            return forbidden(request)
        form.add_error(None, exc.message)
        return _member_page(request, member, status=409, status_form=form)
    messages.success(request, _("Le statut est enregistré."))
    return redirect("membership:member", member_pk=member_pk)

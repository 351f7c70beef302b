"""The member portal's pages (/espace-adherent/) and the staff's buttons that open or close it.

Every portal page goes through `portal_page`: anonymous visitors log in first,
the firm's staff are sent to their own area, and a user linked to no business
gets a 403. Every object is then read through the logged-in user's business:
another business's contact or case is a 404, never a 403 that would confirm it
exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm
from mediation.members import kit, portal, selectors
from mediation.members.coverage import coverage_of
from mediation.members.models import Member
from mediation.members.portal_forms import GrantAccessForm, OwnContactForm, OwnDetailsForm

PortalView = Callable[..., HttpResponse]


def portal_page(view: PortalView) -> PortalView:
    """Passes the logged-in user's business to `view` as `member`."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if isinstance(user, User) and user.role != User.Role.MEMBER:
            return redirect("staff:home")
        member = portal.member_of(user)
        if member is None:
            return render(request, "members/portal/forbidden.html", status=403)
        return view(request, member, *args, **kwargs)

    return wrapper


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # portal_page and require_perm let only logged-in users through
    return request.user


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, f"members/portal/{template}", context, status=status)


def _changes(form: BaseForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data}


# --- Portal pages ------------------------------------------------------------------------------------


@portal_page
def home(request: HttpRequest, member: Member) -> HttpResponse:
    cases = portal.member_cases(member=member)
    from mediation.cases.models import IN_PROGRESS

    context = {
        "member": member,
        "active": "home",
        "coverage": coverage_of(member=member, today=timezone.localdate()),
        "open_cases": cases.filter(status__in=IN_PROGRESS).count(),
    }
    return _render(request, "home.html", context)


@portal_page
def details(request: HttpRequest, member: Member) -> HttpResponse:
    return _render(request, "details.html", {"member": member, "active": "details"})


@require_http_methods(["GET", "POST"])
@portal_page
def details_edit(request: HttpRequest, member: Member) -> HttpResponse:
    form = OwnDetailsForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        try:
            portal.update_own_details(user=_user(request), **_changes(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("La fiche de votre entreprise est enregistrée."))
            return redirect("portal:details")
    status = 400 if form.is_bound and form.errors else 200
    return _render(request, "details_form.html", {"member": member, "form": form, "active": "details"}, status)


@portal_page
def contacts(request: HttpRequest, member: Member) -> HttpResponse:
    context = {
        "member": member,
        "contacts": portal.contacts(member=member),
        "login_emails": portal.login_emails(member=member),
        "active": "contacts",
    }
    return _render(request, "contacts.html", context)


@require_http_methods(["GET", "POST"])
@portal_page
def contact_edit(request: HttpRequest, member: Member, pk: int) -> HttpResponse:
    contact = portal.editable_contact(member=member, pk=pk)
    if contact is None:
        raise Http404
    locked = contact.email.lower() in portal.login_emails(member=member)
    form = OwnContactForm(request.POST or None, instance=contact, email_locked=locked)
    if request.method == "POST" and form.is_valid():
        try:
            portal.update_own_contact(user=_user(request), contact=contact, **_changes(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        except portal.PortalError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Le contact %(name)s est enregistré.") % {"name": contact})
            return redirect("portal:contacts")
    status = 400 if form.is_bound and form.errors else 200
    context = {"member": member, "contact": contact, "form": form, "active": "contacts"}
    return _render(request, "contact_form.html", context, status)


@portal_page
def cases(request: HttpRequest, member: Member) -> HttpResponse:
    rows = [
        {"case": case, "deadlines": portal.case_deadlines(case)}
        for case in portal.member_cases(member=member).select_related("member")
    ]
    context = {
        "member": member,
        "rows": rows,
        "can_answer": portal.answers_cases(user=_user(request), member=member),
        "active": "cases",
    }
    return _render(request, "cases.html", context)


@require_POST
@portal_page
def case_answer(request: HttpRequest, member: Member, reference: str) -> HttpResponse:
    """Opens the case in the parties' space (/suivi/), where the business answers, as the business party.

    The parties' space keeps its identity in the session (`mediation.cases.party.open_session`:
    e-mail, party, schema) and recognises a business by its active contacts'
    e-mails; the portal user proved their e-mail at login, so when it is one of
    those the portal writes that identity instead of sending a second code.
    """
    from mediation.cases import party
    from mediation.cases.models import Party

    case = portal.member_case(member=member, reference=reference)
    if case is None:
        raise Http404
    user = _user(request)
    if not portal.answers_cases(user=user, member=member):
        messages.error(
            request,
            _(
                "Votre adresse e-mail n'est pas celle d'un contact actif de l'entreprise : demandez au cabinet de "
                "l'ajouter pour répondre aux dossiers."
            ),
        )
        return redirect("portal:cases")
    party.open_session(
        request.session, identity=party.PartyIdentity(email=party.normalize_email(user.email), party=Party.BUSINESS)
    )
    return redirect("party:case", reference=case.reference)


# --- The kit (mediation.members.kit), for the logged-in user's business only ---------------------------


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@portal_page
def kit_page(request: HttpRequest, member: Member) -> HttpResponse:
    context = {
        "member": member,
        "active": "kit",
        "coverage": coverage_of(member=member, today=timezone.localdate()),
        "poster_sizes": kit.POSTER_SIZES,
        "cgv_clause": kit.cgv_clause(member=member),
        "website_text": kit.website_text(member=member),
        "badge_snippet": kit.badge_snippet(member=member),
    }
    return _render(request, "kit.html", context)


@portal_page
def kit_certificate(request: HttpRequest, member: Member) -> HttpResponse:
    today = timezone.localdate()
    try:
        content = kit.certificate_pdf(member=member, today=today)
    except kit.NotCovered as exc:
        messages.error(request, str(exc))
        return redirect("portal:kit")
    return _pdf(content, f"certificat-adhesion-{member.siren}-{today.year}.pdf")


@portal_page
def kit_poster(request: HttpRequest, member: Member, size: str) -> HttpResponse:
    if size not in kit.POSTER_SIZES:
        raise Http404
    content = kit.poster_pdf(member=member, size=size)  # type: ignore[arg-type]  # checked just above
    return _pdf(content, f"affiche-mediation-{size}-{member.siren}.pdf")


# --- Staff: opening and closing the portal for a member's contacts ------------------------------------


def _staff_member(member_pk: int) -> Member:
    member = selectors.member(pk=member_pk)
    if member is None:
        raise Http404
    return member


@require_POST
@require_perm(Perm.MEMBERS_EDIT)
def staff_grant(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _staff_member(member_pk)
    form = GrantAccessForm(request.POST, member=member)
    if not form.is_valid():
        messages.error(request, _("Choisissez un contact de cet adhérent."))
        return redirect("members:detail", pk=member.pk)
    contact = form.cleaned_data["contact"]
    try:
        link = portal.grant_access(by=_user(request), member=member, contact=contact)
    except portal.PortalError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("L'accès à l'espace adhérent est ouvert à %(email)s ; une invitation lui a été envoyée.")
            % {"email": link.user.email},
        )
    return redirect("members:detail", pk=member.pk)


@require_POST
@require_perm(Perm.MEMBERS_EDIT)
def staff_revoke(request: HttpRequest, member_pk: int, pk: int) -> HttpResponse:
    member = _staff_member(member_pk)
    link = portal.portal_user(member=member, pk=pk)
    if link is None:
        raise Http404
    portal.revoke_access(by=_user(request), member_user=link)
    messages.success(request, _("L'accès de %(email)s à l'espace adhérent est fermé.") % {"email": link.user.email})
    return redirect("members:detail", pk=member.pk)

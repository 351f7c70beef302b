"""Staff management (/staff/equipe/, admins only), the invitation link (/accounts/invitation/<token>/)
and the platform's support link (/accounts/support/<token>/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors, services
from accounts.errors import INVITATION_REASONS, InvitationUnusable, StaffError
from accounts.forms import AcceptInvitationForm, InviteForm, RoleForm
from accounts.middleware import SUPPORT_GRANT_KEY, SUPPORT_SESSION_GRACE
from accounts.models import Invitation, User
from accounts.permissions import Perm, require_perm
from tenants.support import SupportAccessError


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _member(pk: int) -> User:
    member = selectors.staff_member(pk=pk)
    if member is None:
        raise Http404
    return member


@require_perm(Perm.STAFF_MANAGE)
def staff_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/staff_list.html",
        {"members": selectors.staff_members(), "invitations": selectors.pending_invitations()},
    )


@require_perm(Perm.STAFF_MANAGE)
def staff_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _token = services.invite_staff(
                by=_acting_user(request),
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                site_url=request.build_absolute_uri("/"),
            )
        except StaffError as exc:
            form.add_error("email", str(exc.message))
        else:
            messages.success(request, _("Invitation envoyée à %(email)s.") % {"email": invitation.email})
            return redirect("team:list")
    return render(request, "accounts/staff_invite.html", {"form": form})


@require_perm(Perm.STAFF_MANAGE)
def staff_change_role(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member(pk)
    form = RoleForm(request.POST or None, initial={"role": member.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.change_role(by=_acting_user(request), user=member, role=form.cleaned_data["role"])
        except StaffError as exc:
            form.add_error("role", str(exc.message))
        else:
            messages.success(request, _("Le rôle de %(name)s a été modifié.") % {"name": member})
            return redirect("team:list")
    return render(request, "accounts/staff_role.html", {"form": form, "member": member})


@require_perm(Perm.STAFF_MANAGE)
@require_POST
def staff_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member(pk)
    try:
        services.deactivate_staff(by=_acting_user(request), user=member)
    except StaffError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Le compte de %(name)s est désactivé.") % {"name": member})
    return redirect("team:list")


@require_perm(Perm.STAFF_MANAGE)
@require_POST
def staff_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member(pk)
    services.reactivate_staff(by=_acting_user(request), user=member)
    messages.success(request, _("Le compte de %(name)s est réactivé.") % {"name": member})
    return redirect("team:list")


@require_perm(Perm.STAFF_MANAGE)
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
    try:
        services.revoke_invitation(by=_acting_user(request), invitation=invitation)
    except StaffError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("L'invitation de %(email)s est annulée.") % {"email": invitation.email})
    return redirect("team:list")


def _unusable(request: HttpRequest, reason: str) -> HttpResponse:
    return render(
        request,
        "accounts/invitation_unusable.html",
        {"reason": reason, "message": INVITATION_REASONS.get(reason, INVITATION_REASONS["unknown"])},
        status=404 if reason == "unknown" else 410,
    )


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee chooses a name and a password; the account is created and logged in."""
    invitation = selectors.invitation_for_token(token)
    if invitation is None:
        return _unusable(request, "unknown")
    if invitation.status != Invitation.Status.PENDING:
        return _unusable(request, invitation.status)

    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept_invitation(
                token=token,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except InvitationUnusable as exc:
            return _unusable(request, exc.reason)
        except ValidationError as exc:
            form.add_error("password1", exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Bienvenue ! Votre compte est créé."))
            return redirect("staff:home")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


@never_cache
@require_GET
def support_session(request: HttpRequest, token: str) -> HttpResponse:
    """The operator's single-use link from the console: opens a support session in this firm until the grant ends."""
    try:
        user, grant = services.start_support_session(token=token)
    except SupportAccessError as exc:
        return render(
            request,
            "accounts/support_unusable.html",
            {"message": exc.message},
            status=404 if exc.reason == "unknown" else 410,
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SUPPORT_GRANT_KEY] = grant.pk
    request.session["support_expires_at"] = grant.expires_at.isoformat()
    request.session.set_expiry(grant.expires_at + SUPPORT_SESSION_GRACE)
    return redirect("staff:home")

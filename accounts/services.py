"""Every write on the firm's staff: invitations, roles, activation. Each leaves an audit row."""

from __future__ import annotations

from functools import partial

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import selectors
from accounts.errors import (
    AlreadyStaff,
    CannotDeactivateSelf,
    InactiveStaff,
    InvitationUnusable,
    LastActiveAdmin,
    MemberPortalEmail,
    StaffSeatsFull,
)
from accounts.models import Invitation, User, new_token
from accounts.permissions import Perm, ensure_perm
from core import audit
from core.tokens import hash_token
from tenants.models import SupportGrant
from tenants.support import SupportAccessError, open_support_session

# What a role change touches: Django's admin access follows the firm role
# (is_staff for admins only, and a demoted admin loses superuser rights).
ROLE_FIELDS = ("role", "is_staff", "is_superuser")


def _lock_for_staff_change(user: User) -> tuple[User, list[User]]:
    """Locks the firm's active admins, then `user`; returns the fresh user and the admins.

    Admins are always locked first and in id order, so two admins demoting
    each other at the same moment are serialised and the second one sees
    that it would leave no admin.
    """
    # A support account is no admin of the firm's own: it must not let the last real admin go.
    admins = list(
        User.objects.select_for_update()
        .filter(role=User.Role.ADMIN, is_active=True, is_platform_support=False)
        .order_by("pk")
    )
    return User.objects.select_for_update().get(pk=user.pk), admins


def _ensure_another_active_admin(user: User, admins: list[User]) -> None:
    """Refuses a change that would leave the firm without an active admin."""
    if user.role == User.Role.ADMIN and user.is_active and all(admin.pk == user.pk for admin in admins):
        raise LastActiveAdmin


def _send_invitation(*, email: str, subject: str, body: str) -> None:
    # The firm's sender name and reply-to live in its settings (the firm app builds on accounts).
    from firm.selectors import email_identity

    from_email, reply_to = email_identity()
    EmailMessage(subject, body, from_email, [email], reply_to=reply_to).send()


def _staff_role(role: User.Role | str) -> User.Role:
    """A role of the firm's team; the member portal's role is given by the member services, never here."""
    role = User.Role(role)
    if role == User.Role.MEMBER:
        raise ValueError("the member role is not a staff role")
    return role


def _ensure_staff_seat() -> None:
    """Refuses one more active account or pending invitation beyond the firm's plan."""
    tenant = getattr(connection, "tenant", None)
    plan = getattr(tenant, "plan", None)
    limit = getattr(plan, "max_staff_seats", None)
    if tenant is None or plan is None or limit is None:
        return
    # Two admins inviting at once must not both take the last seat.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"staff-seats:{tenant.schema_name}"])
    pending = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).count()
    # The platform's support account is not the firm's staff: it takes no seat.
    # Nor are member businesses' portal users.
    staff = User.objects.filter(is_active=True, is_platform_support=False).exclude(role=User.Role.MEMBER)
    if staff.count() + pending >= limit:
        raise StaffSeatsFull(limit=limit, plan=plan.name)


@transaction.atomic
def invite_staff(*, by: User, email: str, role: User.Role | str, site_url: str) -> tuple[Invitation, str]:
    """Invites `email` to join with `role`; mails the link after commit. Returns the invitation and its raw token.

    Older pending invitations for the same address are revoked: only the
    newest link works.
    """
    ensure_perm(by, Perm.STAFF_MANAGE)
    email = User.objects.normalize_email(email).lower()
    role = _staff_role(role)
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        if existing.role == User.Role.MEMBER:
            raise MemberPortalEmail
        raise AlreadyStaff if existing.is_active else InactiveStaff

    now = timezone.now()
    older_invitations = Invitation.objects.select_for_update().filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    if not older_invitations.filter(expires_at__gt=now).exists():  # a re-invitation replaces its seat
        _ensure_staff_seat()
    for older in older_invitations:
        older.revoked_at = now
        older.save(update_fields=["revoked_at"])
        audit.record(actor=by, action="staff.invitation_revoked", obj=older, changes={"revoked_at": [None, now]})

    token = new_token()
    invitation = Invitation.objects.create(email=email, role=role, token_hash=hash_token(token), invited_by=by)
    audit.record(
        actor=by,
        action="staff.invited",
        obj=invitation,
        changes=audit.diff({}, audit.snapshot(invitation, ["email", "role", "expires_at"])),
    )

    tenant = getattr(connection, "tenant", None)
    context = {
        "firm_name": getattr(tenant, "name", ""),
        "inviter": by.get_full_name() or by.email,
        "role": invitation.get_role_display(),
        "link": site_url.rstrip("/") + reverse("accept_invitation", kwargs={"token": token}),
        "expires_at": invitation.expires_at,
    }
    subject = " ".join(render_to_string("accounts/email/invitation_subject.txt", context).split())
    body = render_to_string("accounts/email/invitation_message.txt", context)
    transaction.on_commit(partial(_send_invitation, email=email, subject=subject, body=body))
    return invitation, token


@transaction.atomic
def revoke_invitation(*, by: User, invitation: Invitation) -> Invitation:
    ensure_perm(by, Perm.STAFF_MANAGE)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationUnusable(invitation.status)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        actor=by,
        action="staff.invitation_revoked",
        obj=invitation,
        changes={"revoked_at": [None, invitation.revoked_at]},
    )
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, first_name: str, last_name: str, password: str) -> User:
    """Creates the invited staff account. The invitation row is locked: a link works once."""
    invitation = selectors.invitation_for_token(token, for_update=True)
    if invitation is None:
        raise InvitationUnusable("unknown")
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationUnusable(invitation.status)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationUnusable("taken")

    user = User(
        email=invitation.email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=invitation.role,
        is_staff=invitation.role == User.Role.ADMIN,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    # The link reached this mailbox: the address is verified.
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(
        actor=user,
        action="staff.invitation_accepted",
        obj=invitation,
        changes={"accepted_at": [None, invitation.accepted_at]},
    )
    audit.record(
        actor=user,
        action="staff.joined",
        obj=user,
        changes=audit.diff({}, audit.snapshot(user, ["email", "first_name", "last_name", "role", "is_active"])),
    )
    return user


@transaction.atomic
def change_role(*, by: User, user: User, role: User.Role | str) -> User:
    ensure_perm(by, Perm.STAFF_MANAGE)
    role = _staff_role(role)
    user, admins = _lock_for_staff_change(user)
    if user.role == role:
        return user
    if role != User.Role.ADMIN:
        _ensure_another_active_admin(user, admins)
    before = audit.snapshot(user, ROLE_FIELDS)
    user.role = role
    user.is_staff = role == User.Role.ADMIN
    user.is_superuser = user.is_superuser and role == User.Role.ADMIN
    user.save(update_fields=list(ROLE_FIELDS))
    audit.record(
        actor=by, action="staff.role_changed", obj=user, changes=audit.diff(before, audit.snapshot(user, ROLE_FIELDS))
    )
    return user


@transaction.atomic
def deactivate_staff(*, by: User, user: User) -> User:
    """Turns an account off: its sessions stop working at once (inactive users are anonymous)."""
    ensure_perm(by, Perm.STAFF_MANAGE)
    if user.pk == by.pk:
        raise CannotDeactivateSelf
    user, admins = _lock_for_staff_change(user)
    if not user.is_active:
        return user
    _ensure_another_active_admin(user, admins)
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(actor=by, action="staff.deactivated", obj=user, changes={"is_active": [True, False]})
    return user


@transaction.atomic
def reactivate_staff(*, by: User, user: User) -> User:
    ensure_perm(by, Perm.STAFF_MANAGE)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        return user
    _ensure_staff_seat()
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(actor=by, action="staff.reactivated", obj=user, changes={"is_active": [False, True]})
    return user


def support_user_email(operator_email: str) -> str:
    """`ops@plateforme.fr` enters every firm as `support+ops@<PLATFORM_DOMAIN>`: one account per operator and firm."""
    local_part = operator_email.rsplit("@", 1)[0].lower()
    return f"support+{local_part}@{settings.PLATFORM_DOMAIN}"


@transaction.atomic
def start_support_session(*, token: str) -> tuple[User, SupportGrant]:
    """Uses the support link once and returns the firm's support account, with the grant's role.

    The account takes no staff seat, has no password (it is only entered
    through a grant) and gets the role of the grant's level each time.
    """
    grant = open_support_session(token=token)
    email = support_user_email(grant.operator_email)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is not None and not user.is_platform_support:
        raise SupportAccessError("taken")
    before = audit.snapshot(user, ["role", "is_active"]) if user is not None else {}
    if user is None:
        user = User(email=email, is_platform_support=True)
    role = User.Role.ADMIN if grant.level == SupportGrant.Level.ADMIN else User.Role.READ_ONLY
    user.first_name, user.last_name = "Support", "plateforme"
    user.role = role
    user.is_staff = role == User.Role.ADMIN
    user.is_superuser = False
    user.is_active = True
    user.set_unusable_password()
    user.save()
    audit.record(
        actor=user,
        action="support.session_opened",
        obj=grant,
        changes={
            "operator": [None, grant.operator_email],
            "level": [None, grant.level],
            "reason": [None, grant.reason],
            "expires_at": [None, grant.expires_at],
            **audit.diff(before, audit.snapshot(user, ["role", "is_active"])),
        },
    )
    return user, grant


@transaction.atomic
def end_support_session(*, user: User, grant_id: int | None) -> str:
    """Writes why a support session stops ("revoked", "expired" or "no_grant") to the firm's log; returns it."""
    grant = SupportGrant.objects.select_related("tenant").filter(pk=grant_id).first() if grant_id else None
    reason = "no_grant" if grant is None else "revoked" if grant.revoked_at is not None else "expired"
    audit.record(actor=user, action="support.session_ended", obj=grant or user, changes={"reason": [None, reason]})
    return reason

"""The member portal (/espace-adherent/): who may log in for a business, and what they may change.

A member business's users are `accounts.User` rows with the role `member` (no
staff permission at all) linked to one business by `MemberUser`. They log in
with an e-mail code (allauth) since their password is unusable until they set
one. Staff give and revoke the access (members.edit); the member's users then
update the business's public-facing details and their contacts' coordinates,
never its identifiers (SIREN, SIRET, VAT), its status or its group: those
decide coverage and billing, and stay with the firm's staff.

Every write leaves an audit row on the member (object = the member), with the
member's user as the actor, so that the staff history shows who changed what.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from core.links import firm_site_url as site_url
from mediation.members import services
from mediation.members.models import Contact, Member, MemberUser

# What a member's user may change on the business's record: how consumers find and reach it.
PORTAL_MEMBER_FIELDS = ("trade_name", "address_line1", "address_line2", "postcode", "city", "country", "websites")
# What it may change on a contact: the person's name and coordinates; roles and activity stay with staff.
PORTAL_CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
LOGIN_CODE_PATH = "/accounts/login/code/"
PORTAL_PATH = "/espace-adherent/"


class PortalError(Exception):
    """A refused portal operation, with a French message for the person and a stable code."""

    code = "portal_error"
    message: str | Promise = gettext_lazy("Cette opération n'est pas possible.")

    def __init__(self, message: str | Promise | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class ContactWithoutEmail(PortalError):
    code = "contact_without_email"
    message = gettext_lazy("Ce contact n'a pas d'adresse e-mail : ajoutez-en une avant de lui donner l'accès.")


class InactiveContact(PortalError):
    code = "inactive_contact"
    message = gettext_lazy("Ce contact est inactif : réactivez-le avant de lui donner l'accès.")


class EmailOfStaff(PortalError):
    code = "email_of_staff"
    message = gettext_lazy(
        "Cette adresse e-mail est celle d'un compte de l'équipe du cabinet : un même compte ne peut pas être à la "
        "fois membre de l'équipe et utilisateur d'un adhérent. Demandez au contact une autre adresse."
    )


class EmailOfAnotherMember(PortalError):
    code = "email_of_another_member"
    message = gettext_lazy(
        "Cette adresse e-mail ouvre déjà l'espace d'un autre adhérent : un compte ne donne accès qu'à une seule "
        "entreprise. Demandez au contact une autre adresse."
    )


class EmailInUse(PortalError):
    code = "email_in_use"
    message = gettext_lazy(
        "Cette adresse e-mail sert à un compte d'accès à l'espace adhérent : elle ne peut être changée que par "
        "le cabinet."
    )


# --- Selectors ----------------------------------------------------------------------------------


def member_of(user: Any) -> Member | None:
    """The business `user` logs in for, or None (anonymous, inactive, staff, or no link)."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return None
    if user.role != User.Role.MEMBER:
        return None
    link = MemberUser.objects.select_related("member__group").filter(user=user).first()
    return link.member if link is not None else None


def portal_users(*, member: Member) -> QuerySet[MemberUser]:
    """The business's portal users (revoked ones included, shown as such), active first."""
    return (
        MemberUser.objects.filter(member=member)
        .select_related("user", "contact")
        .order_by("-user__is_active", "user__email", "pk")
    )


def portal_user(*, member: Member, pk: int) -> MemberUser | None:
    return MemberUser.objects.select_related("user").filter(member=member, pk=pk).first()


def contacts(*, member: Member) -> QuerySet[Contact]:
    return Contact.objects.filter(member=member).order_by("-is_active", "last_name", "first_name", "pk")


def editable_contact(*, member: Member, pk: int) -> Contact | None:
    """A contact the business may edit: its own, still active."""
    return Contact.objects.filter(member=member, pk=pk, is_active=True).first()


def login_emails(*, member: Member) -> set[str]:
    """The e-mails that log in to this business's portal: they are changed by staff only."""
    return {email.lower() for email in MemberUser.objects.filter(member=member).values_list("user__email", flat=True)}


def member_cases(*, member: Member) -> QuerySet[Any]:
    """The business's cases from the notice of seizure on (before it, the business is no party to the case).

    The same rule as `mediation.cases.party.business_cases`, by member rather than by contact e-mail.
    """
    from mediation.cases.models import FINAL_STATUSES, IN_PROGRESS, Case

    seized = Q(status__in=IN_PROGRESS) | Q(status__in=FINAL_STATUSES, opened_at__isnull=False)
    return Case.objects.filter(seized, member=member).order_by("-opened_at", "-pk")


def member_case(*, member: Member, reference: str) -> Any:
    return member_cases(member=member).filter(reference=reference).first()


def case_deadlines(case: Any) -> list[tuple[str, datetime.date]]:
    """What the business waits for or must do on a seized case, and by when."""
    from mediation.cases.models import Status

    items: list[tuple[str, datetime.date]] = []
    if case.status in {Status.OPENED, Status.IN_MEDIATION} and case.outcome_due_on:
        items.append((_("Issue de la médiation attendue au plus tard le"), case.outcome_due_on))
    if case.status == Status.PROPOSAL_SENT and case.proposal_answer_due_on:
        items.append((_("Réponse à la proposition attendue au plus tard le"), case.proposal_answer_due_on))
    return items


def answers_cases(*, user: User, member: Member) -> bool:
    """Whether `user` may answer the business's cases in the parties' space.

    The parties' space recognises a business by its active contacts' e-mails
    (`mediation.cases.party.business_cases`): the portal opens it for the same
    people, so that both ways in show the same cases to the same persons.
    """
    return Contact.objects.filter(member=member, email__iexact=user.email, is_active=True).exists()


# --- Staff: giving and revoking access ---------------------------------------------------------------


@transaction.atomic
def grant_access(*, by: User, member: Member, contact: Contact) -> MemberUser:
    """Opens the portal to `contact` (a person of `member`) and e-mails them how to log in.

    Creates the member-role user for the contact's e-mail (unusable password:
    they log in with an e-mail code) or reuses the one already linked to this
    business (reactivating it if it was revoked). An e-mail of the firm's staff
    or of another business's user is refused.
    """
    ensure_perm(by, Perm.MEMBERS_EDIT)
    member = Member.objects.select_for_update().get(pk=member.pk)
    contact = Contact.objects.get(pk=contact.pk, member=member)
    if not contact.is_active:
        raise InactiveContact
    email = User.objects.normalize_email(contact.email or "").strip().lower()
    if not email:
        raise ContactWithoutEmail
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is not None and user.role != User.Role.MEMBER:
        raise EmailOfStaff
    link = MemberUser.objects.select_for_update().filter(user=user).first() if user is not None else None
    if link is not None and link.member_id != member.pk:
        raise EmailOfAnotherMember
    if user is None:
        user = User(email=email, role=User.Role.MEMBER, first_name=contact.first_name, last_name=contact.last_name)
        user.set_unusable_password()
        user.save()
    elif not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    if link is None:
        link = MemberUser.objects.create(user=user, member=member, contact=contact)
    elif link.contact_id != contact.pk:
        link.contact = contact
        link.save(update_fields=["contact"])
    audit.record(
        actor=by,
        action="members.portal_access_granted",
        obj=member,
        changes={"portal_user": [None, email], "contact": [None, contact.pk]},
    )
    name, site = str(member), site_url()
    transaction.on_commit(lambda: _send_invitation(email=email, member_name=name, site_url=site))
    return link


def _send_invitation(*, email: str, member_name: str, site_url: str) -> None:
    from firm.selectors import email_identity

    from_email, reply_to = email_identity()
    base = site_url.rstrip("/")
    subject = _("Votre accès à l'espace adhérent de %(member)s") % {"member": member_name}
    body = _(
        "Bonjour,\n\n"
        "Le cabinet de médiation vous a ouvert l'espace adhérent de %(member)s. Vous y trouverez la fiche de "
        "l'entreprise et ses contacts, le kit à afficher en boutique et sur votre site, et les dossiers de "
        "médiation qui la concernent.\n\n"
        "Pour vous connecter, sans mot de passe :\n"
        "1. ouvrez %(login)s ;\n"
        "2. saisissez cette adresse e-mail : %(email)s ;\n"
        "3. recopiez le code de connexion que vous recevrez alors par e-mail.\n\n"
        "Votre espace : %(portal)s\n\n"
        "Si vous ne travaillez pas pour cette entreprise, ignorez ce message et prévenez le cabinet en "
        "répondant à cet e-mail.\n"
    ) % {
        "member": member_name,
        "login": base + LOGIN_CODE_PATH,
        "email": email,
        "portal": base + PORTAL_PATH,
    }
    EmailMessage(subject, body, from_email, [email], reply_to=reply_to).send()


@transaction.atomic
def revoke_access(*, by: User, member_user: MemberUser) -> MemberUser:
    """Closes the portal to this user: the account is deactivated (its sessions stop working at once)."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    link = MemberUser.objects.select_related("user", "member").get(pk=member_user.pk)
    user = User.objects.select_for_update().get(pk=link.user_id)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit.record(
            actor=by,
            action="members.portal_access_revoked",
            obj=link.member,
            changes={"portal_user": [user.email, None]},
        )
    link.user = user
    return link


# --- The member's own writes --------------------------------------------------------------------------


def _own_member(user: User) -> Member:
    member = member_of(user)
    if member is None:
        raise PermissionDenied
    return member


@transaction.atomic
def update_own_details(*, user: User, **changes: Any) -> Member:
    """The member's user updates the business's public details; any other field is a TypeError."""
    member = _own_member(user)
    member = Member.objects.select_for_update().get(pk=member.pk)
    # The same validation and audit as the staff's updates, with the member's user as the actor.
    services._update(obj=member, fields=PORTAL_MEMBER_FIELDS, changes=changes, by=user, action="members.member_updated")
    return member


@transaction.atomic
def update_own_contact(*, user: User, contact: Contact, **changes: Any) -> Contact:
    """The member's user updates one of its business's active contacts (name, e-mail, phone).

    The e-mail of a contact whose address opens the portal stays with staff:
    changing it would leave the login and the contact out of step.
    """
    member = _own_member(user)
    unknown = sorted(set(changes) - set(PORTAL_CONTACT_FIELDS))
    if unknown:
        raise TypeError(f"Contact has no field the member may edit: {', '.join(unknown)}")
    locked = Contact.objects.select_for_update().filter(pk=contact.pk, member=member, is_active=True).first()
    if locked is None:
        raise PermissionDenied
    contact = locked
    before = services._contact_snapshot(contact)
    for name, value in changes.items():
        setattr(contact, name, value.strip() if isinstance(value, str) else value)
    contact.full_clean()
    if contact.email != before["email"] and str(before["email"] or "").lower() in login_emails(member=member):
        raise EmailInUse
    changed = audit.diff(before, services._contact_snapshot(contact))
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
        audit.record(
            actor=user,
            action="members.contact_updated",
            obj=member,
            changes={"contact": [contact.pk, contact.pk], **changed},
        )
    return contact

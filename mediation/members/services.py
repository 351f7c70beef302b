"""Every write on members, their contacts and groups; each leaves an audit row with before/after.

Contact events are recorded on the member (object = the member), so that the
member's history shows them, including contacts removed since.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, models, transaction

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from mediation.members.models import Contact, Group, Member

MEMBER_FIELDS = (
    "legal_name",
    "trade_name",
    "siren",
    "siret",
    "vat_number",
    "naf_code",
    "legal_form",
    "address_line1",
    "address_line2",
    "postcode",
    "city",
    "country",
    "websites",
    "sector",
    "headcount_band",
    "turnover_band",
    "is_ess",
    "is_siae",
    "is_esat",
    "is_ea",
    "is_tih",
    "group",
)
CONTACT_FIELDS = ("roles", "first_name", "last_name", "email", "phone", "is_active")
GROUP_FIELDS = ("name", "kind", "notes")


def _check_fields(model: type[models.Model], allowed: Iterable[str], values: dict[str, Any]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise TypeError(f"{model.__name__} has no editable field(s): {', '.join(unknown)}")


def _save(obj: models.Model, *, update_fields: list[str] | None = None) -> None:
    """Validates and saves; a unique constraint lost to a concurrent insert gives the same message as full_clean."""
    obj.full_clean()
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            obj.save(update_fields=update_fields)
    except IntegrityError:
        obj.validate_unique()  # raises the ValidationError naming the existing row
        raise


def _update(*, obj: models.Model, fields: tuple[str, ...], changes: dict[str, Any], by: User, action: str) -> None:
    """Applies `changes`, validates, saves only what changed and audits it with before/after."""
    _check_fields(type(obj), fields, changes)
    before = audit.snapshot(obj, fields)
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.full_clean()  # may normalise fields beyond `changes` (compact identifiers)
    changed = audit.diff(before, audit.snapshot(obj, fields))
    if not changed:
        return
    _save(obj, update_fields=[*changed, "updated_at"])
    audit.record(actor=by, action=action, obj=obj, changes=changed)


# --- Members -------------------------------------------------------------------


@transaction.atomic
def create_member(*, by: User, legal_name: str, siren: str, **fields: Any) -> Member:
    """A new member (status prospect). A SIREN already on file is refused, naming the member that holds it."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    _check_fields(Member, MEMBER_FIELDS, fields)
    member = Member(legal_name=legal_name.strip(), siren=siren, **fields)
    _save(member)
    audit.record(
        actor=by,
        action="members.member_created",
        obj=member,
        changes=audit.diff({}, audit.snapshot(member, (*MEMBER_FIELDS, "status"))),
    )
    return member


@transaction.atomic
def update_member(*, by: User, member: Member, **changes: Any) -> Member:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    member = Member.objects.select_for_update().get(pk=member.pk)
    _update(obj=member, fields=MEMBER_FIELDS, changes=changes, by=by, action="members.member_updated")
    return member


# --- Contacts ------------------------------------------------------------------


def _contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {"contact": contact.pk, **audit.snapshot(contact, CONTACT_FIELDS)}


@transaction.atomic
def add_contact(
    *,
    by: User,
    member: Member,
    last_name: str,
    first_name: str = "",
    roles: Iterable[str] = (),
    email: str = "",
    phone: str = "",
    is_active: bool = True,
) -> Contact:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    member = Member.objects.select_for_update().get(pk=member.pk)
    contact = Contact(
        member=member,
        roles=list(roles),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email,
        phone=phone.strip(),
        is_active=is_active,
    )
    _save(contact)
    audit.record(
        actor=by, action="members.contact_added", obj=member, changes=audit.diff({}, _contact_snapshot(contact))
    )
    return contact


@transaction.atomic
def update_contact(*, by: User, contact: Contact, **changes: Any) -> Contact:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    _check_fields(Contact, CONTACT_FIELDS, changes)
    contact = Contact.objects.select_for_update().select_related("member").get(pk=contact.pk)
    before = _contact_snapshot(contact)
    for name, value in changes.items():
        setattr(contact, name, value)
    contact.full_clean()
    after = _contact_snapshot(contact)
    changed = audit.diff(before, after)
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
        # The contact's id stays in the row even when nothing else but one field changed.
        audit.record(
            actor=by,
            action="members.contact_updated",
            obj=contact.member,
            changes={"contact": [contact.pk, contact.pk], **changed},
        )
    return contact


@transaction.atomic
def remove_contact(*, by: User, contact: Contact) -> None:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    contact = Contact.objects.select_for_update().select_related("member").get(pk=contact.pk)
    before = _contact_snapshot(contact)
    member = contact.member
    contact.delete()
    audit.record(actor=by, action="members.contact_removed", obj=member, changes=audit.diff(before, {}))


# --- Groups --------------------------------------------------------------------


@transaction.atomic
def create_group(*, by: User, name: str, kind: str = Group.Kind.GROUP, notes: str = "") -> Group:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    group = Group(name=name.strip(), kind=kind, notes=notes)
    _save(group)
    audit.record(
        actor=by, action="members.group_created", obj=group, changes=audit.diff({}, audit.snapshot(group, GROUP_FIELDS))
    )
    return group


@transaction.atomic
def update_group(*, by: User, group: Group, **changes: Any) -> Group:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    group = Group.objects.select_for_update().get(pk=group.pk)
    _update(obj=group, fields=GROUP_FIELDS, changes=changes, by=by, action="members.group_updated")
    return group

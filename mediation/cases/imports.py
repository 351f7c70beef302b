"""Import of a helpdesk export (Zendesk tickets JSON, seed 003) as cases with their messages.

Accepted shapes: the API's `{"tickets": [...], "users": [...], "organizations": [...]}`
(side-loaded with `?include=users,organizations`), a JSON array of tickets,
or the account export's NDJSON (one ticket per line). Each ticket may carry its
`comments` (`body`, `public`, `author_id`, `created_at`).

`plan()` reads everything and writes nothing: every ticket gets a line saying
what would happen, with its errors in French. `apply()` imports the tickets
the plan accepted, each in its own transaction, and skips those already
imported (`Case.external_ref`), so running it twice creates nothing twice.

Mapping: the requester becomes the consumer; the business is the member whose
SIREN appears in the tags (`siren_412345670`) or a custom field, else whose
name matches the ticket's organisation; open tickets (new, open, pending, hold)
become received cases, dated from the ticket (the admissibility clock runs
from there); solved and closed tickets are kept as closed cases without an
outcome (the helpdesk did not record one). Public comments by the requester are
consumer messages, public agent replies are staff messages to the consumer,
private comments internal notes.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from firm import validators as identifiers
from mediation.cases import services
from mediation.cases.models import Case, CaseEvent, CaseMessage, Channel, Party, Status
from mediation.members.models import Member

SOURCE = "zendesk"
OPEN_TICKET_STATUSES = {"new", "open", "pending", "hold"}
CLOSED_TICKET_STATUSES = {"solved", "closed"}
MAX_TICKETS = 50_000
SIREN_TAG = re.compile(r"^siren[_:-]?(\d{9})$", re.IGNORECASE)


class ImportFileError(ValueError):
    """The file cannot be read at all (not JSON, not tickets); the message is for the person who sent it."""


@dataclass
class TicketPlan:
    """What the import would do with one ticket."""

    ticket_id: str
    subject: str
    action: str  # "create", "skip" (already imported) or "error"
    errors: list[str] = field(default_factory=list)
    consumer: str = ""
    business: str = ""
    member_id: int | None = None
    status: str = ""
    messages: int = 0
    ticket: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ImportPlan:
    tickets: list[TicketPlan]

    @property
    def to_create(self) -> list[TicketPlan]:
        return [t for t in self.tickets if t.action == "create"]

    @property
    def skipped(self) -> list[TicketPlan]:
        return [t for t in self.tickets if t.action == "skip"]

    @property
    def with_errors(self) -> list[TicketPlan]:
        return [t for t in self.tickets if t.action == "error"]


def parse(raw: bytes | str) -> tuple[list[dict[str, Any]], dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]]:
    """(tickets, users by id, organisations by id) from any accepted shape; ImportFileError when unreadable."""
    text = raw.decode("utf-8-sig", errors="replace") if isinstance(raw, bytes) else raw
    text = text.strip()
    if not text:
        raise ImportFileError(_("Le fichier est vide."))
    users: list[Any] = []
    organizations: list[Any] = []
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        data = None
        try:  # NDJSON: one ticket per line
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                _("Ce fichier n'est pas un export JSON lisible (ligne %(line)s : %(error)s).")
                % {"line": exc.lineno, "error": exc.msg}
            ) from None
    if isinstance(data, dict):
        users = data.get("users") or []
        organizations = data.get("organizations") or []
        data = data.get("tickets", [data["ticket"]] if "ticket" in data else None)
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise ImportFileError(_("Le fichier ne contient pas de liste de tickets."))
    if len(data) > MAX_TICKETS:
        raise ImportFileError(
            _("Le fichier contient %(count)s tickets ; importez-en au plus %(max)s à la fois.")
            % {"count": len(data), "max": MAX_TICKETS}
        )
    by_id = {u.get("id"): u for u in users if isinstance(u, dict)}
    orgs = {o.get("id"): o for o in organizations if isinstance(o, dict)}
    return data, by_id, orgs


def _when(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    parsed = parse_datetime(value)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed


def _siren_in(ticket: dict[str, Any]) -> str:
    for tag in ticket.get("tags") or []:
        match = SIREN_TAG.match(str(tag).strip())
        if match:
            return match.group(1)
    for custom in ticket.get("custom_fields") or ticket.get("fields") or []:
        value = str((custom or {}).get("value") or "").replace(" ", "")
        if len(value) == 9 and value.isdigit() and _is_siren(value):
            return value
    return ""


def _is_siren(value: str) -> bool:
    from django.core.exceptions import ValidationError

    try:
        identifiers.validate_siren(value)
    except ValidationError:
        return False
    return True


def _split_name(name: str) -> tuple[str, str]:
    parts = name.strip().split(None, 1)
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", name.strip()


def plan(raw: bytes | str) -> ImportPlan:
    """What an import of `raw` would do, ticket by ticket; writes nothing."""
    tickets, users, organizations = parse(raw)
    imported = set(Case.objects.filter(external_ref__startswith=f"{SOURCE}:").values_list("external_ref", flat=True))
    members = {m.siren: m for m in Member.objects.only("pk", "siren", "legal_name", "trade_name")}
    by_name: dict[str, Member] = {}
    for known in members.values():
        for name in (known.legal_name, known.trade_name):
            if name:
                by_name[name.strip().casefold()] = known
    seen: set[str] = set()
    lines = []
    for index, ticket in enumerate(tickets, start=1):
        ticket_id = str(ticket.get("id") or "")
        line = TicketPlan(
            ticket_id=ticket_id or f"#{index}", subject=str(ticket.get("subject") or "")[:200], action="create"
        )
        line.ticket = ticket
        if not ticket_id:
            line.errors.append(_("Ticket n° %(n)s : identifiant manquant.") % {"n": index})
        elif f"{SOURCE}:{ticket_id}" in imported or ticket_id in seen:
            line.action = "skip"
            lines.append(line)
            continue
        seen.add(ticket_id)
        requester = users.get(ticket.get("requester_id")) or ticket.get("requester") or {}
        email = str(requester.get("email") or "").strip().lower()
        name = str(requester.get("name") or "").strip()
        if not email and not name:
            line.errors.append(_("Le demandeur (nom ou e-mail) est inconnu : ajoutez les utilisateurs à l'export."))
        line.consumer = name or email
        siren = _siren_in(ticket)
        organization = organizations.get(ticket.get("organization_id")) or {}
        org_name = str(organization.get("name") or "").strip()
        member = members.get(siren) if siren else None
        if member is None and org_name:
            member = by_name.get(org_name.casefold())
        if member is not None:
            line.member_id, line.business = member.pk, str(member)
        elif siren:
            line.errors.append(_("Aucun adhérent n'a le SIREN %(siren)s.") % {"siren": siren})
        else:
            line.business = org_name
        if not line.business:
            line.errors.append(_("Le professionnel n'est pas identifié (ni SIREN en étiquette, ni organisation)."))
        status = str(ticket.get("status") or "").lower()
        if status in OPEN_TICKET_STATUSES:
            line.status = Status.RECEIVED
        elif status in CLOSED_TICKET_STATUSES:
            line.status = Status.CLOSED
        else:
            line.errors.append(_("Statut de ticket inconnu : « %(status)s ».") % {"status": status or "—"})
        created = _when(ticket.get("created_at"))
        if created is None:
            line.errors.append(_("Date de création illisible."))
        elif created > timezone.now():
            line.errors.append(_("Date de création dans le futur."))
        if not str(ticket.get("description") or "").strip() and not ticket.get("comments"):
            line.errors.append(_("Le ticket n'a ni description ni commentaire."))
        line.messages = len(ticket.get("comments") or [])
        if line.errors:
            line.action = "error"
        lines.append(line)
    return ImportPlan(lines)


def _channel_of(comment: dict[str, Any], requester_id: Any, users: dict[Any, dict[str, Any]]) -> tuple[str, str]:
    """(channel, party) of a helpdesk comment."""
    if not comment.get("public", True):
        return Channel.INTERNAL, Party.STAFF
    if comment.get("author_id") == requester_id:
        return Channel.CONSUMER, Party.CONSUMER
    author = users.get(comment.get("author_id")) or {}
    if author.get("role") == "end-user":  # another end user (the business's staff, a relative…): keep it private
        return Channel.INTERNAL, Party.STAFF
    return Channel.CONSUMER, Party.STAFF


@dataclass
class ImportResult:
    created: list[Case]
    skipped: int
    errors: list[TicketPlan]


def apply(*, raw: bytes | str, by: User) -> ImportResult:
    """Imports every ticket the plan accepts; each in its own transaction (a bad one stops nothing else)."""
    ensure_perm(by, Perm.CASES_HANDLE)
    import_plan = plan(raw)
    _tickets, users, _orgs = parse(raw)
    created = []
    for line in import_plan.to_create:
        created.append(_import_one(line, users=users, by=by))
    return ImportResult(created=created, skipped=len(import_plan.skipped), errors=import_plan.with_errors)


@transaction.atomic
def _import_one(line: TicketPlan, *, users: dict[Any, dict[str, Any]], by: User) -> Case:
    ticket = line.ticket
    requester_id = ticket.get("requester_id")
    requester = users.get(requester_id) or ticket.get("requester") or {}
    first, last = _split_name(str(requester.get("name") or ""))
    received = _when(ticket.get("created_at")) or timezone.now()
    closed = line.status == Status.CLOSED
    case = Case.objects.create(
        status=line.status,
        source=Case.Source.ONLINE,
        external_ref=f"{SOURCE}:{line.ticket_id}",
        member_id=line.member_id,
        business_name="" if line.member_id else line.business[:200],
        consumer_first_name=first[:150],
        consumer_last_name=(last or str(requester.get("email") or ""))[:150],
        consumer_email=str(requester.get("email") or "").strip().lower()[:254],
        consumer_phone=str(requester.get("phone") or "")[:30],
        subject="other",
        description=str(ticket.get("description") or ticket.get("subject") or "").strip(),
        received_at=received,
        reference=services._next_reference(timezone.localdate(received).year),
        closed_at=(_when(ticket.get("updated_at")) or received) if closed else None,
        closed_by_party=Party.STAFF if closed else "",
        closure_note=_("Ticket résolu dans l'outil précédent ; issue non renseignée.") if closed else "",
    )
    fields = services.refresh_deadlines(case)
    case.save(update_fields=fields)
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.CREATED,
        by=by,
        party=Party.STAFF,
        channel=Channel.INTERNAL,
        at=received,
        note=_("Importé de Zendesk (ticket %(id)s).") % {"id": line.ticket_id},
        data={"source": SOURCE, "ticket": line.ticket_id, "subject": line.subject},
    )
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.STATUS, before=Status.DRAFT, after=line.status, by=by, party=Party.STAFF,
        at=received, data={"source": SOURCE},
    )  # fmt: skip
    messages = []
    for comment in _comments(ticket):
        channel, party = _channel_of(comment, requester_id, users)
        author = users.get(comment.get("author_id")) or {}
        messages.append(
            CaseMessage(
                case=case,
                channel=channel,
                party=party,
                author_name=str(author.get("name") or "")[:200],
                body=str(comment.get("body") or comment.get("plain_body") or "").strip() or "—",
                created_at=_when(comment.get("created_at")) or received,
            )
        )
    CaseMessage.objects.bulk_create(messages)
    return case


def _comments(ticket: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return [c for c in ticket.get("comments") or [] if isinstance(c, dict)]

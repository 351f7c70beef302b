"""The membership lifecycle: tariffs, proposals, the convention accepted online, terms, renewal, lapse.

Every write is one service here (keyword-only, atomic, the member's row
locked); a status change always goes through `set_status`, which checks the
`STATUS_TRANSITIONS` table and writes an append-only `StatusChange`. Other
writes leave an audit row. E-mails leave after commit.

Coverage (what the badge and the verification page show) is `coverage()`:
the status is active or renewal_due AND a paid, unterminated term covers the
day. A term that is accepted but not yet paid covers nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.permissions import Perm, ensure_perm
from core import audit
from core.links import firm_site_url
from core.models import AuditEntry
from core.pdf import html_to_pdf
from core.tenancy import current_schema
from core.tokens import hash_token
from firm import validators as identifiers
from mediation.members import signals
from mediation.members.coverage import COVERED_STATUSES, coverage_of
from mediation.members.models import (
    Contact,
    Convention,
    ConventionAcceptance,
    Member,
    Membership,
    Proposal,
    StatusChange,
    Tariff,
)

logger = logging.getLogger(__name__)

S = Member.Status

STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    # Self-service joining goes from prospect straight to the accepted convention.
    S.PROSPECT: frozenset({S.PROPOSAL_SENT, S.CONVENTION_ACCEPTED}),
    # Back to prospect when a proposal is withdrawn or declined.
    S.PROPOSAL_SENT: frozenset({S.CONVENTION_ACCEPTED, S.PROSPECT}),
    # Active once paid; lapsed when the term ends unpaid; terminated when the business withdraws before paying.
    S.CONVENTION_ACCEPTED: frozenset({S.ACTIVE, S.LAPSED, S.TERMINATED}),
    # Lapsed directly when the daily run missed the renewal window (the beat was down).
    S.ACTIVE: frozenset({S.RENEWAL_DUE, S.LAPSED, S.TERMINATED}),
    S.RENEWAL_DUE: frozenset({S.ACTIVE, S.LAPSED, S.TERMINATED}),
    # A former member rejoins: a new proposal, or the convention accepted again.
    S.LAPSED: frozenset({S.PROPOSAL_SENT, S.CONVENTION_ACCEPTED}),
    S.TERMINATED: frozenset({S.PROPOSAL_SENT, S.CONVENTION_ACCEPTED}),
}
# Statuses from which accepting the convention starts a (new) membership.
JOINABLE_STATUSES = frozenset(
    status for status, targets in STATUS_TRANSITIONS.items() if S.CONVENTION_ACCEPTED in targets
)
REMINDER_DAYS = (60, 30, 7)
RENEWAL_WINDOW_DAYS = max(REMINDER_DAYS)
REMINDER_ACTION = "members.renewal_reminder"
DEFAULT_VAT_RATE = "20.00"
TOKEN_BYTES = 32


class MembershipError(Exception):
    """A refused membership operation; `message` is for the person who asked, `code` is stable."""

    def __init__(self, message: str, code: str = "membership_error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


# --- Helpers ---------------------------------------------------------------------------------


def add_years(day: datetime.date, years: int) -> datetime.date:
    """`day` moved by `years` years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def term_end(starts_on: datetime.date, term_years: int) -> datetime.date:
    """The last day of a term of `term_years` years starting on `starts_on`."""
    return add_years(starts_on, term_years) - datetime.timedelta(days=1)


def _announce_term(membership: Membership) -> None:
    """After commit, tells Billing (`signals.membership_term_started`) that a term exists and is to be invoiced."""
    pk = membership.pk
    transaction.on_commit(lambda: signals.membership_term_started.send(sender=Membership, membership_id=pk))


def _lock_member(member: Member) -> Member:
    return Member.objects.select_for_update().get(pk=member.pk)


def _check_term(term_years: int) -> int:
    if term_years not in Tariff.Term.values:
        raise MembershipError(_("L'engagement doit être d'un an ou de trois ans."), "invalid_term")
    return int(term_years)


def _firm_language() -> str:
    from firm.selectors import firm_profile

    return firm_profile().default_language or settings.LANGUAGE_CODE


def _pdf_page(title: str) -> dict[str, Any]:
    """The firm's branding (name, address, colours, logo) and the page's title, for a PDF template."""
    from firm.selectors import firm_profile
    from mediation.cases.letters import branding

    firm = firm_profile()
    page = branding(firm)
    page["firm_name"] = page["firm_name"] or str(getattr(firm, "legal_name", ""))
    return {**page, "title": title, "language": translation.get_language() or settings.LANGUAGE_CODE}


def _firm_contact() -> str:
    """How a member reaches the firm: its contact e-mail, else its phone, else its website."""
    from firm.selectors import firm_profile

    firm = firm_profile()
    return firm.contact_email or firm.contact_phone or firm.website or firm_site_url()


def _send_mail(*, subject: str, body: str, to: list[str], attachments: Iterable[tuple[str, bytes]] = ()) -> None:
    from firm.selectors import email_identity

    if not to:
        return
    from_email, reply_to = email_identity()
    message = EmailMessage(subject, body, from_email, to, reply_to=reply_to)
    for name, content in attachments:
        message.attach(name, content, "application/pdf")
    message.send()


def member_recipients(member: Member) -> list[str]:
    """Who receives membership mail: the legal representative and billing contacts, else any active contact."""
    contacts = list(Contact.objects.filter(member=member, is_active=True).exclude(email="").order_by("pk"))
    wanted = {Contact.Role.LEGAL_REPRESENTATIVE, Contact.Role.BILLING}
    chosen = [contact.email for contact in contacts if wanted & set(contact.roles or [])]
    if not chosen:
        chosen = [contact.email for contact in contacts]
    return list(dict.fromkeys(chosen))


# --- Status --------------------------------------------------------------------------------------


def can_transition(current: str, to: str) -> bool:
    return to in STATUS_TRANSITIONS.get(current, frozenset())


@transaction.atomic
def set_status(*, member: Member, to: str, reason: str, by: Any = None) -> Member:
    """Moves `member` to `to` when the table allows it, recording the change and its reason.

    `by` None is the system (the daily run, a business acting online); a user
    given here must hold members.edit.
    """
    if by is not None:
        ensure_perm(by, Perm.MEMBERS_EDIT)
    if to not in S.values:
        raise MembershipError(_("Statut inconnu."), "unknown_status")
    member = _lock_member(member)
    if not can_transition(member.status, to):
        raise MembershipError(
            _("Impossible de passer un adhérent « %(current)s » à « %(target)s ».")
            % {"current": S(member.status).label, "target": S(to).label},
            "transition_not_allowed",
        )
    if to in COVERED_STATUSES and member.status not in COVERED_STATUSES:
        _ensure_plan_allows_one_more_active_member()
    StatusChange.objects.create(member=member, before=member.status, after=to, reason=reason.strip(), by=by)
    before, member_pk = member.status, member.pk
    transaction.on_commit(
        lambda: signals.membership_changed.send(sender=Member, member_id=member_pk, before=before, after=to)
    )
    member.status = to
    member.save(update_fields=["status", "updated_at"])
    return member


def _ensure_plan_allows_one_more_active_member() -> None:
    """The firm's SaaS plan may cap its active members (tenants.Plan.max_active_members)."""
    from django.db import connection

    plan = getattr(getattr(connection, "tenant", None), "plan", None)
    limit = getattr(plan, "max_active_members", None)
    if plan is None or limit is None:
        return
    # Two activations at once must not both take the last place.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"active-members:{current_schema()}"])
    if Member.objects.filter(status__in=COVERED_STATUSES).count() >= limit:
        raise MembershipError(
            _(
                "Votre formule %(plan)s comprend %(limit)d adhérents actifs, tous utilisés. Résiliez une adhésion "
                "ou passez à une formule supérieure (Cabinet → Abonnement) pour activer cet adhérent."
            )
            % {"plan": plan.name, "limit": limit},
            "plan_active_members_full",
        )


def status_history(*, member: Member) -> QuerySet[StatusChange]:
    return StatusChange.objects.filter(member=member).select_related("by").order_by("at", "pk")


# --- Tariffs ------------------------------------------------------------------------------------


def current_tariff(*, headcount_band: str, term_years: int, on: datetime.date) -> Tariff | None:
    """The tariff of a band and a commitment in force on `on` (the one that started last)."""
    return (
        Tariff.objects.filter(headcount_band=headcount_band, term_years=term_years, valid_from__lte=on)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .order_by("-valid_from", "-pk")
        .first()
    )


def tariffs() -> QuerySet[Tariff]:
    return Tariff.objects.order_by("headcount_band", "term_years", "-valid_from", "-pk")


@transaction.atomic
def create_tariff(
    *,
    by: Any,
    headcount_band: str,
    term_years: int,
    yearly_price_cents: int,
    valid_from: datetime.date,
    valid_until: datetime.date | None = None,
) -> Tariff:
    """A new price for a band and a commitment from `valid_from`; it takes over from the earlier one that day."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    tariff = Tariff(
        headcount_band=headcount_band,
        term_years=_check_term(term_years),
        yearly_price_cents=yearly_price_cents,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    if valid_until is not None and valid_until < valid_from:
        raise MembershipError(_("La fin de validité précède son début."), "invalid_dates")
    try:
        tariff.full_clean()
    except ValidationError as exc:
        raise MembershipError(" ".join(exc.messages), "invalid_tariff") from exc
    tariff.save()
    audit.record(
        actor=by,
        action="members.tariff_created",
        obj=tariff,
        changes=audit.diff(
            {},
            audit.snapshot(tariff, ("headcount_band", "term_years", "yearly_price_cents", "valid_from", "valid_until")),
        ),
    )
    return tariff


# --- Convention ----------------------------------------------------------------------------------


def current_convention() -> Convention | None:
    return Convention.objects.filter(published_at__isnull=False).order_by("-version").first()


def conventions() -> QuerySet[Convention]:
    return Convention.objects.order_by("-version")


@transaction.atomic
def publish_convention(*, by: Any, title: str, text: str) -> Convention:
    """Publishes the next version now. Earlier versions, and what members accepted, stay as they were."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    title, text = (title or "").strip(), (text or "").strip()
    if not title or not text:
        raise MembershipError(_("Le titre et le texte de la convention sont obligatoires."), "empty_convention")
    latest = Convention.objects.select_for_update().order_by("-version").first()
    convention = Convention.objects.create(
        version=(latest.version + 1) if latest else 1, title=title, text=text, published_at=timezone.now()
    )
    audit.record(
        actor=by,
        action="members.convention_published",
        obj=convention,
        changes=audit.diff({}, audit.snapshot(convention, ("version", "title", "text"))),
    )
    return convention


# --- Proposals ------------------------------------------------------------------------------------


def _vat_rate(value: Any) -> Decimal:
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MembershipError(_("Taux de TVA invalide."), "invalid_lines") from exc
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise MembershipError(_("Taux de TVA invalide."), "invalid_lines")
    return rate


def _clean_lines(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checked proposal lines: a label, a quantity ≥ 1, a price in cents (negative for a discount), a VAT rate."""
    cleaned: list[dict[str, Any]] = []
    for line in lines:
        if not isinstance(line, dict):
            raise MembershipError(_("Ligne de proposition invalide."), "invalid_lines")
        label = str(line.get("label", "")).strip()
        try:
            quantity = int(line.get("quantity", 1))
            unit_price = int(line.get("unit_price_cents", 0))
        except (TypeError, ValueError) as exc:
            raise MembershipError(_("Ligne de proposition invalide."), "invalid_lines") from exc
        if not label or quantity < 1:
            raise MembershipError(_("Chaque ligne doit avoir un libellé et une quantité."), "invalid_lines")
        rate = _vat_rate(line.get("vat_rate", DEFAULT_VAT_RATE))
        cleaned.append(
            {"label": label[:200], "quantity": quantity, "unit_price_cents": unit_price, "vat_rate": f"{rate:.2f}"}
        )
    if not cleaned:
        raise MembershipError(_("Une proposition a au moins une ligne."), "invalid_lines")
    if sum(line["quantity"] * line["unit_price_cents"] for line in cleaned) < 0:
        raise MembershipError(_("Le total de la proposition ne peut pas être négatif."), "invalid_lines")
    return cleaned


def default_lines(
    *,
    member: Member,
    term_years: int,
    upfront: bool,
    on: datetime.date,
    discount_percent: int = 0,
    yearly_price_cents: int | None = None,
) -> list[dict[str, Any]]:
    """The lines of the offer: yearly price × years when paid upfront, else the yearly price.

    The yearly price is the tariff of the member's band unless a negotiated one
    is given; a group's negotiated terms come as a discount line naming the group.
    """
    if yearly_price_cents is None:
        tariff = current_tariff(headcount_band=member.headcount_band, term_years=term_years, on=on)
        if tariff is None:
            raise MembershipError(
                _("Aucun tarif n'est en vigueur pour cet effectif et cet engagement : créez-le d'abord."), "no_tariff"
            )
        yearly_price_cents = tariff.yearly_price_cents
    if yearly_price_cents < 0:
        raise MembershipError(_("Le prix ne peut pas être négatif."), "invalid_lines")
    band = Member.HeadcountBand(member.headcount_band).label if member.headcount_band else ""
    if upfront:
        label = _("Adhésion de %(years)s an(s), payée d'avance — %(band)s") % {"years": term_years, "band": band}
        price = yearly_price_cents * term_years
    else:
        label = _("Adhésion annuelle (engagement de %(years)s an(s)) — %(band)s") % {"years": term_years, "band": band}
        price = yearly_price_cents
    lines = [{"label": label, "quantity": 1, "unit_price_cents": price, "vat_rate": DEFAULT_VAT_RATE}]
    if discount_percent:
        if not 0 < discount_percent <= 100:
            raise MembershipError(_("La remise doit être comprise entre 1 et 100 %."), "invalid_discount")
        who = member.group.name if member.group_id and member.group else ""
        discount = -int((Decimal(price) * discount_percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        label = (
            _("Remise négociée %(group)s (%(percent)s %%)") % {"group": who, "percent": discount_percent}
            if who
            else _("Remise (%(percent)s %%)") % {"percent": discount_percent}
        )
        lines.append({"label": label, "quantity": 1, "unit_price_cents": discount, "vat_rate": DEFAULT_VAT_RATE})
    return lines


def proposal_totals(proposal: Proposal) -> dict[str, Any]:
    """The lines with their total, the total excluding VAT, the VAT (rounded per line) and the total, in cents."""
    net = vat = 0
    lines = []
    for line in proposal.lines:
        amount = int(line.get("quantity", 1)) * int(line.get("unit_price_cents", 0))
        rate = Decimal(str(line.get("vat_rate", DEFAULT_VAT_RATE)))
        net += amount
        vat += int((Decimal(amount) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append({**line, "total_cents": amount})
    return {"lines": lines, "net_cents": net, "vat_cents": vat, "gross_cents": net + vat}


def _new_proposal(
    *,
    by: Any,
    member: Member,
    term_years: int,
    upfront: bool,
    lines: Iterable[dict[str, Any]] | None,
    valid_until: datetime.date,
    notes: str = "",
    discount_percent: int = 0,
    yearly_price_cents: int | None = None,
) -> Proposal:
    today = timezone.localdate()
    term_years = _check_term(term_years)
    if valid_until < today:
        raise MembershipError(_("La date de validité est déjà passée."), "invalid_dates")
    if not lines:
        lines = default_lines(
            member=member,
            term_years=term_years,
            upfront=upfront,
            on=today,
            discount_percent=discount_percent,
            yearly_price_cents=yearly_price_cents,
        )
    proposal = Proposal.objects.create(
        member=member,
        term_years=term_years,
        upfront=upfront,
        lines=_clean_lines(lines),
        notes=(notes or "").strip(),
        valid_until=valid_until,
        created_by=by,
    )
    audit.record(
        actor=by,
        action="members.proposal_created",
        obj=member,
        changes={
            "proposal": [None, proposal.pk],
            "term_years": [None, term_years],
            "total": [None, proposal.total_cents],
        },
    )
    return proposal


@transaction.atomic
def create_proposal(
    *,
    by: Any,
    member: Member,
    term_years: int,
    upfront: bool,
    lines: Iterable[dict[str, Any]] | None,
    valid_until: datetime.date,
    notes: str = "",
    discount_percent: int = 0,
    yearly_price_cents: int | None = None,
) -> Proposal:
    """A draft proposal; empty `lines` are built by `default_lines` (the band's tariff, or a negotiated price)."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    member = _lock_member(member)
    return _new_proposal(
        by=by,
        member=member,
        term_years=term_years,
        upfront=upfront,
        lines=lines,
        valid_until=valid_until,
        notes=notes,
        discount_percent=discount_percent,
        yearly_price_cents=yearly_price_cents,
    )


def proposal_link(token: str) -> str:
    return f"{firm_site_url()}/adherer/proposition/{token}/"


def render_proposal_pdf(proposal: Proposal) -> bytes:
    with translation.override(_firm_language()):
        page = _pdf_page(_("Proposition d'adhésion"))
        context = {
            **page,
            "proposal": proposal,
            "member": proposal.member,
            "totals": proposal_totals(proposal),
            "today": timezone.localdate(),
        }
        return html_to_pdf(render_to_string("members/pdf/proposal.html", context))


@transaction.atomic
def send_proposal(*, by: Any, proposal: Proposal) -> tuple[Proposal, str]:
    """Renders and stores the PDF, sets a new secret link (only its hash is kept), mails it to the business.

    The member moves to proposal_sent when it was a prospect or a former member.
    Returns the proposal and the token (the only time it is known in clear).
    """
    ensure_perm(by, Perm.MEMBERS_EDIT)
    member = _lock_member(proposal.member)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status not in (Proposal.Status.DRAFT, Proposal.Status.SENT):
        raise MembershipError(_("Cette proposition ne peut plus être envoyée."), "proposal_closed")
    if proposal.valid_until < timezone.localdate():
        raise MembershipError(_("Cette proposition a expiré."), "proposal_expired")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    pdf = render_proposal_pdf(proposal)
    if proposal.pdf:
        proposal.pdf.delete(save=False)
    proposal.pdf.save("proposition.pdf", ContentFile(pdf), save=False)
    proposal.token_hash = hash_token(token)
    proposal.status = Proposal.Status.SENT
    proposal.sent_at = timezone.now()
    proposal.save(update_fields=["pdf", "token_hash", "status", "sent_at"])
    recipients = member_recipients(member)
    audit.record(
        actor=by,
        action="members.proposal_sent",
        obj=member,
        changes={"proposal": [proposal.pk, proposal.pk], "recipients": [None, recipients]},
    )
    if member.status in (S.PROSPECT, S.LAPSED, S.TERMINATED):
        set_status(member=member, to=S.PROPOSAL_SENT, reason=_("Proposition d'adhésion envoyée."), by=by)
        proposal.member.status = S.PROPOSAL_SENT
    link = proposal_link(token)
    with translation.override(_firm_language()):
        subject = _("Votre proposition d'adhésion à la médiation de la consommation")
        body = _(
            "Bonjour,\n\n"
            "Vous trouverez ci-joint notre proposition d'adhésion pour %(member)s, valable jusqu'au %(until)s.\n\n"
            "Pour la consulter et l'accepter en ligne avec la convention d'adhésion, ouvrez ce lien :\n%(link)s\n\n"
            "Ce lien est personnel : ne le transmettez qu'aux personnes habilitées à engager l'entreprise.\n"
        ) % {"member": member.legal_name, "until": proposal.valid_until.strftime("%d/%m/%Y"), "link": link}
    transaction.on_commit(
        lambda: _send_mail(subject=subject, body=body, to=recipients, attachments=[("proposition.pdf", pdf)])
    )
    return proposal, token


def proposal_by_token(token: str) -> Proposal | None:
    """The proposal a link points to (whatever its status), or None for an unknown token."""
    if not token or len(token) > 200:
        return None
    return Proposal.objects.select_related("member").filter(token_hash=hash_token(token)).first()


def proposal_is_open(proposal: Proposal, *, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return proposal.status == Proposal.Status.SENT and proposal.valid_until >= today


# --- The convention accepted online -----------------------------------------------------------------


def render_acceptance_pdf(
    *,
    member: Member,
    convention: Convention,
    signer_name: str,
    signer_role: str,
    accepted_at: datetime.datetime,
    ip_address: str | None,
    proposal: Proposal | None,
    term_years: int,
) -> bytes:
    with translation.override(_firm_language()):
        page = _pdf_page(_("Convention d'adhésion acceptée"))
        context = {
            **page,
            "member": member,
            "convention": convention,
            "signer_name": signer_name,
            "signer_role": signer_role,
            "accepted_at": timezone.localtime(accepted_at),
            "ip_address": ip_address or "",
            "proposal": proposal,
            "totals": proposal_totals(proposal) if proposal else None,
            "term_years": term_years,
        }
        return html_to_pdf(render_to_string("members/pdf/convention.html", context))


def _accept(
    *,
    member: Member,
    convention: Convention,
    signer_name: str,
    signer_role: str,
    ip_address: str | None,
    proposal: Proposal | None,
    term_years: int,
    also_notify: str = "",
) -> Membership:
    """The body of `accept_convention`, in the caller's transaction with `member` locked."""
    signer_name, signer_role = (signer_name or "").strip(), (signer_role or "").strip()
    if not signer_name or not signer_role:
        raise MembershipError(_("Le nom et la qualité du signataire sont obligatoires."), "signer_missing")
    if member.status in COVERED_STATUSES:
        raise MembershipError(_("Cette entreprise est déjà adhérente."), "already_member")
    if member.status == S.CONVENTION_ACCEPTED:
        raise MembershipError(
            _("La convention a déjà été acceptée : l'adhésion démarre à réception du paiement."), "already_accepted"
        )
    current = current_convention()
    if current is None or convention.pk != current.pk:
        raise MembershipError(
            _("La convention a changé entre-temps : lisez la version en vigueur avant de l'accepter."),
            "convention_outdated",
        )
    if proposal is not None:
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.member_id != member.pk:
            raise MembershipError(_("Cette proposition concerne une autre entreprise."), "wrong_member")
        if not proposal_is_open(proposal):
            raise MembershipError(_("Cette proposition n'est plus ouverte."), "proposal_closed")
        term_years = proposal.term_years
    term_years = _check_term(term_years)
    accepted_at = timezone.now()
    pdf = render_acceptance_pdf(
        member=member,
        convention=convention,
        signer_name=signer_name,
        signer_role=signer_role,
        accepted_at=accepted_at,
        ip_address=ip_address,
        proposal=proposal,
        term_years=term_years,
    )
    acceptance = ConventionAcceptance(
        member=member,
        convention=convention,
        signer_name=signer_name[:200],
        signer_role=signer_role[:200],
        accepted_at=accepted_at,
        ip_address=ip_address or None,
        sha256=hashlib.sha256(pdf).hexdigest(),
    )
    acceptance.pdf.save(f"convention-v{convention.version}.pdf", ContentFile(pdf), save=False)
    acceptance.save()
    starts_on = timezone.localdate(accepted_at)
    membership = Membership.objects.create(
        member=member,
        acceptance=acceptance,
        proposal=proposal,
        term_years=term_years,
        starts_on=starts_on,
        ends_on=term_end(starts_on, term_years),
    )
    _announce_term(membership)
    if proposal is not None:
        proposal.status = Proposal.Status.ACCEPTED
        proposal.accepted_at = accepted_at
        proposal.save(update_fields=["status", "accepted_at"])
    audit.record(
        actor=None,
        action="members.convention_accepted",
        obj=member,
        changes={
            "convention_version": [None, convention.version],
            "signer": [None, f"{signer_name} ({signer_role})"],
            "ip_address": [None, ip_address or ""],
            "sha256": [None, acceptance.sha256],
            "membership": [None, membership.pk],
        },
    )
    set_status(
        member=member,
        to=S.CONVENTION_ACCEPTED,
        reason=_("Convention v%(version)s acceptée en ligne par %(name)s (%(role)s).")
        % {"version": convention.version, "name": signer_name, "role": signer_role},
    )
    recipients = list(dict.fromkeys([*member_recipients(member), *([also_notify] if also_notify else [])]))
    with translation.override(_firm_language()):
        subject = _("Votre convention d'adhésion acceptée")
        body = _(
            "Bonjour,\n\n"
            "Nous avons bien reçu l'acceptation de la convention d'adhésion (version %(version)s) "
            "pour %(member)s, le %(date)s par %(name)s. Vous la trouverez ci-jointe.\n\n"
            "Votre adhésion démarre à réception du paiement : la facture vous parviendra séparément.\n"
        ) % {
            "version": convention.version,
            "member": member.legal_name,
            "date": timezone.localtime(accepted_at).strftime("%d/%m/%Y %H:%M"),
            "name": signer_name,
        }
    name = f"convention-adhesion-v{convention.version}.pdf"
    transaction.on_commit(lambda: _send_mail(subject=subject, body=body, to=recipients, attachments=[(name, pdf)]))
    return membership


@transaction.atomic
def accept_convention(
    *,
    member: Member,
    convention: Convention,
    signer_name: str,
    signer_role: str,
    ip_address: str | None,
    proposal: Proposal | None = None,
    term_years: int = 1,
) -> Membership:
    """The business accepts `convention` online: the PDF of exactly what it accepted is stored with its sha256.

    Starts a term today (the proposal's commitment when there is one); the
    member's status becomes convention_accepted, active once paid.
    """
    member = _lock_member(member)
    return _accept(
        member=member,
        convention=convention,
        signer_name=signer_name,
        signer_role=signer_role,
        ip_address=ip_address,
        proposal=proposal,
        term_years=term_years,
    )


def acceptance_pdf_bytes(acceptance: ConventionAcceptance) -> bytes:
    with acceptance.pdf.open("rb") as handle:
        return bytes(handle.read())


# --- Self-service joining (public, no staff user) ----------------------------------------------------

PUBLIC_MEMBER_FIELDS = ("legal_name", "address_line1", "postcode", "city", "headcount_band")


def member_by_siren(siren: str) -> Member | None:
    return Member.objects.filter(siren=identifiers.normalize_siren(siren or "")).first()


@transaction.atomic
def join_as_prospect(
    *,
    siren: str,
    legal_name: str,
    address_line1: str,
    postcode: str,
    city: str,
    headcount_band: str,
    contact_first_name: str,
    contact_last_name: str,
    contact_email: str,
    contact_role: str = "",
) -> Member:
    """A business joining online: creates the prospect, or completes an existing non-member's record.

    Nobody is logged in (audit actor None). Knowing a SIREN is not proof of
    anything: on an existing record only empty fields are filled, and the
    contact is added when its e-mail is new, without any role when the record
    already has contacts (so that the firm's mail keeps going to the people it knows).
    """
    siren = identifiers.normalize_siren(siren)
    values = {
        "legal_name": legal_name.strip(),
        "address_line1": address_line1.strip(),
        "postcode": postcode.strip(),
        "city": city.strip(),
        "headcount_band": headcount_band,
    }
    member = Member.objects.select_for_update().filter(siren=siren).first()
    trusted = member is None or not Contact.objects.filter(member=member).exists()
    if member is not None and member.status in (*COVERED_STATUSES, S.CONVENTION_ACCEPTED):
        raise MembershipError(_("Cette entreprise est déjà adhérente."), "already_member")
    if member is None:
        member = Member(siren=siren, **values)
        try:
            member.full_clean()
            with transaction.atomic():
                member.save()
        except ValidationError as exc:
            raise MembershipError(" ".join(exc.messages), "invalid_member") from exc
        audit.record(
            actor=None,
            action="members.member_created",
            obj=member,
            changes=audit.diff({}, audit.snapshot(member, ("siren", *PUBLIC_MEMBER_FIELDS, "status"))),
        )
    else:
        before = audit.snapshot(member, PUBLIC_MEMBER_FIELDS)
        for name, value in values.items():
            if value and not getattr(member, name):
                setattr(member, name, value)
        try:
            member.full_clean()
        except ValidationError as exc:
            raise MembershipError(" ".join(exc.messages), "invalid_member") from exc
        changed = audit.diff(before, audit.snapshot(member, PUBLIC_MEMBER_FIELDS))
        if changed:
            member.save(update_fields=[*changed, "updated_at"])
            audit.record(actor=None, action="members.member_updated", obj=member, changes=changed)
    email = contact_email.strip().lower()
    if email and not Contact.objects.filter(member=member, email=email).exists():
        contact = Contact(
            member=member,
            roles=[Contact.Role.LEGAL_REPRESENTATIVE] if trusted else [],
            first_name=contact_first_name.strip(),
            last_name=contact_last_name.strip() or email,
            email=email,
        )
        try:
            contact.full_clean()
        except ValidationError as exc:
            raise MembershipError(" ".join(exc.messages), "invalid_contact") from exc
        contact.save()
        audit.record(
            actor=None,
            action="members.contact_added",
            obj=member,
            changes={"contact": [None, contact.pk], "email": [None, email], "role": [None, contact_role.strip()]},
        )
    return member


def online_offer(*, headcount_band: str, on: datetime.date | None = None) -> list[tuple[int, Tariff]]:
    """The commitments a business can choose online, with their tariff in force (1 year, 3 years)."""
    on = on or timezone.localdate()
    offers = []
    for term in Tariff.Term.values:
        tariff = current_tariff(headcount_band=headcount_band, term_years=term, on=on)
        if tariff is not None:
            offers.append((int(term), tariff))
    return offers


@transaction.atomic
def join_online(
    *,
    member: Member,
    convention: Convention,
    term_years: int,
    signer_name: str,
    signer_role: str,
    ip_address: str | None,
    contact_email: str = "",
) -> Membership:
    """The last step of self-service joining: the offer chosen becomes an accepted proposal, then the convention.

    `contact_email` (the person who joined) receives the accepted convention with the member's contacts.
    """
    member = _lock_member(member)
    if member.status in COVERED_STATUSES or member.status == S.CONVENTION_ACCEPTED:
        raise MembershipError(_("Cette entreprise est déjà adhérente."), "already_member")
    today = timezone.localdate()
    proposal = _new_proposal(
        by=None,
        member=member,
        term_years=term_years,
        upfront=False,
        lines=None,
        valid_until=today,
        notes=_("Adhésion en ligne."),
    )
    proposal.status = Proposal.Status.SENT
    proposal.sent_at = timezone.now()
    proposal.save(update_fields=["status", "sent_at"])
    return _accept(
        member=member,
        convention=convention,
        signer_name=signer_name,
        signer_role=signer_role,
        ip_address=ip_address,
        proposal=proposal,
        term_years=term_years,
        also_notify=contact_email.strip().lower(),
    )


# --- Terms: payment, renewal, termination -----------------------------------------------------------


def memberships_of(member: Member) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(member=member).select_related("acceptance__convention").order_by("-starts_on", "-pk")
    )


def _live_terms(member: Member) -> QuerySet[Membership]:
    return Membership.objects.filter(member=member, terminated_at__isnull=True)


def current_membership(*, member: Member, on: datetime.date | None = None) -> Membership | None:
    """The unterminated term covering `on` (paid or not)."""
    on = on or timezone.localdate()
    return _live_terms(member).filter(starts_on__lte=on, ends_on__gte=on).order_by("-starts_on", "-pk").first()


def covered_until(*, member: Member, on: datetime.date | None = None) -> datetime.date | None:
    """The last day of continuous paid coverage from `on`, or None (the rule lives in `coverage.py`)."""
    return coverage_of(member=member, today=on or timezone.localdate()).until


def _target_status(member: Member, today: datetime.date) -> tuple[str, str] | None:
    """The status the member's terms call for today, with the reason; None when nothing changes."""
    status = member.status
    if status not in (S.CONVENTION_ACCEPTED, *COVERED_STATUSES):
        return None
    current = current_membership(member=member, on=today)
    later = _live_terms(member).filter(starts_on__gt=today).exists()
    if status == S.CONVENTION_ACCEPTED:
        if current is not None and current.paid_at is not None:
            return S.ACTIVE, _("Paiement reçu : l'adhésion est active.")
        if current is None and not later:
            return S.LAPSED, _("Période terminée sans paiement.")
        return None
    if current is None:
        if later:
            return None
        return S.LAPSED, _("Fin de la période d'adhésion sans renouvellement.")
    if current.paid_at is None:
        target, reason = S.RENEWAL_DUE, _("Nouvelle période non payée.")
    elif later:
        target, reason = S.ACTIVE, _("Adhésion renouvelée.")
    elif (current.ends_on - today).days <= RENEWAL_WINDOW_DAYS:
        target, reason = (
            S.RENEWAL_DUE,
            _("Fin de la période d'adhésion le %(date)s.") % {"date": current.ends_on.strftime("%d/%m/%Y")},
        )
    else:
        target, reason = S.ACTIVE, _("Adhésion en cours.")
    return (target, reason) if target != status else None


def sync_status(*, member: Member, today: datetime.date | None = None, by: Any = None) -> Member:
    """Brings `member.status` in line with its terms (the caller holds the member's lock)."""
    target = _target_status(member, today or timezone.localdate())
    if target is None:
        return member
    to, reason = target
    if can_transition(member.status, to):
        joined = member.status == S.CONVENTION_ACCEPTED and to == S.ACTIVE
        member = set_status(member=member, to=to, reason=reason, by=by)
        if joined:  # the first payment of a (re)joining business: its welcome pack leaves after commit
            pk = member.pk
            transaction.on_commit(lambda: _queue_welcome_pack(pk))
    return member


def _queue_welcome_pack(member_id: int) -> None:
    from mediation.members import tasks

    try:
        tasks.send_welcome_pack.delay(member_id)
    except Exception:  # a broker down never undoes the payment; the kit stays on the portal and the staff page
        logger.exception("welcome pack of member %s not queued", member_id)


@transaction.atomic
def mark_paid(*, by: Any, membership: Membership) -> Membership:
    """Staff record that a term is paid (until Billing does it); a current term makes the member active."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    member = _lock_member(membership.member)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.terminated_at is not None:
        raise MembershipError(_("Cette période a été résiliée."), "terminated")
    if membership.paid_at is not None:
        raise MembershipError(_("Cette période est déjà payée."), "already_paid")
    if member.status not in (S.CONVENTION_ACCEPTED, *COVERED_STATUSES):
        raise MembershipError(
            _("Un adhérent « %(status)s » ne peut pas être marqué payé.") % {"status": S(member.status).label},
            "transition_not_allowed",
        )
    membership.paid_at = timezone.now()
    membership.save(update_fields=["paid_at"])
    audit.record(
        actor=by,
        action="members.membership_paid",
        obj=member,
        changes={"membership": [membership.pk, membership.pk], "paid_at": [None, audit.to_json(membership.paid_at)]},
    )
    sync_status(member=member, by=by)
    return membership


@transaction.atomic
def record_term_paid(*, membership: Membership, paid_at: datetime.datetime | None = None) -> Membership:
    """Billing settled the term's invoice: the term is paid (once) and any suspension of its coverage lifted.

    Called by `billing` (a payment, a bank line, a Stripe webhook), which checked its own permissions.
    """
    member = _lock_member(membership.member)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.terminated_at is not None:
        return membership
    fields = []
    if membership.paid_at is None:
        membership.paid_at = paid_at or timezone.now()
        fields.append("paid_at")
    if membership.suspended_at is not None:
        membership.suspended_at = None
        fields.append("suspended_at")
    if not fields:
        return membership
    membership.save(update_fields=fields)
    audit.record(
        actor=None,
        action="members.membership_paid",
        obj=member,
        changes={"membership": [membership.pk, membership.pk], "paid_at": [None, audit.to_json(membership.paid_at)]},
    )
    sync_status(member=member)
    return membership


@transaction.atomic
def suspend_coverage(*, membership: Membership, reason: str) -> Membership:
    """An invoice of the term stays unpaid past the firm's delay: the business is no longer covered (badge)."""
    member = _lock_member(membership.member)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.suspended_at is not None or membership.terminated_at is not None:
        return membership
    membership.suspended_at = timezone.now()
    membership.save(update_fields=["suspended_at"])
    audit.record(
        actor=None,
        action="members.coverage_suspended",
        obj=member,
        changes={"membership": [membership.pk, membership.pk], "reason": [None, reason]},
    )
    return membership


@transaction.atomic
def lift_suspension(*, membership: Membership) -> Membership:
    """The unpaid invoice is settled (or credited): coverage is restored."""
    member = _lock_member(membership.member)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.suspended_at is None:
        return membership
    membership.suspended_at = None
    membership.save(update_fields=["suspended_at"])
    audit.record(
        actor=None,
        action="members.coverage_restored",
        obj=member,
        changes={"membership": [membership.pk, membership.pk]},
    )
    return membership


@transaction.atomic
def renew(*, by: Any, member: Member, term_years: int = 1) -> Membership:
    """A new term starting the day after the current one ends; the member is active again (renewed)."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    return renew_term(member=member, term_years=term_years, by=by)


@transaction.atomic
def renew_term(*, member: Member, term_years: int = 1, by: Any = None) -> Membership:
    """The body of `renew`, also run by Billing's yearly renewal run (no user: `by` is None)."""
    term_years = _check_term(term_years)
    member = _lock_member(member)
    if member.status not in COVERED_STATUSES:
        raise MembershipError(
            _("Seul un adhérent actif ou à renouveler peut être renouvelé ; un ancien adhérent adhère de nouveau."),
            "transition_not_allowed",
        )
    last = _live_terms(member).order_by("-ends_on", "-pk").first()
    today = timezone.localdate()
    if last is None:
        raise MembershipError(_("Cet adhérent n'a aucune période d'adhésion à renouveler."), "no_membership")
    if last.starts_on > today:
        raise MembershipError(
            _("L'adhésion est déjà renouvelée jusqu'au %(date)s.") % {"date": last.ends_on.strftime("%d/%m/%Y")},
            "already_renewed",
        )
    starts_on = last.ends_on + datetime.timedelta(days=1)
    membership = Membership.objects.create(
        member=member,
        acceptance=last.acceptance,
        term_years=term_years,
        starts_on=starts_on,
        ends_on=term_end(starts_on, term_years),
    )
    audit.record(
        actor=by,
        action="members.membership_renewed",
        obj=member,
        changes={
            "membership": [None, membership.pk],
            "starts_on": [None, starts_on.isoformat()],
            "ends_on": [None, membership.ends_on.isoformat()],
        },
    )
    _announce_term(membership)
    if member.status == S.RENEWAL_DUE:
        set_status(
            member=member,
            to=S.ACTIVE,
            reason=_("Renouvelée pour %(years)s an(s), jusqu'au %(date)s.")
            % {"years": term_years, "date": membership.ends_on.strftime("%d/%m/%Y")},
            by=by,
        )
    return membership


@transaction.atomic
def terminate(*, by: Any, member: Member, reason: str) -> Member:
    """Ends the membership now: every term not yet over is marked terminated with the reason."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    reason = (reason or "").strip()
    if not reason:
        raise MembershipError(_("Indiquez le motif de la résiliation."), "reason_missing")
    member = _lock_member(member)
    if not can_transition(member.status, S.TERMINATED):
        raise MembershipError(
            _("Un adhérent « %(status)s » ne peut pas être résilié.") % {"status": S(member.status).label},
            "transition_not_allowed",
        )
    now = timezone.now()
    ended = list(
        _live_terms(member).filter(ends_on__gte=timezone.localdate()).select_for_update().values_list("pk", flat=True)
    )
    Membership.objects.filter(pk__in=ended).update(terminated_at=now, termination_reason=reason)
    audit.record(actor=by, action="members.membership_terminated", obj=member, changes={"memberships": [None, ended]})
    return set_status(member=member, to=S.TERMINATED, reason=reason, by=by)


# --- The daily run (beat) ------------------------------------------------------------------------------


def reminder_sent(*, membership: Membership, days: int) -> bool:
    return AuditEntry.objects.filter(
        action=REMINDER_ACTION,
        object_type=Membership._meta.label_lower,
        object_id=str(membership.pk),
        changes__days=days,
    ).exists()


def reminders_of(*, membership: Membership) -> list[int]:
    """The reminders already sent for a term (days before its end)."""
    rows = AuditEntry.objects.filter(
        action=REMINDER_ACTION, object_type=Membership._meta.label_lower, object_id=str(membership.pk)
    ).values_list("changes", flat=True)
    return sorted(int(row.get("days", 0)) for row in rows if isinstance(row, dict))


def _due_reminder(days_left: int) -> int | None:
    """The reminder due `days_left` days before the end: the nearest threshold reached (a missed day catches up)."""
    reached = [days for days in REMINDER_DAYS if 0 <= days_left <= days]
    return min(reached) if reached else None


def _remind(membership: Membership, days: int, today: datetime.date) -> bool:
    """Sends the `days` reminder for `membership` once; False when it was sent already."""
    with transaction.atomic():
        member = _lock_member(membership.member)
        if reminder_sent(membership=membership, days=days):
            return False
        recipients = member_recipients(member)
        AuditEntry.objects.create(
            action=REMINDER_ACTION,
            object_type=Membership._meta.label_lower,
            object_id=str(membership.pk),
            object_repr=str(membership)[:200],
            changes={"days": days, "on": today.isoformat(), "recipients": recipients},
        )
        with translation.override(_firm_language()):
            subject = _("Votre adhésion à la médiation se termine le %(date)s") % {
                "date": membership.ends_on.strftime("%d/%m/%Y")
            }
            body = _(
                "Bonjour,\n\n"
                "L'adhésion de %(member)s à notre service de médiation de la consommation se termine le %(date)s "
                "(dans %(days)s jours). Pour continuer à proposer la médiation à vos clients, comme l'exige "
                "le code de la consommation, pensez à la renouveler : contactez-nous (%(contact)s).\n\n"
                "Sans renouvellement, votre adhésion prendra fin à cette date et vous ne pourrez plus "
                "nous désigner comme médiateur.\n"
            ) % {
                "member": member.legal_name,
                "date": membership.ends_on.strftime("%d/%m/%Y"),
                "days": (membership.ends_on - today).days,
                "contact": _firm_contact(),
            }
        transaction.on_commit(lambda: _send_mail(subject=subject, body=body, to=recipients))
    return True


def daily_membership_run(*, today: datetime.date | None = None) -> dict[str, int]:
    """Once a day in each firm: renewal reminders (60, 30, 7 days, once each), renewal_due, lapse, activation.

    Each member is handled in its own transaction: one failure does not stop the others.
    """
    today = today or timezone.localdate()
    counts = {"reminders": 0, "renewal_due": 0, "lapsed": 0, "active": 0}
    horizon = today + datetime.timedelta(days=RENEWAL_WINDOW_DAYS)
    ending = (
        Membership.objects.filter(
            terminated_at__isnull=True,
            member__status__in=COVERED_STATUSES,
            starts_on__lte=today,
            ends_on__gte=today,
            ends_on__lte=horizon,
        )
        .select_related("member")
        .order_by("ends_on", "pk")
    )
    for membership in ending:
        if _live_terms(membership.member).filter(starts_on__gt=membership.ends_on).exists():
            continue  # renewed: nothing to remind
        days = _due_reminder((membership.ends_on - today).days)
        if days is not None and _remind(membership, days, today):
            counts["reminders"] += 1
    for pk in Member.objects.filter(status__in=(S.CONVENTION_ACCEPTED, *COVERED_STATUSES)).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                member = Member.objects.select_for_update().get(pk=pk)
                before = member.status
                member = sync_status(member=member, today=today)
        except Exception:
            logger.exception("membership run failed for member %s", pk)
            continue
        if member.status != before and member.status in counts:
            counts[member.status] += 1
    return counts

"""Which letters each step of a case sends, to whom. Rendering and sending: see `send_for_event`."""

from __future__ import annotations

import datetime
import hashlib
import logging
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core.links import firm_site_url
from core.pdf import html_to_pdf
from firm.models import FirmProfile, Mediator
from firm.selectors import email_identity, firm_profile
from mediation.cases import letter_texts
from mediation.cases.letter_texts import Kind
from mediation.cases.models import (
    Case,
    CaseDocument,
    CaseEvent,
    Channel,
    InadmissibilityReason,
    Letter,
    LetterTemplate,
    Outcome,
    Party,
    Status,
)
from mediation.members.models import Contact

__all__ = ["Kind", "letters_for_event", "send_for_event"]


BOTH = (Party.CONSUMER, Party.BUSINESS)


def letters_for_event(event: CaseEvent) -> list[tuple[str, str]]:
    """(letter kind, recipient party) for every letter `event` calls for, in sending order."""
    case: Case = event.case
    if event.kind == CaseEvent.Kind.EXTENDED:
        return [(Kind.EXTENSION, party) for party in BOTH]
    if event.kind == CaseEvent.Kind.MESSAGE:
        # A party is told a message waits in its space; staff read theirs in the inbox.
        if event.party != Party.STAFF:
            return []
        if event.channel == Channel.ALL:
            return [(Kind.NEW_MESSAGE, party) for party in BOTH if _business_involved(case) or party == Party.CONSUMER]
        if event.channel == Channel.CONSUMER:
            return [(Kind.NEW_MESSAGE, Party.CONSUMER)]
        if event.channel == Channel.BUSINESS:
            return [(Kind.NEW_MESSAGE, Party.BUSINESS)]
        return []
    if event.kind == CaseEvent.Kind.REMINDER and event.data.get("kind") == Kind.EXECUTION_CHECK:
        return [(Kind.EXECUTION_CHECK, party) for party in BOTH]
    if event.kind != CaseEvent.Kind.STATUS:
        return []
    after, before = event.after, event.before
    if after == Status.RECEIVED and before == Status.DRAFT:
        return [(Kind.ACKNOWLEDGEMENT, Party.CONSUMER)]
    if after == Status.INCOMPLETE:
        return [(Kind.DOCUMENTS_REQUEST, Party.CONSUMER)]
    if after == Status.INADMISSIBLE:
        return [(Kind.INADMISSIBILITY, Party.CONSUMER)]
    if after == Status.REORIENTED:
        return [(Kind.REORIENTATION, Party.CONSUMER)]
    if after == Status.OPENED:
        return [(Kind.SEIZURE_CONSUMER, Party.CONSUMER), (Kind.SEIZURE_BUSINESS, Party.BUSINESS)]
    if after == Status.PROPOSAL_SENT:
        return [(Kind.PROPOSAL, party) for party in BOTH]
    if after == Status.CLOSED and case.outcome == Outcome.BUSINESS_REFUSED:
        return [(Kind.BUSINESS_REFUSED, Party.CONSUMER)]
    if after == Status.CLOSED:
        return [(Kind.CLOSURE, party) for party in BOTH]
    if after == Status.WITHDRAWN:
        parties = BOTH if _business_involved(case) else (Party.CONSUMER,)
        return [(Kind.WITHDRAWAL, party) for party in parties]
    if after == Status.INTERRUPTED:
        return [(Kind.INTERRUPTION, party) for party in BOTH]
    return []


def _business_involved(case: Case) -> bool:
    """The business is a party once it was notified of the seizure."""
    return case.opened_at is not None


# --- Rendering and sending ---------------------------------------------------------------

# A short note to a party that a message waits: no PDF (the message itself stays in the space, L612-3).
WITHOUT_PDF = frozenset({Kind.NEW_MESSAGE})
RECIPIENT_CHANNEL: dict[str, str] = {Party.CONSUMER: Channel.CONSUMER, Party.BUSINESS: Channel.BUSINESS}
PDF_TEMPLATE = "cases/letter_pdf.html"
REQUEST_PDF_TEMPLATE = "cases/letters/request_pdf.html"

logger = logging.getLogger(__name__)


@dataclass
class RenderedLetter:
    """A letter ready to store and send: its texts, the HTML of its PDF and its recipient's address."""

    kind: str
    recipient: str
    email: str
    subject: str
    body: str
    html: str  # empty for a letter without PDF
    filename: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def business_contact(case: Case) -> Contact | None:
    """Who receives the business's letters: its mediation correspondent, else its legal representative, else anyone."""
    if case.member_id is None:
        return None
    contacts = list(Contact.objects.filter(member_id=case.member_id, is_active=True).exclude(email="").order_by("pk"))
    for role in (Contact.Role.MEDIATION_CORRESPONDENT, Contact.Role.LEGAL_REPRESENTATIVE):
        for contact in contacts:
            if role in (contact.roles or []):
                return contact
    return contacts[0] if contacts else None


def recipient_email(case: Case, recipient: str) -> str:
    if recipient == Party.CONSUMER:
        return case.consumer_email
    contact = business_contact(case)
    return contact.email if contact else ""


def case_mediator(case: Case) -> Mediator | None:
    """The mediator who signs: the assignee when a mediator, else the firm's first active mediator."""
    profile = getattr(case.assignee, "mediator_profile", None) if case.assignee_id else None
    if isinstance(profile, Mediator) and profile.is_active:
        return profile
    return Mediator.objects.filter(is_active=True).order_by("last_name", "first_name", "pk").first()


def _date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _local(moment: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(moment) if moment else None


def _party_name(case: Case, party: str) -> str:
    if party == Party.CONSUMER:
        return case.consumer_name
    if party == Party.BUSINESS:
        return case.business_display
    return str(Party(party).label) if party in Party.values else ""


def letter_context(*, event: CaseEvent, recipient: str, firm: FirmProfile, mediator: Mediator | None) -> dict[str, Any]:
    """The values a letter's text may use (`letter_texts.VARIABLES`), for `recipient` of `event`'s letters."""
    from core.templatetags.money import price_eur

    case = event.case
    context: dict[str, Any] = {name: "" for name in letter_texts.VARIABLES}
    event_day = timezone.localdate(event.at)
    opened_on = _local(case.opened_at)
    contact = business_contact(case) if recipient == Party.BUSINESS else None
    withdrawn_by = event.data.get("party", "") if event.after == Status.WITHDRAWN else ""
    reason = case.inadmissibility_reason
    context.update(
        reference=case.reference or "",
        today=timezone.localdate(),
        recipient_name=(str(contact) if contact else case.business_display)
        if recipient == Party.BUSINESS
        else case.consumer_name,
        consumer_name=case.consumer_name,
        business_name=case.business_display,
        firm_name=firm.legal_name,
        firm_address=", ".join(_firm_address(firm)),
        firm_email=firm.contact_email,
        firm_phone=firm.contact_phone,
        firm_website=firm.website,
        mediator_name=str(mediator) if mediator else firm.legal_name,
        space_url=f"{firm_site_url()}/suivi/",
        dispute_subject=case.get_subject_display() if case.subject else "",
        amount=price_eur(case.amount_cents) if case.amount_cents is not None else "",
        received_on=_local(case.received_at),
        admissibility_due_on=case.admissibility_due_on,
        missing_documents=event.note if event.after == Status.INCOMPLETE else "",
        reason_code=reason,
        reason_label=InadmissibilityReason(reason).label if reason in InadmissibilityReason.values else "",
        reason_explanation=letter_texts.REASON_EXPLANATIONS.get(reason, ""),
        decision_note=event.note if event.after == Status.INADMISSIBLE else "",
        reoriented_to=case.reoriented_to,
        reorientation_note=event.note if event.after == Status.REORIENTED else "",
        opened_on=opened_on,
        outcome_due_on=case.outcome_due_on,
        business_answer_due_on=opened_on + datetime.timedelta(days=letter_texts.BUSINESS_ANSWER_DAYS)
        if opened_on
        else None,
        extended_until=_date(event.data.get("until")) or case.extended_until,
        extension_reason=event.note if event.kind == CaseEvent.Kind.EXTENDED else case.extension_reason,
        proposal_text=case.proposal_text,
        proposal_answer_due_on=_date(event.data.get("answer_due_on")) or case.proposal_answer_due_on,
        closed_on=_local(case.closed_at),
        outcome_label=case.get_outcome_display() if case.outcome else "",
        closure_note=case.closure_note,
        limitation_until=case.limitation_runs_again_until,
        withdrawn_by=_party_name(case, withdrawn_by) if withdrawn_by else "",
        withdrawn_by_you=bool(withdrawn_by) and withdrawn_by == recipient,
        interruption_reason=case.closure_note or event.note,
        execution_check_on=case.execution_check_on,
        execution_answer_due_on=event_day + datetime.timedelta(days=letter_texts.EXECUTION_ANSWER_DAYS),
    )
    return context


def _firm_address(firm: FirmProfile) -> list[str]:
    city = f"{firm.postcode} {firm.city}".strip()
    return [line for line in (firm.address_line1, firm.address_line2, city) if line]


def _recipient_address(case: Case, recipient: str) -> list[str]:
    if recipient == Party.CONSUMER:
        city = f"{case.consumer_postcode} {case.consumer_city}".strip()
        return [line for line in (case.consumer_name, case.consumer_address, city) if line]
    member = case.member
    if member is None:
        return [case.business_display]
    contact = business_contact(case)
    city = f"{member.postcode} {member.city}".strip()
    lines = [str(member), str(contact) if contact else "", member.address_line1, member.address_line2, city]
    return [line for line in lines if line]


def texts_for(kind: str) -> tuple[str, str, bool]:
    """(subject, body, customised): the firm's own text for `kind` when it wrote one, else the default."""
    custom = LetterTemplate.objects.filter(kind=kind).first()
    if custom is not None:
        return custom.subject, custom.body, True
    default = letter_texts.DEFAULTS[kind]
    return str(default.subject), str(default.body), False


def render_texts(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """The subject (one line) and body of `kind`; a firm text that no longer renders falls back to the default."""
    subject_source, body_source, customised = texts_for(kind)
    try:
        subject = letter_texts.render_text(subject_source, context)
        body = letter_texts.render_text(body_source, context)
    except Exception:
        if not customised:
            raise
        logger.exception("letter template %s does not render: default text used", kind)
        default = letter_texts.DEFAULTS[kind]
        subject = letter_texts.render_text(str(default.subject), context)
        body = letter_texts.render_text(str(default.body), context)
    return " ".join(subject.split())[:200], body.strip() + "\n"


def branding(firm: FirmProfile) -> dict[str, Any]:
    """The firm's name, address, colours and logo (inlined) for a PDF."""
    from core.pdf import data_uri
    from firm.branding import text_on

    logo = ""
    if firm.logo:
        try:
            with firm.logo.open("rb") as handle:
                content = handle.read()
        except (FileNotFoundError, OSError):
            content = b""
        if content:
            content_type = mimetypes.guess_type(firm.logo.name or "")[0] or "image/png"
            logo = data_uri(content, content_type)
    colour = firm.primary_color or "#1d4e89"
    return {
        "firm": firm,
        "firm_name": firm.legal_name,
        "firm_address": _firm_address(firm),
        "logo_uri": logo,
        "brand_colour": colour,
        "brand_text": text_on(colour),
    }


def render_letter(*, event: CaseEvent, kind: str, recipient: str) -> RenderedLetter:
    """Renders one letter in the firm's language: texts, PDF HTML (and the request's copy for the acknowledgement)."""
    case = event.case
    firm = firm_profile()
    language = _firm_language()
    with translation.override(language):
        mediator = case_mediator(case)
        context = letter_context(event=event, recipient=recipient, firm=firm, mediator=mediator)
        subject, body = render_texts(kind, context)
        label = str(letter_texts.DEFAULTS[kind].label)
        html = ""
        attachments: list[tuple[str, str]] = []
        page = {
            **branding(firm),
            "language": language,
            "title": subject,
            "subject": subject,
            "body": body,
            "label": label,
            "case": case,
            "reference": case.reference or "",
            "today": timezone.localdate(),
            "mediator_name": context["mediator_name"],
            "recipient_address": _recipient_address(case, recipient),
        }
        if kind not in WITHOUT_PDF:
            html = render_to_string(PDF_TEMPLATE, page)
        if kind == Kind.ACKNOWLEDGEMENT:
            attachments.append((f"demande-{case.reference}.pdf", request_copy_html(case=case, page=page)))
    return RenderedLetter(
        kind=kind,
        recipient=recipient,
        email=recipient_email(case, recipient),
        subject=subject,
        body=body,
        html=html,
        filename=f"{case.reference}-{slugify(label)}.pdf",
        attachments=[(name, html_to_pdf(source)) for name, source in attachments],
    )


def request_copy_html(*, case: Case, page: dict[str, Any]) -> str:
    """The consumer's filing as received: parties, dispute, amounts, list of documents."""
    from core.templatetags.money import price_eur

    documents = case.documents.exclude(kind=CaseDocument.Kind.LETTER).order_by("created_at", "pk")
    context = {
        **page,
        "title": _("Copie de votre demande de médiation — dossier %(reference)s") % {"reference": case.reference},
        "amount": price_eur(case.amount_cents) if case.amount_cents is not None else "",
        "documents": documents,
        "received_on": _local(case.received_at),
    }
    return render_to_string(REQUEST_PDF_TEMPLATE, context)


def _store_pdf(case: Case, rendered: RenderedLetter, pdf: bytes) -> CaseDocument:
    document = CaseDocument(
        case=case,
        kind=CaseDocument.Kind.LETTER,
        original_name=rendered.filename[:200],
        content_type="application/pdf",
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        channel=RECIPIENT_CHANNEL[rendered.recipient],
        party=Party.SYSTEM,
    )
    document.file.save(rendered.filename, ContentFile(pdf), save=False)
    document.save()
    return document


def _record(case: Case, letter: Letter, *, label: str, to_post: bool) -> CaseEvent:
    recipient = str(Party(letter.recipient).label)
    if to_post:
        note = _("%(letter)s au %(recipient)s : pas d'adresse e-mail, à envoyer par courrier.")
    else:
        note = _("%(letter)s envoyé par e-mail au %(recipient)s.")
    return CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.LETTER,
        party=Party.SYSTEM,
        channel=RECIPIENT_CHANNEL[letter.recipient],
        note=note % {"letter": label, "recipient": recipient.lower()},
        data={
            "letter": letter.pk,
            "kind": letter.kind,
            "recipient": letter.recipient,
            "document": letter.document_id,
            "to_post": to_post,
        },
    )


def _send_email(letter: Letter, attachments: list[tuple[str, bytes]]) -> None:
    from_email, reply_to = email_identity()
    message = EmailMessage(letter.subject, letter.body, from_email, [letter.recipient_email], reply_to=reply_to)
    for name, content in attachments:
        message.attach(name, content, "application/pdf")
    message.send()


def send_for_event(event: CaseEvent) -> list[Letter]:
    """Stores, and sends by e-mail, every letter `event` calls for; returns those handled by this call.

    At most once each: the `Letter` row (unique per event, kind and recipient) is
    locked while its e-mail leaves, and a letter already sent, or already stored
    to be posted, is skipped. A recipient without an e-mail still gets its letter
    stored (with its PDF) and a timeline line saying it must be posted.
    """
    handled = []
    for kind, recipient in letters_for_event(event):
        letter = _send_one(event, kind, recipient)
        if letter is not None:
            handled.append(letter)
    return handled


def _firm_language() -> str:
    return firm_profile().default_language or settings.LANGUAGE_CODE


def _send_one(event: CaseEvent, kind: str, recipient: str) -> Letter | None:
    case = event.case
    with transaction.atomic():
        letter = Letter.objects.select_for_update().filter(event=event, kind=kind, recipient=recipient).first()
        if letter is not None and (letter.sent_at is not None or not letter.recipient_email):
            return None  # sent, or stored to be posted, by an earlier run
        rendered = render_letter(event=event, kind=kind, recipient=recipient)
        if letter is not None and letter.document is not None:
            # An earlier run stored the letter but its e-mail did not leave: send what was stored.
            with letter.document.file.open("rb") as handle:
                pdf = handle.read()
        else:
            pdf = html_to_pdf(rendered.html) if rendered.html else b""
        if letter is None:
            letter, created = Letter.objects.get_or_create(
                event=event,
                kind=kind,
                recipient=recipient,
                defaults={
                    "case": case,
                    "recipient_email": rendered.email,
                    "subject": rendered.subject,
                    "body": rendered.body,
                },
            )
            if not created:  # a concurrent run got there first
                return None
            if pdf:
                letter.document = _store_pdf(case, rendered, pdf)
                letter.save(update_fields=["document"])
            with translation.override(_firm_language()):
                label = str(letter_texts.DEFAULTS[kind].label)
                _record(case, letter, label=label, to_post=not letter.recipient_email)
        if not letter.recipient_email:
            return letter
        attachments = [(rendered.filename, pdf)] if pdf else []
        attachments += rendered.attachments
        _send_email(letter, attachments)
        letter.sent_at = timezone.now()
        letter.save(update_fields=["sent_at"])
    return letter


# --- The firm's own texts ---------------------------------------------------------------------


def letter_kinds() -> list[str]:
    return list(letter_texts.DEFAULTS)


@transaction.atomic
def save_template(*, kind: str, subject: str, body: str, by: Any) -> LetterTemplate:
    """Stores the firm's text for `kind` (already checked by the form); the change is audited."""
    from accounts.permissions import Perm, ensure_perm
    from core import audit

    ensure_perm(by, Perm.FIRM_SETTINGS)
    if kind not in letter_texts.DEFAULTS:
        raise ValueError(f"unknown letter kind {kind!r}")
    template = LetterTemplate.objects.select_for_update().filter(kind=kind).first()
    before = {"subject": template.subject, "body": template.body} if template else {}
    if template is None:
        template = LetterTemplate(kind=kind)
    template.subject, template.body, template.updated_by = subject, body, by
    template.save()
    audit.record(
        actor=by,
        action="letter_template.update",
        obj=template,
        changes=audit.diff(before, {"subject": subject, "body": body}),
    )
    return template


@transaction.atomic
def reset_template(*, kind: str, by: Any) -> bool:
    """Goes back to the default text for `kind`; False when the firm had none of its own."""
    from accounts.permissions import Perm, ensure_perm
    from core import audit

    ensure_perm(by, Perm.FIRM_SETTINGS)
    template = LetterTemplate.objects.select_for_update().filter(kind=kind).first()
    if template is None:
        return False
    audit.record(
        actor=by,
        action="letter_template.reset",
        obj=template,
        changes=audit.diff({"subject": template.subject, "body": template.body}, {}),
    )
    template.delete()
    return True

"""News to member businesses by segment (issue 5, "Keeping members informed"; seed 004).

Staff write a piece of news once and send it to a segment of the covered
members. Sending creates one `NewsDelivery` per recipient address in one go,
then `news_tasks.send_news_batch` sends them in batches as the firm, each
delivery at most once (`sent_at` null rows only, locked with SKIP LOCKED so
that two workers never take the same row). Every e-mail carries a signed
unsubscribe link for news only: letters about the membership and the cases are
legal notices and keep going out (`mediation.members.membership`, cases).
"""

from __future__ import annotations

import contextlib
import datetime
import smtplib
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower, Trim
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from mediation.members.coverage import covered_members
from mediation.members.models import Contact, Group, Member, Membership, News, NewsDelivery

Segment = News.Segment
Status = News.Status

LAPSING_DAYS = 60
BATCH_SIZE = 100
# When every pending delivery is locked by another worker, look again a little later instead of spinning.
BUSY_RETRY_SECONDS = 5
NEWS_FIELDS = ("subject", "body", "segment", "segment_value")
# The salt names the firm's schema: a link is only valid on the host of the firm that sent it.
UNSUBSCRIBE_SALT = "mediation.members.news.unsubscribe"
# A refusal that concerns one address only; any other OSError means the mail server is gone.
RECIPIENT_ERRORS: tuple[type[Exception], ...] = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError,
    ValueError,
    UnicodeError,
)


class NewsError(Exception):
    """A request the news cannot follow (sending twice, editing a sent news, a bad segment)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- Segments and recipients -------------------------------------------------------------------


def segment_choices(segment: str) -> list[tuple[str, str]]:
    """The values a staff member may pick for `segment` (empty for all / lapsing)."""
    if segment == Segment.GROUP:
        return [(str(pk), name) for pk, name in Group.objects.order_by("name").values_list("pk", "name")]
    if segment == Segment.SECTOR:
        return [(value, str(label)) for value, label in Member.Sector.choices]
    if segment == Segment.HEADCOUNT:
        return [(value, str(label)) for value, label in Member.HeadcountBand.choices]
    return []


def check_segment(*, segment: str, value: str) -> str:
    """The normalised value of `segment`, or NewsError when the pair does not name a segment."""
    if segment not in Segment.values:
        raise NewsError(_("Choisissez les destinataires."), "unknown_segment")
    value = (value or "").strip()
    if segment in (Segment.ALL, Segment.LAPSING):
        return ""
    if segment == Segment.GROUP:
        if not value.isdigit() or not Group.objects.filter(pk=int(value)).exists():
            raise NewsError(_("Choisissez un groupement ou une fédération."), "unknown_group")
        return value
    if value not in dict(segment_choices(segment)):
        if segment == Segment.SECTOR:
            raise NewsError(_("Choisissez un secteur."), "unknown_sector")
        raise NewsError(_("Choisissez une tranche d'effectif."), "unknown_headcount")
    return value


def segment_members(*, segment: str, value: str, today: datetime.date | None = None) -> QuerySet[Member]:
    """The covered members `segment` names on `today`; none when the value names nothing."""
    today = today or timezone.localdate()
    members = covered_members(today=today)
    if segment == Segment.ALL:
        return members
    if segment == Segment.GROUP:
        return members.filter(group_id=int(value)) if value.isdigit() else members.none()
    if segment == Segment.SECTOR:
        return members.filter(sector=value) if value in Member.Sector.values else members.none()
    if segment == Segment.HEADCOUNT:
        return members.filter(headcount_band=value) if value in Member.HeadcountBand.values else members.none()
    if segment == Segment.LAPSING:
        # Covered today, and no paid term carries the coverage past the horizon: a current term that
        # ends later, or a renewal paid in advance (which starts at the latest the day after it).
        horizon = today + datetime.timedelta(days=LAPSING_DAYS)
        beyond = Membership.objects.filter(
            member_id=OuterRef("pk"),
            terminated_at__isnull=True,
            paid_at__isnull=False,
            suspended_at__isnull=True,
            starts_on__lte=horizon + datetime.timedelta(days=1),
            ends_on__gt=horizon,
        )
        return members.exclude(Exists(beyond))
    return members.none()


def _email_key(field: str = "email") -> Any:
    return Lower(Trim(field))


def recipient_contacts(*, segment: str, value: str, today: datetime.date | None = None) -> QuerySet[Contact]:
    """One active contact per e-mail address of the segment's members, minus every address that opted out.

    An address shared by several contacts (the same person for two businesses)
    is written to once, for the first member by name; an opt-out from any of
    them covers the address.
    """
    opted_out = (
        Contact.objects.filter(news_opt_out_at__isnull=False)
        .annotate(key=_email_key())
        .filter(key=Lower(Trim(OuterRef("email"))))
    )
    return (
        Contact.objects.filter(
            member__in=segment_members(segment=segment, value=value, today=today),
            is_active=True,
            news_opt_out_at__isnull=True,
        )
        .exclude(email="")
        .annotate(email_key=_email_key())
        .exclude(Exists(opted_out))
        .order_by("email_key", "member__legal_name", "member_id", "pk")
        .distinct("email_key")
    )


def _recipient_rows(segment: str, value: str, today: datetime.date | None) -> list[tuple[int, int, str]]:
    """(member id, contact id, e-mail) of each recipient, without loading whole contacts."""
    contacts: QuerySet[Any] = recipient_contacts(segment=segment, value=value, today=today)
    # DISTINCT ON needs its expression in the SELECT list.
    return [(m, c, e) for m, c, e, _key in contacts.values_list("member_id", "pk", "email", "email_key")]


@dataclass(frozen=True)
class Preview:
    recipients: int
    members: int


def preview(*, segment: str, value: str, today: datetime.date | None = None) -> Preview:
    """How many addresses and businesses a news to `segment` would reach now."""
    member_ids = [member_id for member_id, _contact_id, _email in _recipient_rows(segment, value, today)]
    return Preview(recipients=len(member_ids), members=len(set(member_ids)))


def segment_label(news: News) -> str:
    """`Un secteur : Tourisme`: the segment and the value it names, for the staff pages."""
    label = str(Segment(news.segment).label) if news.segment in Segment.values else news.segment
    if news.segment in (Segment.ALL, Segment.LAPSING):
        return label
    if news.segment == Segment.GROUP:
        pk = news.segment_value
        value = Group.objects.filter(pk=int(pk)).values_list("name", flat=True).first() if pk.isdigit() else None
    else:
        value = dict(segment_choices(news.segment)).get(news.segment_value)
    return f"{label} : {value or _('(supprimé)')}"


# --- Selectors -----------------------------------------------------------------------------------


def news_list() -> QuerySet[News]:
    """Every news, newest first, with the number of failed deliveries (a subquery: no GROUP BY over the rows)."""
    failed = (
        NewsDelivery.objects.filter(news=OuterRef("pk"))
        .exclude(error="")
        .order_by()
        .values("news")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        News.objects.select_related("created_by")
        .annotate(failed_count=Coalesce(Subquery(failed), 0))
        .order_by("-created_at", "-pk")
    )


def news_for_member(member: Member, *, limit: int = 50) -> QuerySet[NewsDelivery]:
    """The news sent (or being sent) to the member's contacts, newest first."""
    return (
        NewsDelivery.objects.filter(member=member)
        .select_related("news")
        .order_by("-news__created_at", "-news_id", "email")[:limit]
    )


def deliveries(news: News) -> QuerySet[NewsDelivery]:
    return NewsDelivery.objects.filter(news=news).select_related("member").order_by("member__legal_name", "email")


@dataclass(frozen=True)
class Progress:
    status: str
    status_label: str
    total: int
    sent: int
    failed: int

    @property
    def processed(self) -> int:
        return self.sent + self.failed

    @property
    def running(self) -> bool:
        return self.status == Status.SENDING

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "status_label": self.status_label,
            "total": self.total,
            "sent": self.sent,
            "failed": self.failed,
            "processed": self.processed,
            "running": self.running,
        }


def progress(news: News) -> Progress:
    """Where the sending of `news` stands, read afresh."""
    fresh = News.objects.filter(pk=news.pk).only("status", "total_recipients", "sent_count").first() or news
    failed = NewsDelivery.objects.filter(news_id=news.pk).exclude(error="").count()
    return Progress(
        status=fresh.status,
        status_label=str(Status(fresh.status).label),
        total=fresh.total_recipients,
        sent=fresh.sent_count,
        failed=failed,
    )


# --- Drafts --------------------------------------------------------------------------------------


def _lock(news: News) -> News:
    return News.objects.select_for_update().get(pk=news.pk)


def _ensure_draft(news: News) -> None:
    if news.status != Status.DRAFT:
        raise NewsError(_("Cette actualité est déjà envoyée : elle ne peut plus être modifiée."), "not_a_draft")


def _clean_text(*, subject: str, body: str) -> tuple[str, str]:
    subject, body = " ".join((subject or "").split()), (body or "").strip()
    if not subject or not body:
        raise NewsError(_("Donnez un objet et un texte à l'actualité."), "empty")
    return subject[:200], body


@transaction.atomic
def create_news(*, by: User, subject: str, body: str, segment: str, segment_value: str = "") -> News:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    subject, body = _clean_text(subject=subject, body=body)
    value = check_segment(segment=segment, value=segment_value)
    news = News.objects.create(subject=subject, body=body, segment=segment, segment_value=value, created_by=by)
    audit.record(actor=by, action="members.news_created", obj=news, changes=audit.diff({}, _fields(news)))
    return news


@transaction.atomic
def update_news(*, news: News, by: User, subject: str, body: str, segment: str, segment_value: str = "") -> News:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    news = _lock(news)
    _ensure_draft(news)
    before = _fields(news)
    news.subject, news.body = _clean_text(subject=subject, body=body)
    news.segment, news.segment_value = segment, check_segment(segment=segment, value=segment_value)
    changes = audit.diff(before, _fields(news))
    if changes:
        news.save(update_fields=list(NEWS_FIELDS))
        audit.record(actor=by, action="members.news_updated", obj=news, changes=changes)
    return news


@transaction.atomic
def delete_news(*, news: News, by: User) -> None:
    ensure_perm(by, Perm.MEMBERS_EDIT)
    news = _lock(news)
    _ensure_draft(news)
    audit.record(actor=by, action="members.news_deleted", obj=news, changes=audit.diff(_fields(news), {}))
    news.delete()


def _fields(news: News) -> dict[str, Any]:
    return {name: getattr(news, name) for name in NEWS_FIELDS}


# --- Sending -------------------------------------------------------------------------------------


@transaction.atomic
def send_news(*, news: News, by: User) -> int:
    """Freezes the recipients of a draft and queues its sending (after commit); the number of recipients."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    news = _lock(news)
    if news.status != Status.DRAFT:
        raise NewsError(_("Cette actualité est déjà envoyée ou en cours d'envoi."), "already_sent")
    # A group deleted since the draft was saved: refuse rather than send to nobody.
    check_segment(segment=news.segment, value=news.segment_value)
    rows = [
        NewsDelivery(news=news, member_id=member_id, contact_id=contact_id, email=email.strip())
        for member_id, contact_id, email in _recipient_rows(news.segment, news.segment_value, None)
    ]
    if not rows:
        raise NewsError(_("Aucun destinataire ne correspond à ce choix : rien n'a été envoyé."), "no_recipients")
    NewsDelivery.objects.bulk_create(rows, batch_size=1000)
    news.status, news.total_recipients, news.sent_count = Status.SENDING, len(rows), 0
    news.save(update_fields=["status", "total_recipients", "sent_count"])
    audit.record(
        actor=by,
        action="members.news_sent",
        obj=news,
        changes={"status": [Status.DRAFT.value, Status.SENDING.value], "total_recipients": [0, len(rows)]},
    )
    _queue_after_commit(news.pk)
    return len(rows)


def resume_sending(*, news: News, by: User) -> bool:
    """Queues the sending again (after a worker stopped): what left already never leaves twice."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    if not News.objects.filter(pk=news.pk, status=Status.SENDING).exists():
        return False
    audit.record(actor=by, action="members.news_resumed", obj=news, changes={})
    _queue_after_commit(news.pk)
    return True


def _queue_after_commit(news_id: int) -> None:
    language = translation.get_language() or "fr"
    transaction.on_commit(lambda: queue_batch(news_id, language))


def queue_batch(news_id: int, language: str, *, countdown: int = 0) -> None:
    from mediation.members import news_tasks  # the tasks import this module

    if countdown:
        news_tasks.send_news_batch.apply_async((news_id, language), countdown=countdown)
    else:
        news_tasks.send_news_batch.apply_async((news_id, language))


class MailServerUnavailable(Exception):
    """The mail server could not be reached or dropped the connection: the batch stops, to be retried."""


@dataclass(frozen=True)
class BatchResult:
    sent: int
    failed: int
    pending: int  # deliveries still to send (some may be in another worker's batch)
    finished: bool


def send_batch(*, news_id: int, batch_size: int | None = None) -> BatchResult:
    """Sends up to `batch_size` unsent deliveries of `news_id`; marks the news sent when none is left.

    Raises MailServerUnavailable after committing what did leave, when the mail server fails.
    """
    news = News.objects.filter(pk=news_id, status=Status.SENDING).first()
    if news is None:
        return BatchResult(sent=0, failed=0, pending=0, finished=True)
    sent, failed, interrupted = _send_locked_batch(news, batch_size or BATCH_SIZE)
    pending = NewsDelivery.objects.filter(news_id=news_id, sent_at__isnull=True, error="").count()
    if not pending:
        News.objects.filter(pk=news_id, status=Status.SENDING).update(status=Status.SENT, sent_at=timezone.now())
    if interrupted is not None:
        raise MailServerUnavailable(str(interrupted)) from interrupted
    return BatchResult(sent=sent, failed=failed, pending=pending, finished=not pending)


@transaction.atomic
def _send_locked_batch(news: News, batch_size: int) -> tuple[int, int, Exception | None]:
    batch = list(
        NewsDelivery.objects.filter(news_id=news.pk, sent_at__isnull=True, error="")
        .select_related("contact", "member")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("pk")[:batch_size]
    )
    if not batch:
        return 0, 0, None
    from core.links import firm_site_url as site_url
    from firm.selectors import email_identity

    from_email, reply_to = email_identity()
    site = site_url()
    firm_name = str(getattr(getattr(connection, "tenant", None), "name", ""))
    done: list[NewsDelivery] = []
    interrupted: Exception | None = None
    mail = get_connection()
    try:
        mail.open()
    except OSError as exc:
        return 0, 0, exc
    try:
        for delivery in batch:
            reason = _not_to_send(delivery)
            if reason:
                delivery.error = reason
                done.append(delivery)
                continue
            message = news_message(
                news=news, delivery=delivery, site=site, firm_name=firm_name, from_email=from_email, reply_to=reply_to
            )
            message.connection = mail
            try:
                message.send()
            except RECIPIENT_ERRORS as exc:
                delivery.error = (str(exc) or exc.__class__.__name__)[:200]
            except OSError as exc:  # includes the other SMTP errors: the server, not the address
                interrupted = exc
                break
            else:
                delivery.sent_at = timezone.now()
            done.append(delivery)
    finally:
        with contextlib.suppress(OSError):
            mail.close()
    NewsDelivery.objects.bulk_update(done, ["sent_at", "error"])
    sent = sum(1 for delivery in done if delivery.sent_at is not None)
    if sent:
        News.objects.filter(pk=news.pk).update(sent_count=F("sent_count") + sent)
    return sent, len(done) - sent, interrupted


def _not_to_send(delivery: NewsDelivery) -> str:
    """Why a delivery frozen at "Envoyer" must not leave any more (the contact changed since)."""
    contact = delivery.contact
    if contact is None:
        return _("Contact supprimé avant l'envoi.")
    if contact.news_opt_out_at is not None:
        return _("Désabonné des actualités avant l'envoi.")
    if not contact.is_active:
        return _("Contact désactivé avant l'envoi.")
    return ""


def news_message(
    *, news: News, delivery: NewsDelivery, site: str, firm_name: str, from_email: str, reply_to: list[str]
) -> EmailMessage:
    """The e-mail of `news` to one recipient: the text, then who it is for and how to stop the news."""
    assert delivery.contact_id is not None
    url = site + unsubscribe_path(delivery.contact_id)
    body = f"{news.body}\n\n-- \n{footer(member=str(delivery.member), firm_name=firm_name, url=url)}"
    return EmailMessage(
        subject=news.subject,
        body=body,
        from_email=from_email,
        to=[delivery.email],
        reply_to=reply_to,
        headers={
            "List-Unsubscribe": f"<{url}>",
            # RFC 8058: mail clients may unsubscribe in one click by a POST to the link.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


def footer(*, member: str, firm_name: str, url: str) -> str:
    return _(
        "Vous recevez cette actualité en tant que contact de %(member)s, adhérent de %(firm)s.\n"
        "Pour ne plus recevoir les actualités : %(url)s\n"
        "Les courriers liés à votre adhésion et aux dossiers de médiation vous restent adressés."
    ) % {"member": member, "firm": firm_name, "url": url}


# --- Unsubscribing -------------------------------------------------------------------------------


def _salt() -> str:
    return f"{UNSUBSCRIBE_SALT}:{getattr(connection, 'schema_name', '')}"


def unsubscribe_token(contact_id: int) -> str:
    return signing.dumps(contact_id, salt=_salt())


def unsubscribe_path(contact_id: int) -> str:
    return reverse("news-public:unsubscribe", kwargs={"token": unsubscribe_token(contact_id)})


def contact_for_token(token: str) -> Contact | None:
    """The contact a link was made for, on this firm's host only; None when forged, altered or gone."""
    try:
        contact_id = signing.loads(token, salt=_salt())
    except signing.BadSignature:
        return None
    if not isinstance(contact_id, int):
        return None
    return Contact.objects.select_related("member").filter(pk=contact_id).first()


@transaction.atomic
def unsubscribe(*, contact: Contact) -> int:
    """Stops the news for the contact's address (every contact holding it); legal notices go on.

    Idempotent: the first date is kept. Returns the number of contacts newly opted out.
    """
    key = contact.email.strip().lower()
    holders = Contact.objects.filter(pk=contact.pk)
    if key:
        holders = Contact.objects.annotate(key=_email_key()).filter(Q(pk=contact.pk) | Q(key=key))
    pks = list(holders.filter(news_opt_out_at__isnull=True).values_list("pk", flat=True))
    if not pks:
        return 0
    now = timezone.now()
    Contact.objects.filter(pk__in=pks).update(news_opt_out_at=now, updated_at=now)
    for holder in Contact.objects.filter(pk__in=pks).order_by("pk"):
        audit.record(actor=None, action="members.news_opt_out", obj=holder, changes={"news_opt_out_at": [None, now]})
    return len(pks)


def masked_email(email: str) -> str:
    """`m•••@entreprise.fr`: enough for the person to recognise the address, little for anyone else."""
    local, _sep, domain = email.partition("@")
    if not domain:
        return "•••"
    return f"{local[:1]}•••@{domain}"

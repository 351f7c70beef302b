"""The CECMC filing tracker: what the firm owes the CECMC, when, and whether it was done.

Selectors (the lists the pages show), services (every write, audited) and the
daily pass (`sync`, then `send_reminders`; run by `tracker_tasks.daily_obligations`).

`sync(today)` creates, once each (`Obligation.source_key`), the obligations the
firm's records call for:

- ``annual_report:<year>``: last year's activity report (R614-2), due on 30 June,
  when the firm had a mediator listed during that year or already has that
  year's report; marked done when the report is published (reports app).
- ``mediator_term:<pk>:<term_ends_on>``: an active mediator's term, due three
  months before it ends (time to renew the appointment with the CECMC). When the
  term date changes, the obligation for the old date is closed: done when the
  term was extended, "sans objet" otherwise; so is it when the mediator leaves.
- ``coverage:<pk>``, ``mediator:<pk>:added``, ``mediator:<pk>:inactive``: the
  update notices (« Informer la CECMC : … »), due 30 days after the change.

The listing file (R614-3) is filed once, when the mediator applies, then
updated through the notices above: it has no yearly date to derive, so the
staff add it by hand when the CECMC asks for it.

Cut-off for the notices: only records created (or, for a departure, last
changed) after this app reached the firm's schema get one; the date is the one
Django recorded when it applied `compliance.0001_initial` to this schema
(`django_migrations`), so nothing new is stored, the cut-off never moves, and a
firm created later (its schema migrated or cloned before its first record) gets
every notice. A mediator reactivated then deactivated again gets no second
departure notice (the key holds no date): the staff add one by hand.
"""

from __future__ import annotations

import calendar
import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from firm.models import Coverage, Mediator
from mediation.compliance.models import DOCUMENT_MAX_BYTES, Obligation, ObligationDocument
from mediation.compliance.selectors import compliance_staff

Status = Obligation.Status
Kind = Obligation.Kind

# The allowed changes of status (reopening brings a done or cancelled obligation back to the list).
TRANSITIONS: dict[str, set[str]] = {
    Status.TODO: {Status.DONE, Status.CANCELLED},
    Status.DONE: {Status.TODO},
    Status.CANCELLED: {Status.TODO},
}
# Reminders: 30 and 7 days before the due date, on the day, then once overdue (stored as -1).
REMINDER_STEPS = (30, 7, 0)
OVERDUE_STEP = -1
# Who receives the reminders.
NOTICE_DAYS = 30
TERM_NOTICE_MONTHS = 3
REPORT_DUE_MONTH_DAY = (6, 30)
EDITABLE_FIELDS = ("title", "due_on", "notes")
DOCUMENT_EXTENSIONS = tuple(
    ext
    for validator in ObligationDocument._meta.get_field("file").validators
    for ext in (getattr(validator, "allowed_extensions", None) or ())
)


# --- Selectors ------------------------------------------------------------------------------------------------


def obligations(*, status: str = "", kind: str = "") -> QuerySet[Obligation]:
    """The obligations, filtered by status and kind when given (empty: all)."""
    queryset = Obligation.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def to_do(queryset: QuerySet[Obligation]) -> QuerySet[Obligation]:
    """Still to do, the nearest due date first."""
    return queryset.filter(status=Status.TODO).order_by("due_on", "pk")


def closed(queryset: QuerySet[Obligation]) -> QuerySet[Obligation]:
    """Done or cancelled, the most recent due date first."""
    return queryset.exclude(status=Status.TODO).order_by("-due_on", "-pk")


def obligation(*, pk: int) -> Obligation | None:
    return Obligation.objects.select_related("updated_by").filter(pk=pk).first()


def documents_of(item: Obligation) -> QuerySet[ObligationDocument]:
    return item.documents.select_related("uploaded_by").order_by("uploaded_at", "pk")


def days_left(item: Obligation, today: datetime.date) -> int:
    return (item.due_on - today).days


def timing_text(item: Obligation, today: datetime.date) -> str:
    """« En retard de N jours », « Échéance aujourd'hui », « Dans N jours » (empty unless to do)."""
    if item.status != Status.TODO:
        return ""
    left = days_left(item, today)
    if left < 0:
        return ngettext("En retard de %(n)d jour", "En retard de %(n)d jours", -left) % {"n": -left}
    if left == 0:
        return _("Échéance aujourd'hui")
    return ngettext("Dans %(n)d jour", "Dans %(n)d jours", left) % {"n": left}


# --- Manual writes ---------------------------------------------------------------------------------------------


def _check_title_and_date(title: str, due_on: datetime.date | None) -> None:
    errors: dict[str, ValidationError] = {}
    if not title.strip():
        errors["title"] = ValidationError(_("Indiquez l'intitulé de l'obligation."), code="required")
    if due_on is None:
        errors["due_on"] = ValidationError(_("Indiquez l'échéance."), code="required")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_obligation(*, by: User, kind: str, title: str, due_on: datetime.date, notes: str = "") -> Obligation:
    """An obligation added by hand (no `source_key`)."""
    ensure_perm(by, Perm.REPORTS_EDIT)
    if kind not in Kind.values:
        raise ValidationError({"kind": ValidationError(_("Type d'obligation inconnu."), code="invalid_kind")})
    _check_title_and_date(title, due_on)
    item = Obligation.objects.create(kind=kind, title=title.strip(), due_on=due_on, notes=notes, updated_by=by)
    audit.record(
        actor=by,
        action="compliance.obligation_created",
        obj=item,
        changes={name: [None, value] for name, value in audit.snapshot(item, ("kind", *EDITABLE_FIELDS)).items()},
    )
    return item


def _locked(item: Obligation) -> Obligation:
    return Obligation.objects.select_for_update().get(pk=item.pk)


@transaction.atomic
def update_obligation(*, by: User, obligation: Obligation, title: str, due_on: datetime.date, notes: str) -> Obligation:
    """Changes the title, due date and notes; a new due date starts the reminders again."""
    ensure_perm(by, Perm.REPORTS_EDIT)
    _check_title_and_date(title, due_on)
    item = _locked(obligation)
    before = audit.snapshot(item, EDITABLE_FIELDS)
    fields = ["title", "due_on", "notes", "updated_by", "updated_at"]
    if item.due_on != due_on:
        item.reminded_at, item.reminded_days = None, None
        fields += ["reminded_at", "reminded_days"]
    item.title, item.due_on, item.notes, item.updated_by = title.strip(), due_on, notes, by
    changes = audit.diff(before, audit.snapshot(item, EDITABLE_FIELDS))
    if changes:
        item.save(update_fields=fields)
        audit.record(actor=by, action="compliance.obligation_updated", obj=item, changes=changes)
    return item


def _transition(
    item: Obligation, to: str, *, by: User | None, done_on: datetime.date | None = None, note: str = ""
) -> Obligation:
    """Changes the status of a locked obligation (inside the caller's transaction) and audits it."""
    if to not in TRANSITIONS[item.status]:
        raise ValidationError(_("Cette obligation ne peut pas passer à cet état."), code="transition_not_allowed")
    before = audit.snapshot(item, ("status", "done_on", "notes"))
    item.status = to
    item.done_on = done_on if to == Status.DONE else None
    if note:
        item.notes = f"{item.notes}\n{note}".strip()
    item.updated_by = by
    item.save(update_fields=["status", "done_on", "notes", "updated_by", "updated_at"])
    changes = audit.diff(before, audit.snapshot(item, ("status", "done_on", "notes")))
    audit.record(actor=by, action=f"compliance.obligation_{to}", obj=item, changes=changes)
    return item


@transaction.atomic
def mark_done(*, by: User, obligation: Obligation, done_on: datetime.date) -> Obligation:
    ensure_perm(by, Perm.REPORTS_EDIT)
    if done_on > timezone.localdate():
        raise ValidationError({"done_on": ValidationError(_("La date ne peut pas être future."), code="future")})
    return _transition(_locked(obligation), Status.DONE, by=by, done_on=done_on)


@transaction.atomic
def cancel(*, by: User, obligation: Obligation) -> Obligation:
    ensure_perm(by, Perm.REPORTS_EDIT)
    return _transition(_locked(obligation), Status.CANCELLED, by=by)


@transaction.atomic
def reopen(*, by: User, obligation: Obligation) -> Obligation:
    ensure_perm(by, Perm.REPORTS_EDIT)
    return _transition(_locked(obligation), Status.TODO, by=by)


def check_document(upload: UploadedFile) -> None:
    """Size and extension of a document (the form shows these errors next to the field)."""
    name = upload.name or ""
    if (upload.size or 0) > DOCUMENT_MAX_BYTES:
        raise ValidationError(
            _("Le document ne doit pas dépasser %(max)s Mo."),
            code="too_large",
            params={"max": DOCUMENT_MAX_BYTES // 2**20},
        )
    if PurePath(name).suffix.lower().lstrip(".") not in DOCUMENT_EXTENSIONS:
        raise ValidationError(
            _("Formats acceptés : %(extensions)s."),
            code="invalid_extension",
            params={"extensions": ", ".join(DOCUMENT_EXTENSIONS)},
        )


@transaction.atomic
def add_document(*, by: User, obligation: Obligation, upload: UploadedFile) -> ObligationDocument:
    """Keeps a document with the obligation, under a generated name; its own name is kept for display."""
    ensure_perm(by, Perm.REPORTS_EDIT)
    check_document(upload)
    item = _locked(obligation)
    original = PurePath((upload.name or "").replace("\\", "/")).name[:200]
    extension = PurePath(original).suffix.lower()
    document = ObligationDocument(obligation=item, original_name=original, size=upload.size or 0, uploaded_by=by)
    document.file.save(f"{uuid.uuid4().hex}{extension}", upload, save=False)
    document.save()
    audit.record(
        actor=by,
        action="compliance.document_added",
        obj=item,
        changes={"document": [None, original], "file": [None, document.file.name]},
    )
    return document


# --- The daily pass: obligations derived from the records --------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    source_key: str
    kind: str
    title: str
    due_on: datetime.date


def app_arrived_at() -> datetime.datetime | None:
    """When this schema received the app (its first migration), the cut-off of the update notices."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return None
    applied: datetime.datetime | None = (
        recorder.migration_qs.filter(app="compliance", name="0001_initial").values_list("applied", flat=True).first()
    )
    return applied


def _date(value: datetime.datetime) -> datetime.date:
    return timezone.localdate(value)


def _human_date(value: datetime.date) -> str:
    return format_date(value, "j F Y")


def _report_wanted(today: datetime.date) -> Wanted | None:
    from mediation.reports.models import AnnualReport

    year = today.year - 1
    was_listed = Mediator.objects.filter(listed_on__lte=datetime.date(year, 12, 31)).exists()
    if not was_listed and not AnnualReport.objects.filter(year=year).exists():
        return None  # no mediator listed that year: no activity to report
    return Wanted(
        source_key=f"annual_report:{year}",
        kind=Kind.ANNUAL_REPORT,
        title=_("Publier le rapport d'activité %(year)s") % {"year": year},
        due_on=datetime.date(year + 1, *REPORT_DUE_MONTH_DAY),
    )


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` months earlier (the month's last day when it is shorter: 31 May - 3 months = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _term_key(mediator: Mediator) -> str:
    return f"mediator_term:{mediator.pk}:{mediator.term_ends_on.isoformat()}"


def _terms_wanted(active: list[Mediator]) -> list[Wanted]:
    return [
        Wanted(
            source_key=_term_key(mediator),
            kind=Kind.MEDIATOR_TERM,
            title=_("Renouveler le mandat de %(name)s (fin le %(date)s)")
            % {"name": mediator, "date": _human_date(mediator.term_ends_on)},
            due_on=months_before(mediator.term_ends_on, TERM_NOTICE_MONTHS),
        )
        for mediator in active
    ]


def _notice(key: str, subject: str, changed: datetime.datetime) -> Wanted:
    return Wanted(
        source_key=key,
        kind=Kind.UPDATE_NOTICE,
        title=_("Informer la CECMC : %(subject)s") % {"subject": subject},
        due_on=_date(changed) + datetime.timedelta(days=NOTICE_DAYS),
    )


def _notices_wanted(cutoff: datetime.datetime | None) -> list[Wanted]:
    if cutoff is None:
        return []  # no record of the app's arrival: better no notice than one for every old record
    wanted = []
    for coverage in Coverage.objects.filter(created_at__gt=cutoff).order_by("pk"):
        if coverage.kind == Coverage.Kind.CONVENTION:
            subject = _("nouvelle convention « %(name)s »") % {"name": coverage.name}
        else:
            subject = _("nouveau secteur « %(name)s »") % {"name": coverage.name}
        wanted.append(_notice(f"coverage:{coverage.pk}", subject, coverage.created_at))
    for mediator in Mediator.objects.filter(created_at__gt=cutoff).order_by("pk"):
        subject = _("nouveau médiateur, %(name)s") % {"name": mediator}
        wanted.append(_notice(f"mediator:{mediator.pk}:added", subject, mediator.created_at))
    for mediator in Mediator.objects.filter(is_active=False, updated_at__gt=cutoff).order_by("pk"):
        subject = _("départ du médiateur %(name)s") % {"name": mediator}
        wanted.append(_notice(f"mediator:{mediator.pk}:inactive", subject, mediator.updated_at))
    return wanted


def _create_once(wanted: Wanted, *, status: str = Status.TODO, done_on: datetime.date | None = None) -> bool:
    """Creates the obligation unless its key exists (a concurrent pass included); True when created."""
    try:
        with transaction.atomic():
            item = Obligation.objects.create(
                source_key=wanted.source_key,
                kind=wanted.kind,
                title=wanted.title[:200],
                due_on=wanted.due_on,
                status=status,
                done_on=done_on,
            )
            audit.record(
                actor=None,
                action="compliance.obligation_created",
                obj=item,
                changes={
                    name: [None, value]
                    for name, value in audit.snapshot(item, ("source_key", "kind", "title", "due_on", "status")).items()
                },
            )
    except IntegrityError:
        return False
    return True


def _close_where(
    queryset: QuerySet[Obligation], decide: Callable[[Obligation], tuple[str, datetime.date | None, str] | None]
) -> int:
    """Closes the obligations still to do that `decide` gives a (status, done_on, note) for; returns how many."""
    count = 0
    for pk in queryset.filter(status=Status.TODO).values_list("pk", flat=True):
        with transaction.atomic():
            item = Obligation.objects.select_for_update().filter(pk=pk, status=Status.TODO).first()
            if item is None:
                continue
            decision = decide(item)
            if decision is None:
                continue
            status, done_on, note = decision
            _transition(item, status, by=None, done_on=done_on, note=note)
            count += 1
    return count


def _report_done(item: Obligation) -> tuple[str, datetime.date | None, str] | None:
    from mediation.reports.models import AnnualReport

    year = int(item.source_key.split(":")[1])
    report = AnnualReport.objects.filter(year=year, status=AnnualReport.Status.PUBLISHED).first()
    if report is None or report.published_at is None:
        return None
    return Status.DONE, _date(report.published_at), _("Rapport publié sur le site du cabinet.")


def _term_closed(
    item: Obligation, mediators: dict[int, Mediator], today: datetime.date
) -> tuple[str, datetime.date | None, str] | None:
    _prefix, pk, ends_on = item.source_key.split(":", 2)
    mediator = mediators.get(int(pk))
    if mediator is None or not mediator.is_active:
        return Status.CANCELLED, None, _("Le médiateur n'est plus en activité.")
    if _term_key(mediator) == item.source_key:
        return None
    note = _("Nouvelle fin de mandat : %(date)s.") % {"date": _human_date(mediator.term_ends_on)}
    if mediator.term_ends_on > datetime.date.fromisoformat(ends_on):
        return Status.DONE, today, note  # the term was extended: the renewal happened
    return Status.CANCELLED, None, note


def sync(today: datetime.date | None = None) -> dict[str, int]:
    """Creates the obligations the records call for and closes those they settle; returns the counts."""
    from firm.selectors import firm_profile
    from mediation.reports.models import AnnualReport

    today = today or timezone.localdate()
    created = completed = 0
    with translation.override(firm_profile().default_language or "fr"):
        active = list(Mediator.objects.filter(is_active=True).order_by("pk"))
        wanted = [*_terms_wanted(active), *_notices_wanted(app_arrived_at())]
        report = _report_wanted(today)
        if report is not None:
            wanted.insert(0, report)
        existing = set(
            Obligation.objects.filter(source_key__in=[w.source_key for w in wanted]).values_list(
                "source_key", flat=True
            )
        )
        for item in wanted:
            if item.source_key in existing:
                continue
            created += _create_once(item)

        reports = Obligation.objects.filter(kind=Kind.ANNUAL_REPORT, source_key__startswith="annual_report:")
        published = AnnualReport.objects.filter(status=AnnualReport.Status.PUBLISHED).values_list("year", flat=True)
        completed += _close_where(
            reports.filter(source_key__in=[f"annual_report:{year}" for year in published]), _report_done
        )
        everyone = {mediator.pk: mediator for mediator in Mediator.objects.all()}
        terms = Obligation.objects.filter(kind=Kind.MEDIATOR_TERM, source_key__startswith="mediator_term:")
        completed += _close_where(
            terms.exclude(source_key__in=[_term_key(m) for m in active]),
            lambda item: _term_closed(item, everyone, today),
        )
    return {"created": created, "closed": completed}


# --- Reminders -------------------------------------------------------------------------------------------------


def reminder_step(item: Obligation, today: datetime.date) -> int | None:
    """The reminder step `item` has reached today (30, 7, 0, or -1 overdue), or None before 30 days."""
    left = days_left(item, today)
    if left < 0:
        return OVERDUE_STEP
    reached = [step for step in REMINDER_STEPS if left <= step]
    return min(reached) if reached else None


def due_for_reminder(today: datetime.date) -> list[tuple[Obligation, int]]:
    """Obligations to do whose current step was not sent yet (each step once; a missed day sends the current one)."""
    horizon = today + datetime.timedelta(days=max(REMINDER_STEPS))
    result = []
    for item in Obligation.objects.filter(status=Status.TODO, due_on__lte=horizon).order_by("due_on", "pk"):
        step = reminder_step(item, today)
        if step is not None and (item.reminded_days is None or step < item.reminded_days):
            result.append((item, step))
    return result


REMINDER_SUBJECT = gettext_lazy("Obligations CECMC à suivre")


def _reminder_body(user: User, items: list[tuple[Obligation, int]], today: datetime.date, site: str) -> str:
    lines = [_("Bonjour %(name)s,") % {"name": user.get_full_name() or user.email}, ""]
    lines.append(_("Ces obligations envers la CECMC arrivent à échéance ou l'ont dépassée :"))
    lines.append("")
    for item, _step in items:
        lines.append(
            _("- %(title)s — échéance le %(due)s (%(when)s)")
            % {"title": item.title, "due": _human_date(item.due_on), "when": timing_text(item, today).lower()}
        )
        lines.append(f"  {site}/staff/conformite/obligations/{item.pk}/")
    lines.append("")
    return "\n".join(lines)


def _send_reminders(users: list[User], items: list[tuple[Obligation, int]], today: datetime.date) -> None:
    from core.links import firm_site_url
    from firm.selectors import email_identity, firm_profile

    from_email, reply_to = email_identity()
    site = firm_site_url()
    with translation.override(firm_profile().default_language or "fr"):
        for user in users:
            body = _reminder_body(user, items, today, site)
            EmailMessage(str(REMINDER_SUBJECT), body, from_email, [user.email], reply_to=reply_to).send()


def send_reminders(today: datetime.date | None = None) -> dict[str, int]:
    """Records the step reached by each obligation due soon, then (after commit) e-mails admins and mediators.

    Nothing is recorded while the firm has nobody to remind, so the current step
    goes out once someone is there.
    """
    today = today or timezone.localdate()
    users = list(compliance_staff())
    if not users:
        return {"reminded": 0, "emails": 0}
    sent: list[tuple[Obligation, int]] = []
    now = timezone.now()
    with transaction.atomic():
        for item, step in due_for_reminder(today):
            locked = Obligation.objects.select_for_update().filter(pk=item.pk, status=Status.TODO).first()
            if locked is None or reminder_step(locked, today) != step:
                continue
            if locked.reminded_days is not None and step >= locked.reminded_days:
                continue  # a concurrent pass sent it
            before = locked.reminded_days
            locked.reminded_at, locked.reminded_days = now, step
            locked.save(update_fields=["reminded_at", "reminded_days"])
            audit.record(
                actor=None,
                action="compliance.obligation_reminded",
                obj=locked,
                changes={"reminded_days": [before, step], "recipients": [None, [u.email for u in users]]},
            )
            sent.append((locked, step))
        if sent:
            transaction.on_commit(lambda: _send_reminders(users, sent, today))
    return {"reminded": len(sent), "emails": len(users) if sent else 0}


def daily(today: datetime.date | None = None) -> dict[str, int]:
    """The daily pass of one firm: sync, then reminders."""
    today = today or timezone.localdate()
    return {**sync(today), **send_reminders(today)}

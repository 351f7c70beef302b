"""Every write on a case: one function per step of the procedure.

Each transition locks the case row, checks the table `TRANSITIONS` and the
legal preconditions, writes one `CaseEvent` in the same transaction,
recomputes the deadlines from the dates of events (`clock.py`), and sends its
letters only after commit (`tasks.send_letters`). A refused step raises a
`CaseError` with a stable code and a message for the person who asked.

Who may act: staff need `cases.handle` (receipt, documents, reorientation,
messages, assignment) or `cases.decide` (inadmissibility, seizure,
extension, proposal, closure: the mediator's decisions). Consumers and
businesses act as a `Party` through their personal space; the view has
already checked that they are that case's party.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm, user_has_perm
from core.tokens import hash_token
from mediation.cases import clock, eligibility, signals
from mediation.cases.errors import (
    ConflictOfInterest,
    InvalidDocument,
    NotAllowedForParty,
    PreconditionFailed,
    TransitionNotAllowed,
)
from mediation.cases.models import (
    BEFORE_SEIZURE,
    IN_PROGRESS,
    Case,
    CaseDocument,
    CaseEvent,
    CaseMessage,
    Channel,
    InadmissibilityReason,
    Outcome,
    Party,
    Status,
)

DRAFT_FIELDS = (
    "member",
    "business_name",
    "consumer_first_name",
    "consumer_last_name",
    "consumer_email",
    "consumer_phone",
    "consumer_address",
    "consumer_postcode",
    "consumer_city",
    "is_consumer",
    "complained_on",
    "other_proceedings",
    "subject",
    "description",
    "amount_cents",
    "desired_outcome",
)
# What a staff member may still correct on a case after receipt (the facts, never the dates of steps).
EDITABLE_FIELDS = tuple(name for name in DRAFT_FIELDS if name not in {"is_consumer", "other_proceedings"})

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_CASE_BYTES = 50 * 1024 * 1024
# Recognised by content, never by the name or the browser's declared type.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
# When an accepted solution's execution is asked about, after the closure.
EXECUTION_CHECK_DAYS = 60


# --- Helpers -----------------------------------------------------------------------


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


def _actor(by: User | None) -> User | None:
    return by if by is not None and by.is_authenticated else None


def _event(
    case: Case,
    kind: str,
    *,
    by: User | None,
    party: str,
    before: str = "",
    after: str = "",
    note: str = "",
    channel: str = Channel.ALL,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        before=before,
        after=after,
        by=_actor(by),
        party=party,
        note=note,
        channel=channel,
        data=data or {},
    )


def _send_letters_after_commit(event: CaseEvent) -> None:
    from mediation.cases import tasks

    event_pk = event.pk
    transaction.on_commit(lambda: tasks.send_letters.delay(event_pk))


def refresh_deadlines(case: Case) -> list[str]:
    """Recomputes the stored deadlines from the dates of the steps; returns the fields it set."""
    admissibility = None
    if case.status in BEFORE_SEIZURE:
        start = case.complete_at or case.received_at
        admissibility = clock.admissibility_due(timezone.localdate(start)) if start else None
    outcome = None
    if case.opened_at:
        outcome = clock.outcome_due(timezone.localdate(case.opened_at), case.extended_until)
    if case.status in BEFORE_SEIZURE:
        next_due = admissibility
    elif case.status in {Status.OPENED, Status.IN_MEDIATION}:
        next_due = outcome
    elif case.status == Status.PROPOSAL_SENT:
        next_due = case.proposal_answer_due_on
    else:
        next_due = None
    case.admissibility_due_on = admissibility if case.status in BEFORE_SEIZURE else case.admissibility_due_on
    case.outcome_due_on = outcome
    case.next_due_on = next_due
    return ["admissibility_due_on", "outcome_due_on", "next_due_on"]


def _transition(
    case: Case,
    to: str,
    *,
    by: User | None,
    party: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    fields: Iterable[str] = (),
    channel: str = Channel.ALL,
) -> CaseEvent:
    """Moves the (locked) case to `to`; the caller set the step's own fields, named in `fields`."""
    if to not in case.allowed_targets:
        raise TransitionNotAllowed(case.status, to)
    before = case.status
    case.status = to
    if to in {Status.CLOSED, Status.WITHDRAWN, Status.INTERRUPTED, Status.INADMISSIBLE, Status.REORIENTED}:
        case.closed_at = timezone.now()
        fields = [*fields, "closed_at"]
    deadline_fields = refresh_deadlines(case)
    case.save(update_fields=["status", *fields, *deadline_fields, "updated_at"])
    event = _event(
        case, CaseEvent.Kind.STATUS, by=by, party=party, before=before, after=to, note=note, data=data, channel=channel
    )
    _send_letters_after_commit(event)
    case_pk = case.pk
    transaction.on_commit(
        lambda: signals.case_status_changed.send(sender=Case, case_id=case_pk, before=before, after=to)
    )
    return event


def _require(condition: bool, message: str, code: str) -> None:
    if not condition:
        raise PreconditionFailed(message, code=code)


def _check_fields(allowed: Iterable[str], values: dict[str, Any]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise TypeError(f"Case has no editable field(s): {', '.join(unknown)}")


def _next_reference(year: int) -> str:
    """The year's next reference, in one statement: the counter row stays locked until the caller commits.

    One round trip instead of a locked read and a write: under a burst of filings
    the row is held for less time, so the filings queue less behind each other.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_casesequence (year, last) VALUES (%s, 1) "
            "ON CONFLICT (year) DO UPDATE SET last = cases_casesequence.last + 1 RETURNING last",
            [year],
        )
        (last,) = cursor.fetchone()
    return f"{year}-{last:05d}"


# --- Filing --------------------------------------------------------------------------


@transaction.atomic
def create_draft(**fields: Any) -> tuple[Case, str]:
    """A consumer's draft; returns it with the secret that resumes it (only its hash is stored)."""
    _check_fields(DRAFT_FIELDS, fields)
    token = secrets.token_urlsafe(24)
    case = Case.objects.create(status=Status.DRAFT, resume_token_hash=hash_token(token), **fields)
    _event(case, CaseEvent.Kind.CREATED, by=None, party=Party.CONSUMER, channel=Channel.INTERNAL)
    return case, token


def draft_by_token(token: str) -> Case | None:
    """The draft a resume link points to, or None (unknown, or already submitted)."""
    if not token:
        return None
    return Case.objects.filter(status=Status.DRAFT, resume_token_hash=hash_token(token)).first()


@transaction.atomic
def update_draft(*, case: Case, **fields: Any) -> Case:
    _check_fields(DRAFT_FIELDS, fields)
    case = _lock(case)
    if case.status != Status.DRAFT:
        raise PreconditionFailed(
            _("Cette demande a déjà été envoyée : elle ne peut plus être modifiée ici."), code="not_a_draft"
        )
    for name, value in fields.items():
        setattr(case, name, value)
    case.save(update_fields=[*fields, "updated_at"])
    return case


def _missing_for_submission(case: Case) -> list[str]:
    missing = []
    if not case.member_id and not case.business_name:
        missing.append(str(_("le professionnel concerné")))
    if not case.consumer_last_name:
        missing.append(str(_("votre nom")))
    if not case.consumer_email and not (case.consumer_address and case.consumer_city):
        missing.append(str(_("une adresse e-mail ou postale pour vous répondre")))
    if not case.subject:
        missing.append(str(_("l'objet du litige")))
    if not case.description.strip():
        missing.append(str(_("la description du litige")))
    if not case.documents.filter(kind=CaseDocument.Kind.COMPLAINT).exists():
        missing.append(str(_("la copie de votre réclamation écrite au professionnel")))
    return missing


@transaction.atomic
def submit(
    *,
    case: Case,
    consent: bool,
    by: User | None = None,
    received_at: datetime.datetime | None = None,
    ip_address: str = "",
) -> Case:
    """Draft → received: a reference, the admissibility clock, the acknowledgement letter.

    An online filing must pass the eligibility check (L612-2); a postal one
    entered by staff is recorded even when ineligible, so that its
    inadmissibility can be decided and notified.
    """
    case = _lock(case)
    if case.status != Status.DRAFT:
        raise TransitionNotAllowed(case.status, Status.RECEIVED)
    postal = by is not None
    if postal:
        ensure_perm(by, Perm.CASES_HANDLE)
    _require(
        consent or postal, _("Vous devez accepter le traitement de votre demande pour l'envoyer."), "consent_required"
    )
    now = timezone.now()
    received_at = received_at or case.received_at or now
    _require(received_at <= now, _("La date de réception ne peut pas être dans le futur."), "received_in_future")
    if not postal:
        problems = eligibility.check(
            is_consumer=case.is_consumer,
            complained_on=case.complained_on,
            other_proceedings=case.other_proceedings,
            today=timezone.localdate(received_at),
        )
        _require(not problems, " ".join(problem.message for problem in problems), "not_eligible")
    missing = _missing_for_submission(case)
    _require(not missing, _("Il manque : %(missing)s.") % {"missing": ", ".join(missing)}, "incomplete_filing")
    case.reference = _next_reference(timezone.localdate(received_at).year)
    case.source = Case.Source.POSTAL if postal else Case.Source.ONLINE
    case.received_at = received_at
    case.consent_at = now if consent else None
    case.resume_token_hash = ""
    case_pk = case.pk
    transaction.on_commit(lambda: signals.case_created.send(sender=Case, case_id=case_pk))
    _transition(
        case,
        Status.RECEIVED,
        by=by,
        party=Party.STAFF if postal else Party.CONSUMER,
        data={"ip": ip_address} if ip_address else None,
        fields=["reference", "source", "received_at", "consent_at", "resume_token_hash"],
    )
    return case


@transaction.atomic
def create_postal_case(*, by: User, received_at: datetime.datetime | None = None, **fields: Any) -> Case:
    """A request received by post, entered by staff as a draft (documents are added, then `submit`)."""
    ensure_perm(by, Perm.CASES_HANDLE)
    _check_fields(DRAFT_FIELDS, fields)
    _require(
        received_at is None or received_at <= timezone.now(),
        _("La date de réception ne peut pas être dans le futur."),
        "received_in_future",
    )
    # Kept on the draft: `submit` dates the receipt (and the admissibility clock) from it.
    case = Case.objects.create(status=Status.DRAFT, source=Case.Source.POSTAL, received_at=received_at, **fields)
    _event(case, CaseEvent.Kind.CREATED, by=by, party=Party.STAFF, channel=Channel.INTERNAL)
    return case


@transaction.atomic
def update_case(*, case: Case, by: User, **changes: Any) -> Case:
    """Corrects the facts of a received case (a typo in a name, the amount); every change is in the timeline."""
    ensure_perm(by, Perm.CASES_HANDLE)
    _check_fields(EDITABLE_FIELDS, changes)
    case = _lock(case)
    _require(not case.is_final, _("Un dossier terminé ne se modifie plus."), "case_final")
    before = {name: str(getattr(case, name) or "") for name in changes}
    for name, value in changes.items():
        setattr(case, name, value)
    after = {name: str(getattr(case, name) or "") for name in changes}
    changed = {name: [before[name], after[name]] for name in changes if before[name] != after[name]}
    if changed:
        case.save(update_fields=[*changes, "updated_at"])
        _event(
            case, CaseEvent.Kind.UPDATED, by=by, party=Party.STAFF, channel=Channel.INTERNAL, data={"changes": changed}
        )
    return case


# --- Before the seizure ------------------------------------------------------------


@transaction.atomic
def request_documents(*, case: Case, by: User, what: str) -> Case:
    """Received → incomplete: the consumer is asked for the missing documents (the letter says which)."""
    ensure_perm(by, Perm.CASES_HANDLE)
    _require(bool(what.strip()), _("Précisez les pièces demandées."), "note_required")
    case = _lock(case)
    _transition(case, Status.INCOMPLETE, by=by, party=Party.STAFF, note=what.strip())
    return case


@transaction.atomic
def mark_complete(*, case: Case, by: User) -> Case:
    """Incomplete → received: the file is complete; the 3-week admissibility period runs from today."""
    ensure_perm(by, Perm.CASES_HANDLE)
    case = _lock(case)
    case.complete_at = timezone.now()
    _transition(case, Status.RECEIVED, by=by, party=Party.STAFF, fields=["complete_at"])
    return case


@transaction.atomic
def declare_inadmissible(*, case: Case, by: User, reason: str, note: str = "") -> Case:
    """Received or incomplete → inadmissible, for one reason of L612-2; the consumer is told why.

    The law gives 3 weeks from receipt of the file: a later decision is still
    recorded (the consumer must be told) but marked late, for the report.
    """
    ensure_perm(by, Perm.CASES_DECIDE)
    _require(reason in InadmissibilityReason.values, _("Choisissez un motif d'irrecevabilité."), "reason_required")
    case = _lock(case)
    late = bool(case.admissibility_due_on and timezone.localdate() > case.admissibility_due_on)
    case.inadmissibility_reason = reason
    _transition(
        case,
        Status.INADMISSIBLE,
        by=by,
        party=Party.STAFF,
        note=note,
        data={"reason": reason, "late": late},
        fields=["inadmissibility_reason"],
    )
    return case


@transaction.atomic
def reorient(*, case: Case, by: User, to: str, note: str = "") -> Case:
    """Received or incomplete → reoriented: not this mediator's scope; the consumer is told where to go."""
    ensure_perm(by, Perm.CASES_HANDLE)
    _require(
        bool(to.strip()),
        _("Indiquez vers quel médiateur ou quelle instance le dossier est réorienté."),
        "target_required",
    )
    case = _lock(case)
    case.reoriented_to = to.strip()[:200]
    _transition(case, Status.REORIENTED, by=by, party=Party.STAFF, note=note, fields=["reoriented_to"])
    return case


@transaction.atomic
def open_case(*, case: Case, by: User, note: str = "") -> Case:
    """Received → opened: the notice of seizure to both parties (R612-2); the 90-day clock starts (R612-5).

    From this notice the limitation period is suspended (Civil Code 2238).
    The business is asked whether it agrees to take part.
    """
    ensure_perm(by, Perm.CASES_DECIDE)
    case = _lock(case)
    if Status.OPENED not in case.allowed_targets:
        raise TransitionNotAllowed(case.status, Status.OPENED)
    _require(
        case.member_id is not None,
        _("Le professionnel doit être un adhérent du cabinet pour notifier la saisine."),
        "member_required",
    )
    _require(
        bool(case.consumer_email or case.consumer_address),
        _("Il faut une adresse du consommateur pour lui notifier la saisine."),
        "consumer_address_required",
    )
    if case.assignee_id:
        _check_no_conflict(case.assignee, case)
    case.opened_at = timezone.now()
    _transition(case, Status.OPENED, by=by, party=Party.STAFF, note=note, fields=["opened_at"])
    return case


# --- During the mediation -----------------------------------------------------------


@transaction.atomic
def record_business_answer(*, case: Case, accepts: bool, by: User | None = None, note: str = "") -> Case:
    """The business agrees to take part (→ in mediation) or refuses (→ closed, business refused).

    Its correspondent answers from its space (`by` None), or staff record an
    answer received by post or phone. Acceptance is the event billing uses
    for the per-case fee (`signals.business_accepted`).
    """
    if by is not None:
        ensure_perm(by, Perm.CASES_HANDLE)
    party = Party.STAFF if by is not None else Party.BUSINESS
    case = _lock(case)
    if case.status != Status.OPENED:
        target = Status.IN_MEDIATION if accepts else Status.CLOSED
        raise TransitionNotAllowed(case.status, target)
    if accepts:
        case.business_accepted_at = timezone.now()
        event = _transition(
            case,
            Status.IN_MEDIATION,
            by=by,
            party=party,
            note=note,
            fields=["business_accepted_at"],
            data={"accepts": True},
        )
        case_pk, event_pk = case.pk, event.pk
        transaction.on_commit(lambda: signals.business_accepted.send(sender=Case, case_id=case_pk, event_id=event_pk))
    else:
        case.outcome = Outcome.BUSINESS_REFUSED
        case.closed_by_party = Party.BUSINESS
        case.closure_note = note
        _transition(
            case,
            Status.CLOSED,
            by=by,
            party=party,
            note=note,
            fields=["outcome", "closed_by_party", "closure_note"],
            data={"accepts": False},
        )
    return case


@transaction.atomic
def extend(*, case: Case, by: User, until: datetime.date, reason: str) -> Case:
    """R612-5: a complex dispute's deadline is extended, with a reason notified to both parties."""
    ensure_perm(by, Perm.CASES_DECIDE)
    _require(bool(reason.strip()), _("La prolongation doit être motivée (litige complexe)."), "reason_required")
    case = _lock(case)
    _require(
        case.status in {Status.OPENED, Status.IN_MEDIATION},
        _("Seul un dossier en cours de médiation peut être prolongé."),
        "not_in_progress",
    )
    current = case.outcome_due_on
    _require(
        current is None or until > current,
        _("La nouvelle échéance doit être postérieure à l'actuelle (%(due)s).") % {"due": current},
        "not_later",
    )
    case.extended_until = until
    case.extension_reason = reason.strip()
    fields = refresh_deadlines(case)
    case.save(update_fields=["extended_until", "extension_reason", *fields, "updated_at"])
    event = _event(
        case,
        CaseEvent.Kind.EXTENDED,
        by=by,
        party=Party.STAFF,
        note=reason.strip(),
        data={"from": str(current), "until": until.isoformat()},
    )
    _send_letters_after_commit(event)
    return case


@transaction.atomic
def send_proposal(*, case: Case, by: User, text: str, answer_due_on: datetime.date | None = None) -> Case:
    """In mediation → proposal sent (R612-4); the letter states every mandatory mention and the answer deadline."""
    ensure_perm(by, Perm.CASES_DECIDE)
    _require(bool(text.strip()), _("Rédigez la proposition de solution."), "text_required")
    today = timezone.localdate()
    answer_due_on = answer_due_on or today + datetime.timedelta(days=clock.PROPOSAL_ANSWER_DAYS)
    _require(
        answer_due_on > today, _("Le délai de réponse doit laisser au moins un jour aux parties."), "deadline_too_short"
    )
    case = _lock(case)
    case.proposal_text = text.strip()
    case.proposal_answer_due_on = answer_due_on
    case.proposal_sent_at = timezone.now()
    case.consumer_answer = case.business_answer = ""
    _transition(
        case,
        Status.PROPOSAL_SENT,
        by=by,
        party=Party.STAFF,
        data={"answer_due_on": answer_due_on.isoformat()},
        fields=["proposal_text", "proposal_answer_due_on", "proposal_sent_at", "consumer_answer", "business_answer"],
    )
    return case


@transaction.atomic
def resume_mediation(*, case: Case, by: User, note: str) -> Case:
    """Proposal sent → in mediation: the parties asked for a revised proposal; earlier answers are void."""
    ensure_perm(by, Perm.CASES_DECIDE)
    _require(bool(note.strip()), _("Indiquez pourquoi la médiation reprend."), "note_required")
    case = _lock(case)
    case.consumer_answer = case.business_answer = ""
    case.proposal_answer_due_on = None
    _transition(
        case,
        Status.IN_MEDIATION,
        by=by,
        party=Party.STAFF,
        note=note,
        fields=["consumer_answer", "business_answer", "proposal_answer_due_on"],
    )
    return case


@transaction.atomic
def answer_proposal(*, case: Case, party: str, accepts: bool, by: User | None = None, note: str = "") -> Case:
    """A party's answer to the proposal. One refusal closes the case; two acceptances close it as accepted.

    `party` is the consumer or the business; `by` is set when staff record an
    answer received by post.
    """
    if party not in {Party.CONSUMER, Party.BUSINESS}:
        raise NotAllowedForParty(_("Seules les parties répondent à la proposition."))
    if by is not None:
        ensure_perm(by, Perm.CASES_HANDLE)
    case = _lock(case)
    if case.status != Status.PROPOSAL_SENT:
        raise PreconditionFailed(
            _("Il n'y a pas de proposition en attente de réponse sur ce dossier."), code="no_pending_proposal"
        )
    field = "consumer_answer" if party == Party.CONSUMER else "business_answer"
    _require(not getattr(case, field), _("Cette partie a déjà répondu à la proposition."), "already_answered")
    answer = "accepted" if accepts else "refused"
    setattr(case, field, answer)
    case.save(update_fields=[field, "updated_at"])
    _event(case, CaseEvent.Kind.PROPOSAL_ANSWER, by=by, party=party, note=note, data={"party": party, "answer": answer})
    if not accepts:
        case.outcome = Outcome.PROPOSAL_REFUSED
        case.closed_by_party = party
        _transition(case, Status.CLOSED, by=by, party=party, fields=["outcome", "closed_by_party"])
    elif case.consumer_answer == case.business_answer == "accepted":
        case.outcome = Outcome.PROPOSAL_ACCEPTED
        case.closed_by_party = party
        _schedule_execution_check(case)
        _transition(
            case,
            Status.CLOSED,
            by=by,
            party=party,
            fields=["outcome", "closed_by_party", "execution", "execution_check_on"],
        )
    return case


def _schedule_execution_check(case: Case) -> None:
    case.execution = Case.Execution.PENDING
    case.execution_check_on = timezone.localdate() + datetime.timedelta(days=EXECUTION_CHECK_DAYS)


@transaction.atomic
def close(*, case: Case, by: User, outcome: str, note: str = "") -> Case:
    """The mediator records the end: an agreement, a failure, or a proposal left unanswered past its deadline."""
    ensure_perm(by, Perm.CASES_DECIDE)
    allowed = {Outcome.AGREEMENT, Outcome.FAILURE, Outcome.PROPOSAL_REFUSED}
    _require(outcome in allowed, _("Choisissez l'issue du dossier."), "outcome_required")
    case = _lock(case)
    if Status.CLOSED not in case.allowed_targets:
        raise TransitionNotAllowed(case.status, Status.CLOSED)
    if outcome == Outcome.PROPOSAL_REFUSED:
        _require(case.status == Status.PROPOSAL_SENT, _("Aucune proposition n'a été envoyée."), "no_pending_proposal")
        _require(
            case.proposal_answer_due_on is not None and timezone.localdate() > case.proposal_answer_due_on,
            _("Le délai de réponse à la proposition court encore."),
            "answer_period_running",
        )
    else:
        _require(
            case.status == Status.IN_MEDIATION,
            _("Le professionnel n'a pas encore accepté d'entrer en médiation."),
            "not_in_mediation",
        )
    case.outcome = outcome
    case.closed_by_party = Party.STAFF
    case.closure_note = note
    fields = ["outcome", "closed_by_party", "closure_note"]
    if outcome == Outcome.AGREEMENT:
        _schedule_execution_check(case)
        fields += ["execution", "execution_check_on"]
    _transition(case, Status.CLOSED, by=by, party=Party.STAFF, note=note, fields=fields)
    return case


@transaction.atomic
def withdraw(*, case: Case, party: str, by: User | None = None, note: str = "") -> Case:
    """Either party may withdraw at any time (R612-2); before the seizure, only the consumer is a party."""
    if by is not None:
        ensure_perm(by, Perm.CASES_HANDLE)
    case = _lock(case)
    if party == Party.BUSINESS and case.status in BEFORE_SEIZURE:
        raise NotAllowedForParty(
            _("Le professionnel n'est partie au dossier qu'à partir de la notification de saisine.")
        )
    if party not in {Party.CONSUMER, Party.BUSINESS}:
        raise NotAllowedForParty(_("Seule une partie peut se retirer de la médiation."))
    case.closed_by_party = party
    case.closure_note = note
    _transition(
        case,
        Status.WITHDRAWN,
        by=by,
        party=party if by is None else Party.STAFF,
        note=note,
        fields=["closed_by_party", "closure_note"],
        data={"party": party},
    )
    return case


@transaction.atomic
def interrupt(*, case: Case, by: User, note: str) -> Case:
    """The mediator stops the mediation (a court was seized, a party no longer answers…); the reason is kept."""
    ensure_perm(by, Perm.CASES_DECIDE)
    _require(bool(note.strip()), _("Indiquez pourquoi la médiation est interrompue."), "note_required")
    case = _lock(case)
    case.closed_by_party = Party.STAFF
    case.closure_note = note
    _transition(
        case, Status.INTERRUPTED, by=by, party=Party.STAFF, note=note, fields=["closed_by_party", "closure_note"]
    )
    return case


# --- Assignment ------------------------------------------------------------------------


def _check_no_conflict(user: User | None, case: Case) -> None:
    """R613-1: a mediator who declared a link with this business is never assigned its cases."""
    if user is None or case.member is None:
        return
    profile = getattr(user, "mediator_profile", None)
    if profile is not None and case.member.siren in (profile.conflict_sirens or []):
        raise ConflictOfInterest(
            _("%(name)s a déclaré un lien avec %(business)s : ce dossier ne peut pas lui être confié (article R613-1).")
            % {"name": user.get_full_name() or user.email, "business": case.business_display}
        )


@transaction.atomic
def assign(*, case: Case, by: User, assignee: User | None) -> Case:
    ensure_perm(by, Perm.CASES_HANDLE)
    case = _lock(case)
    _require(not case.is_final, _("Un dossier terminé ne se réattribue pas."), "case_final")
    if assignee is not None:
        _require(
            user_has_perm(assignee, Perm.CASES_HANDLE),
            _("Cette personne ne traite pas de dossiers."),
            "not_a_case_handler",
        )
        _check_no_conflict(assignee, case)
    if case.assignee_id == (assignee.pk if assignee else None):
        return case
    before = case.assignee_id
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    _event(
        case,
        CaseEvent.Kind.ASSIGNED,
        by=by,
        party=Party.STAFF,
        channel=Channel.INTERNAL,
        data={"from": before, "to": assignee.pk if assignee else None},
        note=(assignee.get_full_name() or assignee.email) if assignee else "",
    )
    return case


def bulk_assign(*, cases: Iterable[Case], by: User, assignee: User | None) -> tuple[list[Case], list[tuple[Case, str]]]:
    """Assigns each case in its own transaction; returns those done and those refused with the reason."""
    from mediation.cases.errors import CaseError

    done, refused = [], []
    for case in cases:
        try:
            done.append(assign(case=case, by=by, assignee=assignee))
        except CaseError as exc:
            refused.append((case, exc.message))
    return done, refused


# --- Messages and documents ----------------------------------------------------------------


PARTY_CHANNEL: dict[str, str] = {Party.CONSUMER: Channel.CONSUMER, Party.BUSINESS: Channel.BUSINESS}


@transaction.atomic
def post_message(
    *, case: Case, party: str, body: str, channel: str | None = None, by: User | None = None, author_name: str = ""
) -> CaseMessage:
    """A message on a channel. A party writes only on its own channel with the mediator (L612-3)."""
    body = body.strip()
    _require(bool(body), _("Le message est vide."), "empty_message")
    if party == Party.STAFF:
        if by is None:
            raise NotAllowedForParty(_("Un message de l'équipe doit avoir un auteur."))
        ensure_perm(by, Perm.CASES_HANDLE)
        _require(channel in Channel.values, _("Choisissez à qui s'adresse le message."), "channel_required")
    elif party in PARTY_CHANNEL:
        if channel not in (None, PARTY_CHANNEL[party]):
            raise NotAllowedForParty(_("Vous ne pouvez écrire qu'au médiateur."))
        channel = PARTY_CHANNEL[party]
    else:
        raise NotAllowedForParty(_("Auteur inconnu."))
    case = _lock(case)
    _require(case.status != Status.DRAFT, _("La demande n'a pas encore été envoyée."), "draft")
    if party != Party.STAFF or channel != Channel.INTERNAL:
        _require(not case.is_final, _("Ce dossier est terminé : les échanges sont clos."), "case_final")
    if party == Party.BUSINESS:
        _require(
            case.status in IN_PROGRESS,
            _("Le professionnel écrit au médiateur une fois la saisine notifiée."),
            "not_opened",
        )
    assert channel is not None
    if by is not None and not author_name:
        author_name = by.get_full_name() or by.email
    message = CaseMessage.objects.create(
        case=case, channel=channel, party=party, author=_actor(by), author_name=author_name[:200], body=body
    )
    event = _event(
        case,
        CaseEvent.Kind.MESSAGE,
        by=by,
        party=party,
        channel=channel,
        data={"message": message.pk},
    )
    if channel != Channel.INTERNAL:
        _send_letters_after_commit(event)
    return message


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PDF, JPEG or PNG recognised by its first bytes, else None."""
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


@transaction.atomic
def add_document(
    *,
    case: Case,
    file: UploadedFile,
    party: str,
    kind: str = CaseDocument.Kind.EVIDENCE,
    by: User | None = None,
    channel: str | None = None,
) -> CaseDocument:
    """Stores a party's or the staff's file after checking its type on content and its size.

    A party's document is seen by the mediator and that party; staff share it
    with the other party (`share_document`) when the procedure calls for it
    (R612-3: each party may ask for the other's documents).
    """
    if party == Party.STAFF:
        if by is None:
            raise NotAllowedForParty(_("Une pièce de l'équipe doit avoir un auteur."))
        ensure_perm(by, Perm.CASES_HANDLE)
        channel = channel or Channel.INTERNAL
    elif party in PARTY_CHANNEL:
        channel = PARTY_CHANNEL[party]
    else:
        raise NotAllowedForParty(_("Auteur inconnu."))
    _require(kind in CaseDocument.Kind.values, _("Type de pièce inconnu."), "unknown_kind")
    size = file.size or 0
    name = (file.name or "document").rsplit("/", 1)[-1][:200]
    if size == 0:
        raise InvalidDocument(_("Le fichier « %(name)s » est vide.") % {"name": name})
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(
            _("Le fichier « %(name)s » dépasse %(max)s Mo.")
            % {"name": name, "max": MAX_DOCUMENT_BYTES // (1024 * 1024)}
        )
    file.seek(0)
    sniffed = sniff_content_type(file.read(16))
    if sniffed is None:
        raise InvalidDocument(_("Le fichier « %(name)s » n'est ni un PDF, ni une image JPEG ou PNG.") % {"name": name})
    case = _lock(case)
    if party != Party.STAFF:
        _require(not case.is_final, _("Ce dossier est terminé : il n'accepte plus de pièces."), "case_final")
    if party == Party.BUSINESS:
        _require(
            case.status in IN_PROGRESS,
            _("Le professionnel dépose des pièces une fois la saisine notifiée."),
            "not_opened",
        )
    total = sum(case.documents.values_list("size", flat=True))
    if total + size > MAX_CASE_BYTES:
        raise InvalidDocument(
            _("Le dossier ne peut pas dépasser %(max)s Mo de pièces.") % {"max": MAX_CASE_BYTES // (1024 * 1024)}
        )
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    document = CaseDocument(
        case=case,
        kind=kind,
        original_name=name,
        content_type=sniffed[0],
        size=size,
        sha256=digest.hexdigest(),
        channel=channel,
        uploaded_by=_actor(by),
        party=party,
    )
    document.file.save(name, file, save=False)
    document.save()
    if case.status != Status.DRAFT:
        _event(
            case,
            CaseEvent.Kind.DOCUMENT,
            by=by,
            party=party,
            channel=channel,
            data={"document": document.pk},
            note=name,
        )
    return document


@transaction.atomic
def share_document(*, document: CaseDocument, by: User, channel: str) -> CaseDocument:
    """Staff change who sees a document (e.g. the consumer's complaint sent to the business with the seizure)."""
    ensure_perm(by, Perm.CASES_HANDLE)
    _require(channel in Channel.values, _("Choisissez qui peut voir la pièce."), "channel_required")
    document = CaseDocument.objects.select_for_update().get(pk=document.pk)
    if document.channel != channel:
        before = document.channel
        document.channel = channel
        document.save(update_fields=["channel"])
        _event(
            document.case,
            CaseEvent.Kind.DOCUMENT,
            by=by,
            party=Party.STAFF,
            channel=Channel.INTERNAL,
            note=document.original_name,
            data={"document": document.pk, "from": before, "to": channel},
        )
    return document


# --- After the outcome --------------------------------------------------------------------


@transaction.atomic
def record_recommendations(*, case: Case, by: User, text: str) -> Case:
    """The mediator's equity-based recommendations, kept on the case (and in the annual report's themes)."""
    ensure_perm(by, Perm.CASES_DECIDE)
    case = _lock(case)
    case.recommendations = text.strip()
    case.save(update_fields=["recommendations", "updated_at"])
    _event(
        case,
        CaseEvent.Kind.UPDATED,
        by=by,
        party=Party.STAFF,
        channel=Channel.INTERNAL,
        data={"changes": {"recommendations": True}},
    )
    return case


@transaction.atomic
def record_execution(
    *, case: Case, carried_out: bool | None, party: str, by: User | None = None, note: str = ""
) -> Case:
    """Whether the accepted solution was carried out (None: nobody answered by the date); feeds R614-2."""
    if by is not None:
        ensure_perm(by, Perm.CASES_HANDLE)
    case = _lock(case)
    _require(
        case.execution != Case.Execution.NOT_ASKED,
        _("Aucune solution acceptée n'attend de suivi sur ce dossier."),
        "no_execution_followup",
    )
    if carried_out is None:
        value = Case.Execution.NO_ANSWER
    else:
        value = Case.Execution.CARRIED_OUT if carried_out else Case.Execution.NOT_CARRIED_OUT
    case.execution = value
    case.save(update_fields=["execution", "updated_at"])
    _event(case, CaseEvent.Kind.EXECUTION, by=by, party=party, note=note, data={"execution": value})
    return case

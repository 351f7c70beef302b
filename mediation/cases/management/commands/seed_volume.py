"""`manage.py seed_volume --cases 100000 [--members 2000] [--schema demo]`: a firm at realistic volume, fast.

For benchmarks and load tests (the inbox, the lists, the reports). It tops up:
it counts what the firm already holds and creates only what is missing to
reach `--members` members and `--cases` cases (drafts included), so a second
run with the same numbers does nothing and an interrupted run can be resumed.

Each case follows a path through the state machine (`TRANSITIONS`) with
consistent dates: every step happens after the previous one and before now,
and the stored deadlines are computed at each step by
`services.refresh_deadlines` (hence `clock.py`), exactly as the services do.
Each case gets its `created` event and one `status` event per transition (and
its extension, proposal answers and messages with their events). Rows are
written with `bulk_create` in batches, one transaction per batch; references
are taken from `CaseSequence` so that later cases filed through the services
continue the numbering.
"""

from __future__ import annotations

import datetime
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from mediation.cases.models import (
    Case,
    CaseEvent,
    CaseMessage,
    CaseSequence,
    Channel,
    InadmissibilityReason,
    Outcome,
    Party,
    Status,
    Subject,
)
from mediation.cases.services import refresh_deadlines
from mediation.members.models import Member

# The share of each final shape of a case: (last status, path name) → weight.
SHAPES: list[tuple[str, int]] = [
    ("draft", 1),
    ("received", 7),
    ("received_after_documents", 2),
    ("incomplete", 4),
    ("inadmissible", 8),
    ("reoriented", 4),
    ("opened", 6),
    ("in_mediation", 10),
    ("in_mediation_extended", 2),
    ("proposal_sent", 5),
    ("closed_agreement", 14),
    ("closed_failure", 6),
    ("closed_business_refused", 6),
    ("closed_proposal_accepted", 9),
    ("closed_proposal_refused", 4),
    ("withdrawn_before_seizure", 4),
    ("withdrawn_in_mediation", 3),
    ("interrupted", 3),
]
# The steps of each shape after receipt, each with the range of days since the previous step.
PATHS: dict[str, list[tuple[str, tuple[int, int]]]] = {
    "draft": [],
    "received": [],
    "received_after_documents": [("incomplete", (1, 7)), ("complete", (2, 20))],
    "incomplete": [("incomplete", (1, 7))],
    "inadmissible": [("inadmissible", (1, 20))],
    "reoriented": [("reoriented", (1, 15))],
    "opened": [("opened", (2, 20))],
    "in_mediation": [("opened", (2, 20)), ("in_mediation", (2, 15))],
    "in_mediation_extended": [("opened", (2, 20)), ("in_mediation", (2, 15)), ("extend", (30, 80))],
    "proposal_sent": [("opened", (2, 20)), ("in_mediation", (2, 15)), ("proposal_sent", (10, 60))],
    "closed_agreement": [("opened", (2, 20)), ("in_mediation", (2, 15)), ("close_agreement", (10, 70))],
    "closed_failure": [("opened", (2, 20)), ("in_mediation", (2, 15)), ("close_failure", (10, 70))],
    "closed_business_refused": [("opened", (2, 20)), ("business_refuses", (2, 20))],
    "closed_proposal_accepted": [
        ("opened", (2, 20)),
        ("in_mediation", (2, 15)),
        ("proposal_sent", (10, 60)),
        ("proposal_accepted", (3, 25)),
    ],
    "closed_proposal_refused": [
        ("opened", (2, 20)),
        ("in_mediation", (2, 15)),
        ("proposal_sent", (10, 60)),
        ("proposal_refused", (3, 25)),
    ],
    "withdrawn_before_seizure": [("withdraw", (1, 15))],
    "withdrawn_in_mediation": [("opened", (2, 20)), ("in_mediation", (2, 15)), ("withdraw", (5, 60))],
    "interrupted": [("opened", (2, 20)), ("in_mediation", (2, 15)), ("interrupt", (5, 60))],
}
# How long ago the last step happened, in days: a case still open is recent (a few overdue), a finished one old.
LAST_STEP_AGE: dict[str, tuple[int, int]] = {
    "received": (0, 25),
    "received_after_documents": (0, 25),
    "incomplete": (0, 40),
    "opened": (0, 20),
    "in_mediation": (0, 80),
    "in_mediation_extended": (0, 20),
    "proposal_sent": (0, 35),
}
FINISHED_AGE = (0, 700)

FIRST_NAMES = ["Jeanne", "Louis", "Camille", "Nicolas", "Sophie", "Karim", "Léa", "Hugo", "Chloé", "Mamadou", "Inès"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]
CITIES = [("75011", "Paris"), ("69003", "Lyon"), ("13006", "Marseille"), ("59000", "Lille"), ("44000", "Nantes")]
SECTORS = [value for value, _label in Member.Sector.choices]
MEMBER_SIREN_BASE = 40_000_000
HANDLERS = [("mediator", 3), ("case_officer", 5)]


def _siren(n: int) -> str:
    from stdnum import luhn

    base = f"{MEMBER_SIREN_BASE + n:08d}"
    return base + luhn.calc_check_digit(base)


@dataclass
class Planned:
    """One case to insert, with its timeline and messages (their case id is set once the case has a pk)."""

    case: Case
    events: list[CaseEvent] = field(default_factory=list)
    messages: list[CaseMessage] = field(default_factory=list)


class Generator:
    """Builds unsaved cases walking the state machine with `refresh_deadlines` after every step."""

    def __init__(self, *, rng: random.Random, members: list[int], mediators: list[User], officers: list[User]):
        self.rng = rng
        self.members = members
        self.mediators = mediators
        self.officers = officers
        self.now = timezone.now()
        self.shapes = [name for name, _weight in SHAPES]
        self.weights = [weight for _name, weight in SHAPES]

    def _moment(self, days_ago: float) -> datetime.datetime:
        return self.now - datetime.timedelta(days=days_ago)

    def plan(self) -> Planned:
        rng = self.rng
        shape = rng.choices(self.shapes, self.weights)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        postcode, city = rng.choice(CITIES)
        n = rng.randrange(1_000_000)
        non_member = (
            shape in {"received", "inadmissible", "reoriented", "withdrawn_before_seizure"} and rng.random() < 0.1
        )
        case = Case(
            status=Status.DRAFT,
            source=Case.Source.POSTAL if rng.random() < 0.15 else Case.Source.ONLINE,
            member_id=None if non_member else rng.choice(self.members),
            business_name=f"Société {rng.choice(LAST_NAMES)} {n % 997}" if non_member else "",
            consumer_first_name=first,
            consumer_last_name=last,
            consumer_email=f"{first.lower()}.{last.lower()}{n}@example.org",
            consumer_phone=f"06{n:08d}",
            consumer_address=f"{n % 200 + 1} rue de la République",
            consumer_postcode=postcode,
            consumer_city=city,
            is_consumer=True,
            other_proceedings=False,
            subject=rng.choice(Subject.values),
            description="Le professionnel n'a pas donné suite à ma réclamation écrite.",
            amount_cents=rng.randrange(1_000, 500_000),
            desired_outcome="Le remboursement ou l'exécution de la commande.",
        )
        planned = Planned(case)
        if shape == "draft":
            planned.events.append(self._event(case, CaseEvent.Kind.CREATED, self.now, party=Party.CONSUMER))
            case.complained_on = timezone.localdate() - datetime.timedelta(days=rng.randrange(10, 200))
            return planned
        steps = [(name, rng.randint(*gap) + rng.random()) for name, gap in PATHS[shape]]
        age = rng.uniform(*LAST_STEP_AGE.get(shape, FINISHED_AGE))
        received_ago = age + sum(gap for _name, gap in steps)
        received_at = self._moment(received_ago)
        case.complained_on = timezone.localdate(received_at) - datetime.timedelta(days=rng.randrange(10, 300))
        handler = rng.choice(self.mediators)
        if shape not in {"received", "incomplete"} or rng.random() < 0.5:
            case.assignee = rng.choice(self.mediators + self.officers)
        postal = case.source == Case.Source.POSTAL
        filer = Party.STAFF if postal else Party.CONSUMER
        planned.events.append(
            self._event(
                case,
                CaseEvent.Kind.CREATED,
                received_at - datetime.timedelta(minutes=rng.randrange(5, 120)),
                party=filer,
                by=handler if postal else None,
            )
        )
        case.received_at = received_at
        case.consent_at = None if postal else received_at
        self._move(planned, Status.RECEIVED, received_at, party=filer, by=handler if postal else None)
        ago = received_ago
        for name, gap in steps:
            ago -= gap
            self._step(planned, name, self._moment(ago), handler)
        if case.opened_at is not None:
            self._messages(planned)
        return planned

    def _event(self, case: Case, kind: str, at: datetime.datetime, **values: Any) -> CaseEvent:
        values.setdefault("channel", Channel.INTERNAL if kind == CaseEvent.Kind.CREATED else Channel.ALL)
        return CaseEvent(case=case, kind=kind, at=at, **values)

    def _move(
        self,
        planned: Planned,
        to: str,
        at: datetime.datetime,
        *,
        party: str = Party.STAFF,
        by: User | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        """What `services._transition` does, without the database: status, closing date, deadlines, event."""
        case = planned.case
        before = case.status
        case.status = to
        if to in {Status.CLOSED, Status.WITHDRAWN, Status.INTERRUPTED, Status.INADMISSIBLE, Status.REORIENTED}:
            case.closed_at = at
        refresh_deadlines(case)
        planned.events.append(
            self._event(
                case, CaseEvent.Kind.STATUS, at, before=before, after=to, party=party, by=by, note=note, data=data or {}
            )
        )

    def _step(self, planned: Planned, name: str, at: datetime.datetime, handler: User) -> None:
        case, rng = planned.case, self.rng
        if name == "incomplete":
            self._move(planned, Status.INCOMPLETE, at, by=handler, note="Copie de la facture et du bon de commande.")
        elif name == "complete":
            case.complete_at = at
            self._move(planned, Status.RECEIVED, at, by=handler)
        elif name == "inadmissible":
            case.inadmissibility_reason = rng.choice(InadmissibilityReason.values)
            self._move(planned, Status.INADMISSIBLE, at, by=handler, data={"reason": case.inadmissibility_reason})
        elif name == "reoriented":
            case.reoriented_to = "Médiateur de l'énergie"
            self._move(planned, Status.REORIENTED, at, by=handler)
        elif name == "opened":
            case.opened_at = at
            self._move(planned, Status.OPENED, at, by=handler)
        elif name == "in_mediation":
            case.business_accepted_at = at
            self._move(planned, Status.IN_MEDIATION, at, party=Party.BUSINESS, data={"accepts": True})
        elif name == "extend":
            current = case.outcome_due_on
            assert current is not None
            case.extended_until = current + datetime.timedelta(days=rng.randrange(20, 60))
            case.extension_reason = "Litige complexe : expertise technique en cours."
            refresh_deadlines(case)
            planned.events.append(
                self._event(
                    case,
                    CaseEvent.Kind.EXTENDED,
                    at,
                    by=handler,
                    note=case.extension_reason,
                    data={"from": str(current), "until": case.extended_until.isoformat()},
                )
            )
        elif name == "proposal_sent":
            case.proposal_text = "Le professionnel rembourse la moitié du montant sous quinze jours."
            case.proposal_sent_at = at
            case.proposal_answer_due_on = timezone.localdate(at) + datetime.timedelta(days=30)
            self._move(
                planned,
                Status.PROPOSAL_SENT,
                at,
                by=handler,
                data={"answer_due_on": case.proposal_answer_due_on.isoformat()},
            )
        elif name in {"proposal_accepted", "proposal_refused"}:
            accepts = name == "proposal_accepted"
            answer = "accepted" if accepts else "refused"
            parties = [Party.CONSUMER, Party.BUSINESS] if accepts else [rng.choice([Party.CONSUMER, Party.BUSINESS])]
            for party in parties:
                setattr(case, "consumer_answer" if party == Party.CONSUMER else "business_answer", answer)
                planned.events.append(
                    self._event(
                        case, CaseEvent.Kind.PROPOSAL_ANSWER, at, party=party, data={"party": party, "answer": answer}
                    )
                )
            case.outcome = Outcome.PROPOSAL_ACCEPTED if accepts else Outcome.PROPOSAL_REFUSED
            case.closed_by_party = parties[-1]
            if accepts:
                self._execution(case, at)
            self._move(planned, Status.CLOSED, at, party=parties[-1])
        elif name in {"close_agreement", "close_failure"}:
            case.outcome = Outcome.AGREEMENT if name == "close_agreement" else Outcome.FAILURE
            case.closed_by_party = Party.STAFF
            if case.outcome == Outcome.AGREEMENT:
                self._execution(case, at)
            self._move(planned, Status.CLOSED, at, by=handler)
        elif name == "business_refuses":
            case.outcome = Outcome.BUSINESS_REFUSED
            case.closed_by_party = Party.BUSINESS
            self._move(planned, Status.CLOSED, at, party=Party.BUSINESS, data={"accepts": False})
        elif name == "withdraw":
            party = Party.CONSUMER if case.opened_at is None or rng.random() < 0.7 else Party.BUSINESS
            case.closed_by_party = party
            self._move(planned, Status.WITHDRAWN, at, party=party, data={"party": party})
        elif name == "interrupt":
            case.closed_by_party = Party.STAFF
            case.closure_note = "Le consommateur a saisi le tribunal."
            self._move(planned, Status.INTERRUPTED, at, by=handler, note=case.closure_note)
        else:  # pragma: no cover - PATHS and this method are written together
            raise ValueError(name)

    def _execution(self, case: Case, at: datetime.datetime) -> None:
        case.execution_check_on = timezone.localdate(at) + datetime.timedelta(days=60)
        if case.execution_check_on < timezone.localdate():
            case.execution = self.rng.choice([Case.Execution.CARRIED_OUT] * 4 + [Case.Execution.NOT_CARRIED_OUT])
        else:
            case.execution = Case.Execution.PENDING

    def _messages(self, planned: Planned) -> None:
        case = planned.case
        assert case.opened_at is not None
        end = case.closed_at or self.now
        for _n in range(self.rng.randrange(0, 4)):
            at = case.opened_at + (end - case.opened_at) * self.rng.random()
            party = self.rng.choice([Party.STAFF, Party.STAFF, Party.CONSUMER, Party.BUSINESS])
            if party == Party.STAFF:
                channel = self.rng.choice(Channel.values)
                author = case.assignee or self.mediators[0]
                name = author.get_full_name() or author.email
            else:
                channel = Channel.CONSUMER if party == Party.CONSUMER else Channel.BUSINESS
                author, name = None, case.consumer_name if party == Party.CONSUMER else "Service client"
            planned.messages.append(
                CaseMessage(
                    case=case,
                    channel=channel,
                    party=party,
                    author=author,
                    author_name=name,
                    body="Pouvez-vous me transmettre les justificatifs mentionnés dans votre dernier courrier ?",
                    created_at=at,
                )
            )


class Command(BaseCommand):
    help = "Fill a firm with realistic volumes of members and cases (tops up to the numbers given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cases", type=int, default=100_000, help="Total cases wanted in the firm (drafts included)."
        )
        parser.add_argument("--members", type=int, default=2_000, help="Total members wanted in the firm.")
        parser.add_argument("--schema", default="demo", help="The firm's schema (default: demo).")
        parser.add_argument("--batch-size", type=int, default=5_000)
        parser.add_argument("--seed", type=int, default=1, help="Random seed (the same seed gives the same firm).")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_volume writes fake cases: it never runs in production.")
        schema = options["schema"]
        if schema == get_public_schema_name():
            raise CommandError("The public schema holds no cases: give a firm's schema.")
        from tenants.models import Tenant

        with schema_context(get_public_schema_name()):
            if not Tenant.objects.filter(schema_name=schema).exists():
                raise CommandError(f"No firm with the schema {schema!r}.")
        if options["cases"] < 0 or options["members"] < 1 or options["batch_size"] < 1:
            raise CommandError("--cases must be ≥ 0, --members and --batch-size ≥ 1.")
        started = time.monotonic()
        with schema_context(schema):
            self._seed_members(options["members"])
            self._seed_cases(options["cases"], batch_size=options["batch_size"], seed=options["seed"])
        self.stdout.write(f"done in {time.monotonic() - started:.1f} s")

    def _log(self, message: str, started: float) -> None:
        self.stdout.write(f"{message} ({time.monotonic() - started:.1f} s)")
        self.stdout.flush()

    def _seed_members(self, target: int) -> None:
        started = time.monotonic()
        present = Member.objects.count()
        if present >= target:
            self._log(f"members: {present} already, none added", started)
            return
        n = present
        while Member.objects.count() < target:
            count = min(5_000, target - Member.objects.count())
            Member.objects.bulk_create(
                [
                    Member(
                        legal_name=f"Entreprise volume {i:06d} SARL",
                        trade_name=f"Enseigne {i:06d}",
                        siren=_siren(i),
                        postcode=CITIES[i % len(CITIES)][0],
                        city=CITIES[i % len(CITIES)][1],
                        sector=SECTORS[i % len(SECTORS)],
                        status=Member.Status.ACTIVE,
                    )
                    for i in range(n, n + count)
                ],
                ignore_conflicts=True,  # a SIREN already on file (added by hand) is skipped
            )
            n += count
        self._log(f"members: {Member.objects.count()} (was {present})", started)

    def _handlers(self) -> tuple[list[User], list[User]]:
        users: dict[str, list[User]] = defaultdict(list)
        for role, count in HANDLERS:
            for n in range(1, count + 1):
                email = f"volume-{role.replace('_', '-')}-{n}@seed.invalid"
                user = User.objects.filter(email=email).first() or User.objects.create_user(
                    email, None, role=role, first_name=FIRST_NAMES[n % len(FIRST_NAMES)], last_name=f"Volume{n}"
                )
                users[role].append(user)
        return users["mediator"], users["case_officer"]

    def _seed_cases(self, target: int, *, batch_size: int, seed: int) -> None:
        started = time.monotonic()
        present = Case.objects.count()
        missing = target - present
        if missing <= 0:
            self._log(f"cases: {present} already, none added", started)
            return
        mediators, officers = self._handlers()
        members = list(Member.objects.values_list("pk", flat=True))
        rng = random.Random(seed * 1_000_003 + present)  # noqa: S311 - fake data, not secrets
        generator = Generator(rng=rng, members=members, mediators=mediators, officers=officers)
        plans = [generator.plan() for _n in range(missing)]
        # Numbered in the order of receipt within this run; drafts (no receipt) come last.
        far = generator.now + datetime.timedelta(days=1)
        plans.sort(key=lambda planned: planned.case.received_at or far)
        self._log(f"cases: {missing} planned", started)
        done = events = messages = 0
        for start in range(0, missing, batch_size):
            batch = plans[start : start + batch_size]
            with transaction.atomic():
                events_added, messages_added = self._insert(batch)
            done += len(batch)
            events += events_added
            messages += messages_added
            rate = done / max(time.monotonic() - started, 0.001)
            self._log(
                f"cases: {done}/{missing} inserted, {events} events, {messages} messages, {rate:.0f} cases/s", started
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE cases_case; ANALYZE cases_caseevent; ANALYZE cases_casemessage")
        self._log(f"cases: {Case.objects.count()} in the firm", started)

    def _insert(self, batch: list[Planned]) -> tuple[int, int]:
        self._number(batch)
        cases = Case.objects.bulk_create([planned.case for planned in batch])
        # created_at / updated_at are automatic on insert: set them to the case's own dates.
        Case.objects.filter(pk__in=[case.pk for case in cases]).update(
            created_at=Coalesce(F("received_at"), F("created_at")),
            # GREATEST skips NULLs on PostgreSQL: the date of the case's last step.
            updated_at=Coalesce(
                Greatest(
                    "received_at", "complete_at", "opened_at", "business_accepted_at", "proposal_sent_at", "closed_at"
                ),
                F("updated_at"),
            ),
        )
        messages = []
        for planned in batch:
            for message in planned.messages:
                message.case = planned.case
                messages.append(message)
        CaseMessage.objects.bulk_create(messages)
        events = []
        for planned in batch:
            for event in planned.events:
                event.case = planned.case
                events.append(event)
            for message in planned.messages:
                events.append(
                    CaseEvent(
                        case=planned.case,
                        kind=CaseEvent.Kind.MESSAGE,
                        party=message.party,
                        by=message.author,
                        channel=message.channel,
                        data={"message": message.pk},
                        at=message.created_at,
                    )
                )
        CaseEvent.objects.bulk_create(events, batch_size=10_000)
        return len(events), len(messages)

    def _number(self, batch: list[Planned]) -> None:
        """References `<year>-<number>` from CaseSequence (locked), in the batch's order of receipt."""
        by_year: dict[int, list[Case]] = defaultdict(list)
        for planned in batch:
            if planned.case.received_at is not None:
                by_year[timezone.localdate(planned.case.received_at).year].append(planned.case)
        for year, cases in sorted(by_year.items()):
            sequence, _created = CaseSequence.objects.select_for_update().get_or_create(year=year)
            for case in cases:
                sequence.last += 1
                case.reference = f"{year}-{sequence.last:05d}"
            sequence.save(update_fields=["last"])

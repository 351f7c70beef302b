"""Daily follow-up of the cases: deadline reminders to the staff, and the execution check after an agreement.

Run once a day per firm (`tasks.daily_reminders`, fanned out from beat). Both
are idempotent within a day: a reminder leaves a `CaseEvent` REMINDER line per
case and day, and a case's execution check is asked once (a REMINDER line with
`data.kind == "execution_check"`, whose letters go to both parties).
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from mediation.cases import clock, services
from mediation.cases.errors import CaseError
from mediation.cases.letter_texts import EXECUTION_ANSWER_DAYS, Kind
from mediation.cases.models import OPEN_STATUSES, Case, CaseEvent, Channel, Party

DEADLINE = "deadline"
# Who is alerted about a case nobody handles yet (seed 003: "alerter le médiateur").
ALERTED_ROLES = (User.Role.MEDIATOR, User.Role.ADMIN)


def due_cases(today: datetime.date) -> QuerySet[Case]:
    """Open cases whose next deadline is past or within `clock.SOON_DAYS`."""
    return (
        Case.objects.filter(
            status__in=OPEN_STATUSES,
            next_due_on__isnull=False,
            next_due_on__lte=today + datetime.timedelta(days=clock.SOON_DAYS),
        )
        .select_related("assignee", "member")
        .order_by("next_due_on", "pk")
    )


def _staff() -> QuerySet[User]:
    return User.objects.filter(is_active=True, is_platform_support=False).exclude(email="")


def _recipients(case: Case, alerted: list[User]) -> list[User]:
    assignee = case.assignee
    if assignee is not None and assignee.is_active and assignee.email and not assignee.is_platform_support:
        return [assignee]
    return alerted


def _line(case: Case, today: datetime.date, site: str) -> str:
    assert case.next_due_on is not None
    left = clock.days_left(case.next_due_on, today)
    if left < 0:
        when = ngettext("dépassée de %(n)d jour", "dépassée de %(n)d jours", -left) % {"n": -left}
    elif left == 0:
        when = _("aujourd'hui")
    else:
        when = ngettext("dans %(n)d jour", "dans %(n)d jours", left) % {"n": left}
    line = _("- %(reference)s — %(consumer)s c. %(business)s — %(status)s — échéance le %(due)s (%(when)s)")
    values = {
        "reference": case.reference,
        "consumer": case.consumer_name,
        "business": case.business_display,
        "status": case.get_status_display(),
        "due": format_date(case.next_due_on, "j F Y"),
        "when": when,
    }
    return f"{line % values}\n  {site}/staff/dossiers/{case.reference}/"


def send_deadline_reminders(*, today: datetime.date | None = None) -> int:
    """One e-mail per staff person listing their cases due soon or overdue; returns the e-mails sent.

    A case is listed to its assignee, or, unassigned, to every mediator and
    admin. A case reminded today (REMINDER line of the day) is not listed again.
    """
    from core.links import firm_site_url as site_url
    from firm.selectors import email_identity, firm_profile

    today = today or timezone.localdate()
    reminded = set(
        CaseEvent.objects.filter(
            kind=CaseEvent.Kind.REMINDER, data__kind=DEADLINE, data__on=today.isoformat()
        ).values_list("case_id", flat=True)
    )
    cases = [case for case in due_cases(today) if case.pk not in reminded]
    if not cases:
        return 0
    alerted = list(_staff().filter(role__in=ALERTED_ROLES).order_by("pk"))
    per_user: dict[int, list[Case]] = defaultdict(list)
    users: dict[int, User] = {}
    for case in cases:
        for user in _recipients(case, alerted):
            per_user[user.pk].append(case)
            users[user.pk] = user
    from_email, reply_to = email_identity()
    site = site_url()
    sent = 0
    with translation.override(firm_profile().default_language or "fr"):
        for pk, user_cases in per_user.items():
            user = users[pk]
            subject = ngettext(
                "Échéances : %(n)d dossier à traiter", "Échéances : %(n)d dossiers à traiter", len(user_cases)
            ) % {"n": len(user_cases)}
            body = "\n".join(
                [
                    _("Bonjour %(name)s,") % {"name": user.get_full_name() or user.email},
                    "",
                    _("Ces dossiers arrivent à échéance dans les %(days)d jours ou l'ont dépassée :")
                    % {"days": clock.SOON_DAYS},
                    "",
                    *(_line(case, today, site) for case in user_cases),
                    "",
                ]
            )
            EmailMessage(subject, body, from_email, [user.email], reply_to=reply_to).send()
            sent += 1
        with transaction.atomic():
            for case in cases:
                CaseEvent.objects.create(
                    case=case,
                    kind=CaseEvent.Kind.REMINDER,
                    party=Party.SYSTEM,
                    channel=Channel.INTERNAL,
                    note=_("Rappel d'échéance envoyé à l'équipe."),
                    data={
                        "kind": DEADLINE,
                        "on": today.isoformat(),
                        "due": case.next_due_on.isoformat() if case.next_due_on else None,
                        "users": [user.pk for user in _recipients(case, alerted)],
                    },
                )
    return sent


def _ask_execution(case: Case) -> CaseEvent | None:
    """Asks both parties, once, whether the accepted solution was carried out (letters after commit)."""
    from mediation.cases import tasks

    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if case.execution != Case.Execution.PENDING:
            return None
        if CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.REMINDER, data__kind=Kind.EXECUTION_CHECK).exists():
            return None
        event = CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.REMINDER,
            party=Party.SYSTEM,
            channel=Channel.INTERNAL,
            note=_("Les parties sont interrogées sur l'exécution de la solution."),
            data={"kind": Kind.EXECUTION_CHECK},
        )
        event_pk = event.pk
        transaction.on_commit(lambda: tasks.send_letters.delay(event_pk))
    return event


def execution_followup(*, today: datetime.date | None = None) -> tuple[int, int]:
    """(parties asked, cases recorded without answer) for the accepted solutions whose check date came.

    The parties are asked once on the check date; when the execution is still
    pending `EXECUTION_ANSWER_DAYS` after both the check date and the question,
    the case is recorded as unanswered (R614-2 counts it).
    """
    today = today or timezone.localdate()
    asked = unanswered = 0
    pending = Case.objects.filter(execution=Case.Execution.PENDING, execution_check_on__lte=today).order_by("pk")
    wait = datetime.timedelta(days=EXECUTION_ANSWER_DAYS)
    for case in pending:
        question = (
            CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.REMINDER, data__kind=Kind.EXECUTION_CHECK)
            .order_by("at")
            .first()
        )
        if question is None:
            asked += _ask_execution(case) is not None
            continue
        assert case.execution_check_on is not None
        if today >= max(case.execution_check_on, timezone.localdate(question.at)) + wait:
            try:
                services.record_execution(
                    case=case,
                    carried_out=None,
                    party=Party.SYSTEM,
                    note=_("Aucune réponse des parties sur l'exécution de la solution."),
                )
            except CaseError:
                continue  # answered meanwhile
            unanswered += 1
    return asked, unanswered

"""Daily deadline reminders to the staff, and the execution follow-up after an accepted solution."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from config.celery import app
from mediation.cases import reminders, services, tasks
from mediation.cases.letters import Kind
from mediation.cases.models import Case, CaseEvent, Channel, Letter, Party
from tests.factories import MediatorFactory, UserFactory, in_mediation_case, received_case

pytestmark = pytest.mark.usefixtures("media_root", "eager_celery")


def at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(7, 0)))


@pytest.fixture
def staff(tenant_a: Any) -> dict[str, User]:
    mediator = UserFactory(role=User.Role.MEDIATOR, email="mediatrice@cabinet.fr")
    MediatorFactory(user=mediator)
    return {
        "mediator": mediator,
        "admin": UserFactory(role=User.Role.ADMIN, email="admin@cabinet.fr"),
        "officer": UserFactory(role=User.Role.CASE_OFFICER, email="charge@cabinet.fr"),
        "other_officer": UserFactory(role=User.Role.CASE_OFFICER, email="autre@cabinet.fr"),
    }


def reminder_mails(mailoutbox: list[Any]) -> list[Any]:
    return [mail for mail in mailoutbox if mail.subject.startswith("Échéances")]


def test_a_case_due_soon_is_reminded_to_its_assignee_once_a_day(staff: dict[str, User], mailoutbox: list[Any]) -> None:
    case = received_case()
    services.assign(case=case, by=staff["officer"], assignee=staff["officer"])
    not_yet = case.admissibility_due_on - datetime.timedelta(days=8)
    with time_machine.travel(at(not_yet), tick=False):
        assert reminders.send_deadline_reminders() == 0

    soon = case.admissibility_due_on - datetime.timedelta(days=3)
    with time_machine.travel(at(soon), tick=False):
        assert reminders.send_deadline_reminders() == 1
        assert reminders.send_deadline_reminders() == 0  # same day: nothing again
    [mail] = reminder_mails(mailoutbox)
    assert mail.to == ["charge@cabinet.fr"]
    assert case.reference in mail.body
    assert "dans 3 jours" in mail.body
    assert f"/staff/dossiers/{case.reference}/" in mail.body
    line = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.REMINDER)
    assert line.channel == Channel.INTERNAL
    assert line.data["users"] == [staff["officer"].pk]

    with time_machine.travel(at(soon + datetime.timedelta(days=5)), tick=False):  # overdue the next days
        assert reminders.send_deadline_reminders() == 1
    assert "dépassée de 2 jours" in reminder_mails(mailoutbox)[-1].body


def test_an_unassigned_case_alerts_every_mediator_and_admin(staff: dict[str, User], mailoutbox: list[Any]) -> None:
    first = received_case()
    second = received_case(consumer_last_name="Petit")
    with time_machine.travel(at(first.admissibility_due_on), tick=False):
        assert reminders.send_deadline_reminders() == 2
    mails = reminder_mails(mailoutbox)
    assert sorted(address for mail in mails for address in mail.to) == ["admin@cabinet.fr", "mediatrice@cabinet.fr"]
    for mail in mails:  # one e-mail listing both cases
        assert first.reference in mail.body and second.reference in mail.body
        assert "aujourd'hui" in mail.body


def test_closed_cases_are_not_reminded(staff: dict[str, User], mailoutbox: list[Any]) -> None:
    case = received_case()
    services.declare_inadmissible(case=case, by=staff["mediator"], reason="too_late")
    with time_machine.travel(at(case.admissibility_due_on), tick=False):
        assert reminders.send_deadline_reminders() == 0


def test_execution_is_asked_once_then_recorded_unanswered(
    staff: dict[str, User], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    case = in_mediation_case(staff["mediator"])
    case = services.close(case=case, by=staff["mediator"], outcome="agreement")
    check_on = case.execution_check_on
    assert case.execution == Case.Execution.PENDING and check_on is not None

    with time_machine.travel(at(check_on - datetime.timedelta(days=1)), tick=False):
        assert reminders.execution_followup() == (0, 0)
    with time_machine.travel(at(check_on), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders.execution_followup() == (1, 0)
        assert reminders.execution_followup() == (0, 0)  # asked once only
    asked = Letter.objects.filter(case=case, kind=Kind.EXECUTION_CHECK)
    assert {letter.recipient for letter in asked} == {Party.CONSUMER, Party.BUSINESS}
    consumer_mail = next(mail for mail in mailoutbox if case.consumer_email in mail.to and "exécutée" in mail.subject)
    assert "/suivi/" in consumer_mail.body

    with time_machine.travel(at(check_on + datetime.timedelta(days=29)), tick=False):
        assert reminders.execution_followup() == (0, 0)
    with time_machine.travel(at(check_on + datetime.timedelta(days=30)), tick=False):
        assert reminders.execution_followup() == (0, 1)
    case.refresh_from_db()
    assert case.execution == Case.Execution.NO_ANSWER
    assert CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.EXECUTION).party == Party.SYSTEM


def test_an_answered_execution_is_not_asked(staff: dict[str, User]) -> None:
    case = services.close(case=in_mediation_case(staff["mediator"]), by=staff["mediator"], outcome="agreement")
    services.record_execution(case=case, carried_out=True, party=Party.CONSUMER)
    with time_machine.travel(at(case.execution_check_on + datetime.timedelta(days=40)), tick=False):
        assert reminders.execution_followup() == (0, 0)


def test_daily_task_runs_both_and_beat_fans_it_out(staff: dict[str, User], mailoutbox: list[Any]) -> None:
    case = received_case()
    with time_machine.travel(at(case.admissibility_due_on), tick=False):
        assert tasks.daily_reminders() == {"reminders": 2, "execution_asked": 0, "execution_unanswered": 0}
    entry = app.conf.beat_schedule["fan-out-case-reminders"]
    assert entry["task"] == "core.tasks.fan_out"
    assert entry["args"][0] in app.tasks

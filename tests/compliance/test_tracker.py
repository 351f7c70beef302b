"""The filing tracker's services: the daily sync of the automatic obligations, the manual writes, the reminders."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from core.models import AuditEntry
from firm.models import Coverage, Mediator
from mediation.compliance import tracker
from mediation.compliance.models import Obligation
from mediation.compliance.tracker_tasks import daily_obligations
from mediation.reports.models import AnnualReport
from tests.factories import MediatorFactory, UserFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
Status = Obligation.Status
Kind = Obligation.Kind


def at(year: int, month: int, day: int) -> datetime.datetime:
    return datetime.datetime(year, month, day, 12, tzinfo=PARIS)


def keys() -> dict[str, Obligation]:
    return {item.source_key: item for item in Obligation.objects.all()}


# --- sync --------------------------------------------------------------------------------------------------------


def test_sync_creates_each_automatic_obligation_once_with_its_due_date(tenant_a):
    with time_machine.travel(at(2030, 3, 1), tick=False):
        mediator = MediatorFactory(listed_on=datetime.date(2028, 1, 15), term_ends_on=datetime.date(2031, 1, 14))
        sector = Coverage.objects.create(kind=Coverage.Kind.SECTOR, name="Énergie")
        convention = Coverage.objects.create(kind=Coverage.Kind.CONVENTION, name="Fédération du meuble")

        first = tracker.sync(datetime.date(2030, 3, 1))
        second = tracker.sync(datetime.date(2030, 3, 1))

    assert (first["created"], second["created"]) == (5, 0)
    found = keys()
    assert {key: (item.kind, item.due_on, item.status) for key, item in found.items()} == {
        "annual_report:2029": (Kind.ANNUAL_REPORT, datetime.date(2030, 6, 30), Status.TODO),
        f"mediator_term:{mediator.pk}:2031-01-14": (Kind.MEDIATOR_TERM, datetime.date(2030, 10, 14), Status.TODO),
        f"mediator:{mediator.pk}:added": (Kind.UPDATE_NOTICE, datetime.date(2030, 3, 31), Status.TODO),
        f"coverage:{sector.pk}": (Kind.UPDATE_NOTICE, datetime.date(2030, 3, 31), Status.TODO),
        f"coverage:{convention.pk}": (Kind.UPDATE_NOTICE, datetime.date(2030, 3, 31), Status.TODO),
    }
    assert found["annual_report:2029"].title == "Publier le rapport d'activité 2029"
    assert found[f"coverage:{sector.pk}"].title == "Informer la CECMC : nouveau secteur « Énergie »"
    assert (
        found[f"coverage:{convention.pk}"].title == "Informer la CECMC : nouvelle convention « Fédération du meuble »"
    )
    assert AuditEntry.objects.filter(action="compliance.obligation_created").count() == 5


def test_records_older_than_the_app_get_no_update_notice(tenant_a):
    long_ago = at(2016, 1, 4)
    mediator = MediatorFactory(listed_on=datetime.date(2016, 1, 1), term_ends_on=datetime.date(2031, 1, 14))
    old_leaver = MediatorFactory(is_active=False)
    sector = Coverage.objects.create(name="Télécommunications")
    Mediator.objects.filter(pk__in=[mediator.pk, old_leaver.pk]).update(created_at=long_ago, updated_at=long_ago)
    Coverage.objects.filter(pk=sector.pk).update(created_at=long_ago)
    assert tracker.app_arrived_at() is not None

    tracker.sync(datetime.date(2026, 12, 6))

    assert set(keys()) == {"annual_report:2025", f"mediator_term:{mediator.pk}:2031-01-14"}


def test_a_departure_gets_a_notice_and_cancels_the_term_obligation(tenant_a):
    with time_machine.travel(at(2030, 3, 1), tick=False):
        mediator = MediatorFactory(term_ends_on=datetime.date(2031, 1, 14))
        tracker.sync(datetime.date(2030, 3, 1))
    with time_machine.travel(at(2030, 4, 10), tick=False):
        mediator.is_active = False
        mediator.save()
        result = tracker.sync(datetime.date(2030, 4, 10))
        tracker.sync(datetime.date(2030, 4, 10))

    found = keys()
    departure = found[f"mediator:{mediator.pk}:inactive"]
    assert (departure.kind, departure.due_on, departure.status) == (
        Kind.UPDATE_NOTICE,
        datetime.date(2030, 5, 10),
        Status.TODO,
    )
    assert departure.title == f"Informer la CECMC : départ du médiateur {mediator}"
    term = found[f"mediator_term:{mediator.pk}:2031-01-14"]
    assert term.status == Status.CANCELLED
    assert "plus en activité" in term.notes
    assert result == {"created": 1, "closed": 1}
    assert Obligation.objects.filter(source_key__endswith=":inactive").count() == 1


def test_an_extended_term_closes_the_old_obligation_as_done_and_opens_the_next(tenant_a):
    mediator = MediatorFactory(term_ends_on=datetime.date(2027, 1, 14))
    tracker.sync(datetime.date(2026, 12, 6))
    mediator.term_ends_on = datetime.date(2030, 1, 14)
    mediator.save()

    tracker.sync(datetime.date(2026, 12, 7))

    found = keys()
    old = found[f"mediator_term:{mediator.pk}:2027-01-14"]
    assert (old.status, old.done_on) == (Status.DONE, datetime.date(2026, 12, 7))
    new = found[f"mediator_term:{mediator.pk}:2030-01-14"]
    assert (new.status, new.due_on) == (Status.TODO, datetime.date(2029, 10, 14))


def test_a_corrected_earlier_term_cancels_the_old_obligation(tenant_a):
    mediator = MediatorFactory(term_ends_on=datetime.date(2027, 1, 14))
    tracker.sync(datetime.date(2026, 12, 6))
    mediator.term_ends_on = datetime.date(2026, 12, 31)
    mediator.save()

    tracker.sync(datetime.date(2026, 12, 7))

    assert keys()[f"mediator_term:{mediator.pk}:2027-01-14"].status == Status.CANCELLED
    assert keys()[f"mediator_term:{mediator.pk}:2026-12-31"].due_on == datetime.date(2026, 9, 30)


def test_the_report_obligation_is_done_when_the_report_is_published(tenant_a):
    MediatorFactory(listed_on=datetime.date(2024, 1, 15))
    tracker.sync(datetime.date(2026, 3, 1))
    report = AnnualReport.objects.create(
        year=2025, period_start=datetime.date(2025, 1, 1), period_end=datetime.date(2025, 12, 31)
    )
    tracker.sync(datetime.date(2026, 3, 2))
    assert keys()["annual_report:2025"].status == Status.TODO  # a draft is not enough

    report.status = AnnualReport.Status.PUBLISHED
    report.published_at = at(2026, 5, 12)
    report.save()
    result = tracker.sync(datetime.date(2026, 5, 13))

    item = keys()["annual_report:2025"]
    assert (item.status, item.done_on) == (Status.DONE, datetime.date(2026, 5, 12))
    assert result["closed"] == 1
    assert AuditEntry.objects.filter(
        action="compliance.obligation_done", object_id=str(item.pk), actor_id=None
    ).exists()


def test_no_report_obligation_before_the_firm_had_a_listed_mediator(tenant_a):
    MediatorFactory(listed_on=datetime.date(2026, 2, 1), term_ends_on=datetime.date(2029, 1, 31))

    tracker.sync(datetime.date(2026, 3, 1))

    assert not Obligation.objects.filter(kind=Kind.ANNUAL_REPORT).exists()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2030, 5, 31), datetime.date(2030, 2, 28)),
        (datetime.date(2028, 5, 31), datetime.date(2028, 2, 29)),
        (datetime.date(2030, 1, 14), datetime.date(2029, 10, 14)),
        (datetime.date(2030, 3, 1), datetime.date(2029, 12, 1)),
    ],
)
def test_months_before_keeps_the_day_or_takes_the_months_last(day, expected):
    assert tracker.months_before(day, 3) == expected


# --- manual writes -------------------------------------------------------------------------------------------------


@pytest.fixture
def admin(tenant_a):
    return UserFactory(role=User.Role.ADMIN)


def manual(by: User, due_on: datetime.date = datetime.date(2030, 1, 1)) -> Obligation:
    return tracker.create_obligation(by=by, kind=Kind.LISTING_FILE, title="Dossier de référencement", due_on=due_on)


def test_create_edit_close_and_reopen_are_audited(admin):
    item = manual(admin)
    tracker.update_obligation(by=admin, obligation=item, title="Dossier complet", due_on=item.due_on, notes="Envoyé")
    tracker.mark_done(by=admin, obligation=item, done_on=datetime.date(2026, 12, 1))
    tracker.reopen(by=admin, obligation=item)
    tracker.cancel(by=admin, obligation=item)

    item.refresh_from_db()
    assert (item.title, item.notes, item.status, item.done_on) == ("Dossier complet", "Envoyé", Status.CANCELLED, None)
    assert list(AuditEntry.objects.filter(object_id=str(item.pk)).order_by("pk").values_list("action", flat=True)) == [
        "compliance.obligation_created",
        "compliance.obligation_updated",
        "compliance.obligation_done",
        "compliance.obligation_todo",
        "compliance.obligation_cancelled",
    ]


def test_a_closed_obligation_cannot_be_closed_again(admin):
    item = tracker.cancel(by=admin, obligation=manual(admin))
    with pytest.raises(ValidationError):
        tracker.mark_done(by=admin, obligation=item, done_on=datetime.date(2026, 1, 1))
    with pytest.raises(ValidationError):
        tracker.cancel(by=admin, obligation=item)


def test_done_on_cannot_be_in_the_future(admin):
    item = manual(admin)
    with pytest.raises(ValidationError):
        tracker.mark_done(by=admin, obligation=item, done_on=datetime.date(2999, 1, 1))
    item.refresh_from_db()
    assert item.status == Status.TODO


@pytest.mark.parametrize("role", [User.Role.FINANCE, User.Role.READ_ONLY, User.Role.CASE_OFFICER])
def test_only_reports_editors_write(tenant_a, role, admin):
    item = manual(admin)
    user = UserFactory(role=role)
    with pytest.raises(PermissionDenied):
        manual(user)
    with pytest.raises(PermissionDenied):
        tracker.cancel(by=user, obligation=item)


def test_a_new_due_date_starts_the_reminders_again(admin):
    item = manual(admin, due_on=datetime.date(2030, 1, 1))
    Obligation.objects.filter(pk=item.pk).update(reminded_days=7, reminded_at=at(2029, 12, 25))

    tracker.update_obligation(by=admin, obligation=item, title=item.title, due_on=datetime.date(2030, 3, 1), notes="")

    item.refresh_from_db()
    assert (item.reminded_days, item.reminded_at) == (None, None)


# --- reminders ------------------------------------------------------------------------------------------------


@pytest.fixture
def team(tenant_a):
    return {
        "admin": UserFactory(role=User.Role.ADMIN, email="admin@example.fr"),
        "mediator": UserFactory(role=User.Role.MEDIATOR, email="mediatrice@example.fr"),
        "officer": UserFactory(role=User.Role.CASE_OFFICER, email="charge@example.fr"),
        "gone": UserFactory(role=User.Role.ADMIN, email="parti@example.fr", is_active=False),
    }


def remind_on(day: datetime.date, capture) -> list[str]:
    with capture(execute=True):
        tracker.send_reminders(day)
    sent = sorted(address for message in mail.outbox for address in message.to)
    mail.outbox.clear()
    return sent


def test_reminders_go_at_30_7_0_days_and_once_overdue(team, django_capture_on_commit_callbacks):
    due = datetime.date(2030, 6, 30)
    manual(team["admin"], due_on=due)
    everyone = ["admin@example.fr", "mediatrice@example.fr"]
    expected = {
        -31: [],
        -30: everyone,
        -29: [],
        -8: [],
        -7: everyone,
        -1: [],
        0: everyone,
        1: everyone,
        2: [],
        40: [],
    }

    sent = {
        offset: remind_on(due + datetime.timedelta(days=offset), django_capture_on_commit_callbacks)
        for offset in expected
    }

    assert sent == expected


def test_a_reminder_is_sent_once_a_day_even_when_run_twice(team, django_capture_on_commit_callbacks):
    manual(team["admin"], due_on=datetime.date(2030, 6, 30))
    assert len(remind_on(datetime.date(2030, 6, 23), django_capture_on_commit_callbacks)) == 2
    assert remind_on(datetime.date(2030, 6, 23), django_capture_on_commit_callbacks) == []


def test_a_late_obligation_gets_its_current_step_only(team, django_capture_on_commit_callbacks):
    item = manual(team["admin"], due_on=datetime.date(2030, 6, 30))

    assert len(remind_on(datetime.date(2030, 6, 27), django_capture_on_commit_callbacks)) == 2

    item.refresh_from_db()
    assert item.reminded_days == 7
    assert remind_on(datetime.date(2030, 6, 28), django_capture_on_commit_callbacks) == []


def test_the_reminder_lists_the_obligation_with_its_link(team, django_capture_on_commit_callbacks):
    item = manual(team["admin"], due_on=datetime.date(2030, 6, 30))

    with django_capture_on_commit_callbacks(execute=True):
        tracker.send_reminders(datetime.date(2030, 7, 3))

    message = mail.outbox[0]
    assert message.subject == "Obligations CECMC à suivre"
    assert "Dossier de référencement" in message.body
    assert "en retard de 3 jours" in message.body
    assert f"/staff/conformite/obligations/{item.pk}/" in message.body


def test_closed_obligations_are_not_reminded(team, django_capture_on_commit_callbacks):
    item = manual(team["admin"], due_on=datetime.date(2030, 6, 30))
    tracker.cancel(by=team["admin"], obligation=item)

    assert remind_on(datetime.date(2030, 6, 30), django_capture_on_commit_callbacks) == []


def test_nothing_is_recorded_while_nobody_can_be_reminded(tenant_a, django_capture_on_commit_callbacks):
    admin = UserFactory(role=User.Role.ADMIN)
    item = manual(admin, due_on=datetime.date(2030, 6, 30))
    User.objects.filter(pk=admin.pk).update(is_active=False)

    assert tracker.send_reminders(datetime.date(2030, 6, 30)) == {"reminded": 0, "emails": 0}
    item.refresh_from_db()
    assert item.reminded_days is None


def test_the_daily_task_syncs_then_reminds(team, django_capture_on_commit_callbacks):
    with time_machine.travel(at(2030, 6, 1), tick=False):
        MediatorFactory(listed_on=datetime.date(2028, 1, 15), term_ends_on=datetime.date(2031, 1, 14))
        with django_capture_on_commit_callbacks(execute=True):
            result = daily_obligations()

    # Created: the 2029 report (due 30 June), the term (due 14 October), the new mediator's notice (due 1 July);
    # reminded: the report and the notice, within 30 days.
    assert result == {"created": 3, "closed": 0, "reminded": 2, "emails": 2}
    assert len(mail.outbox) == 2
    assert "Publier le rapport d'activité 2029" in mail.outbox[0].body

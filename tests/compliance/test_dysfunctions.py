"""Recurring dysfunctions: detection over the firm's thresholds, the daily e-mail, closing, the settings' checks and
the letter of recommendations."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import User
from core.models import AuditEntry
from mediation.cases.models import Case, LetterTemplate, Status
from mediation.compliance import dysfunctions
from mediation.compliance.dysfunction_forms import DysfunctionSettingsForm
from mediation.compliance.dysfunction_tasks import daily_dysfunction_watch
from mediation.compliance.models import DysfunctionAlert, DysfunctionSettings
from tests.factories import AdminFactory, ContactFactory, MediatorFactory, MemberFactory, UserFactory

TODAY = datetime.date(2026, 3, 31)  # with a 90-day window: 1 January to 31 March 2026
_references = itertools.count(1)


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, hour, minute))


def make_case(member: Any, *, subject: str = "delivery", on: datetime.date = TODAY, **fields: Any) -> Case:
    """A case written directly in the state a test needs (the services' steps are not the subject here)."""
    values: dict[str, Any] = {
        "reference": f"T-{next(_references):05d}",
        "status": Status.RECEIVED,
        "member": member,
        "subject": subject,
        "received_at": at(on),
    }
    values.update(fields)
    return Case.objects.create(**values)


def thresholds(**values: Any) -> DysfunctionSettings:
    fields = {"window_days": 90, "member_threshold": 3, "sector_threshold": 5, "subject_threshold": 4}
    fields.update(values)
    return DysfunctionSettings.objects.create(pk=1, **fields)


@pytest.fixture
def seeded(tenant_a) -> dict[str, Any]:
    """Thresholds 3 per business, 5 per sector, 4 per subject over 90 days, and:

    - shop (retail): 3 requests, exactly its threshold;
    - kiosk (retail): 2 in the window, one the day before it starts, one draft: under;
    - garage (automotive): 4 requests (2 delivery, 2 defect): over;
    - retail: 3 + 2 = 5, exactly its threshold; automotive 4: under;
    - delivery: 3 (shop) + 1 (kiosk) + 2 (garage) - that is 6; with a non-member's request, 7: over;
      billing: 1 (kiosk): under; defect: 2 (garage): under.
    """
    thresholds()
    shop = MemberFactory(legal_name="Boutique Alpha SARL", sector="retail")
    kiosk = MemberFactory(legal_name="Kiosque Alpha", sector="retail")
    garage = MemberFactory(legal_name="Garage Alpha", trade_name="Garage du Centre", sector="automotive")
    first_day = datetime.date(2026, 1, 1)
    for day in (first_day, datetime.date(2026, 2, 10), TODAY):
        make_case(shop, on=day, received_at=at(day, 0, 5) if day == first_day else at(day))
    make_case(kiosk, subject="billing", on=datetime.date(2026, 3, 1))
    make_case(kiosk, on=TODAY, received_at=at(TODAY, 23, 55))
    make_case(kiosk, received_at=at(datetime.date(2025, 12, 31), 23, 55))  # the day before the window
    make_case(kiosk, status=Status.DRAFT, reference=None)  # a draft never counts
    for subject in ("delivery", "delivery", "defect", "defect"):
        make_case(garage, subject=subject, on=datetime.date(2026, 3, 15))
    make_case(None, business_name="Un non-adhérent", on=datetime.date(2026, 3, 20))
    return {"shop": shop, "kiosk": kiosk, "garage": garage}


def open_alert(scope: str, value: str) -> DysfunctionAlert:
    return DysfunctionAlert.objects.get(scope=scope, value=value, closed_at__isnull=True)


def test_detection_opens_an_alert_for_each_group_at_or_over_its_threshold(seeded):
    opened = dysfunctions.detect(TODAY)

    found = {(alert.scope, alert.value): (alert.cases_count, alert.threshold) for alert in opened}
    assert found == {
        ("member", str(seeded["shop"].pk)): (3, 3),
        ("member", str(seeded["garage"].pk)): (4, 3),
        ("sector", "retail"): (5, 5),
        ("subject", "delivery"): (7, 4),
    }
    garage = open_alert("member", str(seeded["garage"].pk))
    assert garage.label == "Garage du Centre"
    assert (garage.window_start, garage.window_end) == (datetime.date(2026, 1, 1), TODAY)
    assert open_alert("sector", "retail").label == "Commerce de détail"
    assert DysfunctionAlert.objects.count() == 4
    assert AuditEntry.objects.filter(action="dysfunction_alert.open").count() == 4  # one per alert


def test_a_request_the_day_before_the_window_and_a_draft_do_not_count(seeded):
    dysfunctions.detect(TODAY)

    assert not DysfunctionAlert.objects.filter(scope="member", value=str(seeded["kiosk"].pk)).exists()
    assert dysfunctions.received_in(dysfunctions.Window.ending(TODAY, 90)).filter(member=seeded["kiosk"]).count() == 2


def test_a_second_detection_updates_the_open_alert_rather_than_opening_another(seeded):
    dysfunctions.detect(TODAY)
    next_day = TODAY + datetime.timedelta(days=1)
    make_case(seeded["garage"], subject="defect", on=next_day)

    opened = dysfunctions.detect(next_day)

    # The business's alert is refreshed; only its sector, now at its threshold (5), is new.
    assert [(alert.scope, alert.value) for alert in opened] == [("sector", "automotive")]
    garage = DysfunctionAlert.objects.get(scope="member", value=str(seeded["garage"].pk))
    assert garage.cases_count == 5
    assert (garage.window_start, garage.window_end) == (datetime.date(2026, 1, 2), next_day)
    assert AuditEntry.objects.filter(action="dysfunction_alert.refresh", object_id=str(garage.pk)).exists()
    # The shop fell under its threshold (its 1 January request left the window): its alert stays open as it was.
    shop = DysfunctionAlert.objects.get(scope="member", value=str(seeded["shop"].pk))
    assert (shop.closed_at, shop.cases_count) == (None, 3)
    assert DysfunctionAlert.objects.count() == 5


def test_after_an_alert_is_closed_a_new_detection_opens_a_new_one(seeded):
    dysfunctions.detect(TODAY)
    officer = UserFactory(role=User.Role.MEDIATOR)
    first = open_alert("member", str(seeded["garage"].pk))
    dysfunctions.close_alert(alert=first, by=officer, note="Échange téléphonique avec le gérant.")

    opened = dysfunctions.detect(TODAY)

    assert [(alert.scope, alert.value) for alert in opened] == [("member", str(seeded["garage"].pk))]
    rows = DysfunctionAlert.objects.filter(scope="member", value=str(seeded["garage"].pk)).order_by("pk")
    assert [row.closed_at is None for row in rows] == [False, True]
    closed = rows[0]
    assert (closed.closed_by, closed.note) == (officer, "Échange téléphonique avec le gérant.")


def test_closing_needs_a_note_and_cases_decide_and_happens_once(seeded):
    dysfunctions.detect(TODAY)
    alert = open_alert("subject", "delivery")
    mediator = UserFactory(role=User.Role.MEDIATOR)

    with pytest.raises(PermissionDenied):
        dysfunctions.close_alert(alert=alert, by=UserFactory(role=User.Role.CASE_OFFICER), note="Vu.")
    with pytest.raises(dysfunctions.ValidationError):
        dysfunctions.close_alert(alert=alert, by=mediator, note="   ")
    dysfunctions.close_alert(alert=alert, by=mediator, note="Vu.")
    with pytest.raises(dysfunctions.ValidationError):
        dysfunctions.close_alert(alert=alert, by=mediator, note="Encore.")

    alert.refresh_from_db()
    assert alert.note == "Vu."
    assert AuditEntry.objects.filter(action="dysfunction_alert.close", object_id=str(alert.pk)).count() == 1


def test_nothing_is_detected_while_monitoring_is_off(seeded):
    DysfunctionSettings.objects.filter(pk=1).update(is_active=False)

    assert dysfunctions.detect(TODAY) == []
    assert not DysfunctionAlert.objects.exists()


def test_the_model_defaults_apply_before_the_settings_are_saved(tenant_a):
    member = MemberFactory()
    for _n in range(4):
        make_case(member)
    assert dysfunctions.detect(TODAY) == []  # default threshold per business: 5

    make_case(member)
    opened = dysfunctions.detect(TODAY)

    assert [(alert.scope, alert.cases_count, alert.threshold) for alert in opened] == [("member", 5, 5)]
    assert not DysfunctionSettings.objects.exists()


# --- The daily task ---------------------------------------------------------------------------------------------


@pytest.fixture
def team(tenant_a) -> dict[str, User]:
    return {
        "mediator": UserFactory(role=User.Role.MEDIATOR, email="mediatrice@alpha.fr"),
        "admin": AdminFactory(email="admin@alpha.fr"),
        "officer": UserFactory(role=User.Role.CASE_OFFICER, email="charge@alpha.fr"),
        "gone": UserFactory(role=User.Role.MEDIATOR, email="ancien@alpha.fr", is_active=False),
    }


def test_the_daily_task_emails_the_new_alerts_to_mediators_and_admins_only_once(
    seeded, team, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(TODAY, 7), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert daily_dysfunction_watch() == 4
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert sorted(message.to) == ["admin@alpha.fr", "mediatrice@alpha.fr"]
        assert "4 nouvelles alertes" in message.subject
        assert "Garage du Centre — 4 demandes du 1 janvier 2026 au 31 mars 2026 (seuil : 3)" in message.body
        assert "/staff/conformite/dysfonctionnements/" in message.body

        # The same day again: the alerts are refreshed, none is new, no e-mail.
        with django_capture_on_commit_callbacks(execute=True):
            assert daily_dysfunction_watch() == 0
        assert len(mail.outbox) == 1

        # A business newly over its threshold: the e-mail lists it alone.
        newcomer = MemberFactory(legal_name="Nouveau Venu", sector="tourism")
        for subject in ("billing", "refund", "quote"):
            make_case(newcomer, subject=subject)
        with django_capture_on_commit_callbacks(execute=True):
            assert daily_dysfunction_watch() == 1
    assert len(mail.outbox) == 2
    assert "Nouveau Venu" in mail.outbox[1].body
    assert "Garage du Centre" not in mail.outbox[1].body
    assert "1 nouvelle alerte" in mail.outbox[1].subject


# --- Settings ---------------------------------------------------------------------------------------------------


def settings_data(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "window_days": "60",
        "member_threshold": "4",
        "sector_threshold": "12",
        "subject_threshold": "15",
        "is_active": "on",
        "letter_subject": str(dysfunctions.DEFAULT_SUBJECT),
        "letter_body": str(dysfunctions.DEFAULT_BODY),
    }
    data.update(values)
    return data


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("window_days", "3"),  # under 7 days
        ("window_days", "abc"),
        ("window_days", "40000"),
        ("member_threshold", "1"),  # one request is not a recurrence
        ("sector_threshold", "-5"),
        ("subject_threshold", ""),
        ("letter_body", "Bonjour {{ business_name }}."),  # the number of requests is missing
        ("letter_body", "{{ cases_count }} {{ secret_key }}"),  # unknown variable
        ("letter_body", "{% load static %}{{ cases_count }}"),
        ("letter_body", "{{ cases_count }} {% if %}"),  # does not compile
        ("letter_subject", "{{ nope }}"),
    ],
)
def test_the_settings_form_refuses_bad_values(tenant_a, field, value):
    form = DysfunctionSettingsForm(settings_data(**{field: value}), instance=dysfunctions.current_settings())

    assert not form.is_valid()
    assert field in form.errors


def test_saving_the_settings_creates_the_row_then_updates_it_with_an_audit_row(tenant_a):
    mediator = UserFactory(role=User.Role.MEDIATOR)
    form = DysfunctionSettingsForm(settings_data(), instance=dysfunctions.current_settings())
    assert form.is_valid(), form.errors

    dysfunctions.save_settings(by=mediator, values=form.settings_values())
    dysfunctions.save_settings(by=mediator, values={**form.settings_values(), "member_threshold": 6})

    row = DysfunctionSettings.objects.get()
    assert (row.pk, row.window_days, row.member_threshold, row.is_active) == (1, 60, 6, True)
    entries = AuditEntry.objects.filter(action="dysfunction_settings.update").order_by("pk")
    assert [entry.changes.get("member_threshold") for entry in entries] == [[None, 4], [4, 6]]
    with pytest.raises(PermissionDenied):
        dysfunctions.save_settings(by=UserFactory(role=User.Role.FINANCE), values=form.settings_values())


def test_the_letter_text_is_stored_only_when_it_differs_from_the_default(tenant_a):
    admin = AdminFactory()
    dysfunctions.save_letter_template(
        by=admin, subject="Nos recommandations", body="{{ cases_count }} demandes.\r\n{{ mediator_name }}"
    )
    assert dysfunctions.letter_texts_for() == (
        "Nos recommandations",
        "{{ cases_count }} demandes.\r\n{{ mediator_name }}",
        True,
    )

    dysfunctions.save_letter_template(
        by=admin, subject=str(dysfunctions.DEFAULT_SUBJECT), body=str(dysfunctions.DEFAULT_BODY).replace("\n", "\r\n")
    )

    assert not LetterTemplate.objects.filter(kind=dysfunctions.LETTER_KIND).exists()
    assert dysfunctions.letter_texts_for()[2] is False
    actions = list(
        AuditEntry.objects.filter(action__startswith="letter_template.").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["letter_template.update", "letter_template.reset"]


# --- The letter of recommendations ------------------------------------------------------------------------------


@pytest.fixture
def garage_alert(seeded) -> DysfunctionAlert:
    with time_machine.travel(at(TODAY, 7), tick=False):
        dysfunctions.detect(TODAY)
    return open_alert("member", str(seeded["garage"].pk))


def test_the_letter_holds_the_numbers_and_leaves_as_a_pdf_to_the_business(seeded, garage_alert, media_root):
    MediatorFactory(first_name="Hélène", last_name="Dupont")
    ContactFactory(member=seeded["garage"], roles=["billing"], email="compta@garage.fr")
    ContactFactory(member=seeded["garage"], roles=["legal_representative"], email="gerant@garage.fr")
    mediator = UserFactory(role=User.Role.MEDIATOR)

    letter = dysfunctions.send_letter(alert=garage_alert, by=mediator)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["gerant@garage.fr"]
    assert message.subject == "Recommandations du médiateur de la consommation"
    body = message.body
    assert "Entre le 1 janvier 2026 et le 31 mars 2026" in body
    assert "a reçu 4 demandes de médiation concernant Garage du Centre" in body
    assert "Livraison (retard, non-livraison, colis endommagé) (2)" in body
    assert "Hélène Dupont" in body
    [(filename, content, content_type)] = message.attachments
    assert content_type == "application/pdf"
    assert content.startswith(b"%PDF")
    assert filename == letter.filename and filename.endswith(".pdf")
    garage_alert.refresh_from_db()
    assert garage_alert.letter_sent_at is not None
    entry = AuditEntry.objects.get(action="dysfunction_alert.letter")
    assert entry.changes["recipient"] == [None, "gerant@garage.fr"]


def test_the_firms_own_text_is_used(seeded, garage_alert, media_root):
    ContactFactory(member=seeded["garage"])
    LetterTemplate.objects.create(
        kind=dysfunctions.LETTER_KIND,
        subject="Alerte {{ business_name }}",
        body="{{ cases_count }} demandes en {{ window_days }} jours.",
    )

    letter = dysfunctions.render_letter(alert=garage_alert, by=None)

    assert letter.subject == "Alerte Garage du Centre"
    assert letter.body == "4 demandes en 90 jours.\n"


def test_without_a_contact_nothing_is_sent(seeded, garage_alert, media_root):
    ContactFactory(member=seeded["garage"], email="")  # no address
    ContactFactory(member=seeded["garage"], is_active=False)

    with pytest.raises(dysfunctions.LetterError, match="aucun contact actif"):
        dysfunctions.send_letter(alert=garage_alert, by=UserFactory(role=User.Role.MEDIATOR))

    assert mail.outbox == []
    garage_alert.refresh_from_db()
    assert garage_alert.letter_sent_at is None


def test_only_a_business_alert_has_a_letter(seeded, garage_alert):
    sector = open_alert("sector", "retail")

    with pytest.raises(dysfunctions.LetterError):
        dysfunctions.render_letter(alert=sector, by=None)

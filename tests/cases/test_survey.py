"""The consumer's satisfaction survey, asked once when a case ends."""

from __future__ import annotations

import re

import pytest

from mediation.cases import services, survey
from mediation.cases.models import Party, SatisfactionSurvey
from tests.factories import draft_case, received_case

pytestmark = pytest.mark.usefixtures("tenant_a", "media_root")


def ended_case():
    return services.withdraw(case=received_case(), party=Party.CONSUMER)


def link_in(mail) -> str:
    match = re.search(r"/avis/([\w-]+)/", mail.body)
    assert match
    return match.group(1)


def test_survey_is_sent_once_when_a_case_ends(mailoutbox):
    case = ended_case()
    assert survey.send_survey(case.pk) is True
    assert survey.send_survey(case.pk) is False
    surveys = [m for m in mailoutbox if "/avis/" in m.body]
    assert len(surveys) == 1
    assert surveys[0].to == [case.consumer_email]
    assert case.reference in surveys[0].subject
    assert SatisfactionSurvey.objects.get(case=case).sent_at is not None


def test_no_survey_for_a_running_case(mailoutbox):
    case = received_case()
    assert survey.send_survey(case.pk) is False
    assert not SatisfactionSurvey.objects.exists()


def test_the_end_of_a_case_queues_the_survey(monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(survey.send_survey, "delay", queued.append)
    monkeypatch.setattr(services, "_send_letters_after_commit", lambda event: None)
    case = received_case()
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(case=case, party=Party.CONSUMER)
    assert queued == [case.pk]


def test_a_draft_never_gets_one(monkeypatch):
    queued = []
    monkeypatch.setattr(survey.send_survey, "delay", queued.append)
    survey.on_status_changed(case_id=draft_case().pk, before="draft", after="received")
    assert queued == []


def test_consumer_answers_from_the_link_once(client_a, mailoutbox):
    case = ended_case()
    survey.send_survey(case.pk)
    token = link_in(mailoutbox[-1])
    url = f"/avis/{token}/"
    assert client_a.get(url).status_code == 200
    response = client_a.post(
        url, {"rating": "4", "clear_information": "yes", "would_recommend": "no", "comment": "Rapide."}
    )
    assert response.status_code == 200
    answered = SatisfactionSurvey.objects.get(case=case)
    assert (answered.rating, answered.clear_information, answered.reasonable_duration, answered.would_recommend) == (
        4,
        True,
        None,
        False,
    )
    again = client_a.post(url, {"rating": "1"})
    assert "déjà répondu" in again.content.decode()
    answered.refresh_from_db()
    assert answered.rating == 4


def test_a_rating_is_required(client_a, mailoutbox):
    case = ended_case()
    survey.send_survey(case.pk)
    response = client_a.post(f"/avis/{link_in(mailoutbox[-1])}/", {"comment": "?"})
    assert response.status_code == 400
    assert SatisfactionSurvey.objects.get(case=case).answered_at is None


def test_unknown_or_foreign_tokens_give_404(client_a, client_b, mailoutbox):
    case = ended_case()
    survey.send_survey(case.pk)
    token = link_in(mailoutbox[-1])
    assert client_a.get("/avis/not-a-token/").status_code == 404
    assert client_b.get(f"/avis/{token}/").status_code == 404

"""The consumer's satisfaction survey, asked once when a case ends (never for a draft).

When a case reaches a final status, a receiver of `case_status_changed`
queues `send_survey`; the task creates the survey with a secret token (only
its hash is kept) and e-mails the link. The answers feed the firm's
statistics; they never reach the business.
"""

from __future__ import annotations

import secrets
from typing import Any

from celery import shared_task
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.tokens import hash_token
from mediation.cases.errors import PreconditionFailed
from mediation.cases.models import FINAL_STATUSES, Case, SatisfactionSurvey, Status


def on_status_changed(*, case_id: int, before: str, after: str, **_kwargs: Any) -> None:
    """Receiver: a case that just ended gets its survey (sent by a task)."""
    if after in FINAL_STATUSES and before != Status.DRAFT:
        send_survey.delay(case_id)


@shared_task(name="cases.send_survey", acks_late=True)
def send_survey(case_id: int) -> bool:
    """Creates the survey and sends its link, once; False when there is nothing to send."""
    from core.links import firm_site_url as site_url
    from firm.models import FirmProfile
    from firm.selectors import email_identity

    case = Case.objects.filter(pk=case_id).first()
    if case is None or case.status not in FINAL_STATUSES or not case.consumer_email:
        return False
    token = secrets.token_urlsafe(24)
    try:
        with transaction.atomic():
            survey, created = SatisfactionSurvey.objects.get_or_create(
                case=case, defaults={"token_hash": hash_token(token)}
            )
    except IntegrityError:  # a concurrent run created it
        return False
    if not created:
        return False  # the link was sent once; its token is not kept
    profile = FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK).first()
    language = getattr(profile, "default_language", "") or "fr"
    sender, reply_to = email_identity()
    with override(language):
        subject = _("Votre avis sur la médiation (dossier %(reference)s)") % {"reference": case.reference}
        body = _(
            "Bonjour,\n\nVotre dossier %(reference)s est terminé. Votre avis nous aide à améliorer la médiation : "
            "quatre questions, une minute, sans inscription.\n\n%(url)s\n\n"
            "Vos réponses restent au médiateur ; elles ne sont jamais transmises au professionnel.\n"
        ) % {"reference": case.reference, "url": f"{site_url()}/avis/{token}/"}
    EmailMessage(subject, body, sender, [case.consumer_email], reply_to=reply_to).send()
    survey.sent_at = timezone.now()
    survey.save(update_fields=["sent_at"])
    return True


def survey_by_token(token: str) -> SatisfactionSurvey | None:
    if not token:
        return None
    return SatisfactionSurvey.objects.select_related("case").filter(token_hash=hash_token(token)).first()


@transaction.atomic
def answer(
    *,
    survey: SatisfactionSurvey,
    rating: int,
    clear_information: bool | None,
    reasonable_duration: bool | None,
    would_recommend: bool | None,
    comment: str = "",
) -> SatisfactionSurvey:
    """Records the answers, once."""
    survey = SatisfactionSurvey.objects.select_for_update().get(pk=survey.pk)
    if survey.answered_at is not None:
        raise PreconditionFailed(_("Vous avez déjà répondu à ce questionnaire : merci !"), code="already_answered")
    if rating not in SatisfactionSurvey.Rating.values:
        raise PreconditionFailed(_("Choisissez une note de 1 à 5."), code="rating_required")
    survey.rating = rating
    survey.clear_information = clear_information
    survey.reasonable_duration = reasonable_duration
    survey.would_recommend = would_recommend
    survey.comment = comment.strip()[:2000]
    survey.answered_at = timezone.now()
    survey.save()
    return survey

"""Celery task of the news to members: send one batch, then queue the next (mediation.members.news).

Not named `tasks.py`, so Celery's autodiscovery does not find this module: the
app config imports it when Django starts (see MembersConfig.ready()).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import translation

from mediation.members import news

logger = logging.getLogger(__name__)

# The mail server down: try again every few minutes for about an hour; "Relancer l'envoi" restarts it later.
MAIL_RETRY_SECONDS = 300
MAIL_RETRIES = 12


@shared_task(name="mediation.members.news_tasks.send_news_batch", acks_late=True, bind=True, max_retries=MAIL_RETRIES)
def send_news_batch(self: Any, news_id: int, language: str = "fr") -> dict[str, Any]:
    with translation.override(language):
        try:
            result = news.send_batch(news_id=news_id)
        except news.MailServerUnavailable as exc:
            logger.warning("news %s: mail server unavailable (%s), retrying", news_id, exc)
            raise self.retry(exc=exc, countdown=MAIL_RETRY_SECONDS) from exc
    if result.pending:
        # Nothing taken this time means another worker holds the rest: look again a little later.
        busy = result.sent + result.failed == 0
        news.queue_batch(news_id, language, countdown=news.BUSY_RETRY_SECONDS if busy else 0)
    return {"sent": result.sent, "failed": result.failed, "pending": result.pending, "finished": result.finished}

"""Celery tasks of the member import: they take ids, load, and call mediation.members.bulk_import.

Not named `tasks.py`, so Celery's autodiscovery does not find this module: the
app config imports it when Django starts (see MembersConfig.ready()).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import PermissionDenied
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from mediation.members import bulk_import
from mediation.members.models import MemberImport

logger = logging.getLogger(__name__)


def _failed(member_import: MemberImport) -> None:
    logger.exception("member import %s failed", member_import.pk)
    bulk_import.fail(
        member_import,
        _("L'import s'est arrêté sur une erreur inattendue. Les lignes déjà traitées sont enregistrées ; relancez-le."),
    )


@shared_task(name="mediation.members.import_tasks.check_member_import", acks_late=True)
def check_member_import(import_id: int, language: str = "fr") -> str:
    member_import = MemberImport.objects.filter(pk=import_id, status=MemberImport.Status.CHECKING).first()
    if member_import is None:
        return "skipped"
    with translation.override(language):
        try:
            bulk_import.check(member_import)
        except Exception:
            _failed(member_import)
    return member_import.status


@shared_task(name="mediation.members.import_tasks.apply_member_import", acks_late=True)
def apply_member_import(import_id: int, language: str, user_id: int) -> str:
    member_import = MemberImport.objects.filter(pk=import_id, status=MemberImport.Status.IMPORTING).first()
    user = User.objects.filter(pk=user_id).first()
    if member_import is None or user is None:
        return "skipped"
    with translation.override(language):
        try:
            bulk_import.apply(member_import, by=user)
        except PermissionDenied:
            bulk_import.fail(
                member_import, _("La personne qui a confirmé l'import n'a plus le droit de modifier les adhérents.")
            )
        except Exception:
            _failed(member_import)
    return member_import.status

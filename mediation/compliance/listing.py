"""The listing file's own text (R614-3): how the mediator is funded. Read by the compliance pack."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from mediation.compliance.models import ListingInfo

MAX_FUNDING_CHARS = 20_000


def listing_info() -> ListingInfo:
    """The row, or an unsaved empty one before the first save."""
    return ListingInfo.objects.filter(pk=ListingInfo.SINGLETON_PK).first() or ListingInfo(pk=ListingInfo.SINGLETON_PK)


@transaction.atomic
def save_funding(*, by: User, funding: str) -> ListingInfo:
    """Saves how the mediator is funded (admins and mediators: reports.edit); audited with before and after."""
    ensure_perm(by, Perm.REPORTS_EDIT)
    info, _created = ListingInfo.objects.select_for_update().get_or_create(pk=ListingInfo.SINGLETON_PK)
    text = funding.strip()[:MAX_FUNDING_CHARS]
    if text != info.funding:
        audit.record(actor=by, action="compliance.funding_updated", obj=info, changes={"funding": [info.funding, text]})
        info.funding, info.updated_by = text, by
        info.save(update_fields=["funding", "updated_by", "updated_at"])
    return info

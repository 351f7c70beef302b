"""Whether a member business is covered by the firm's mediator today, and why not when it is not.

One decision table (`decide`) serves both the staff pages (`coverage_of`, which
reads the member's memberships) and the public badge, which loads the same
facts in a single query (`public_site.badge_views`). A business is covered iff
its status is active or renewal due AND a membership term runs today, is not
terminated, is paid and its coverage is not suspended (an overdue invoice,
Billing's dunning).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mediation.members.models import Member, Membership

COVERED_STATUSES = (Member.Status.ACTIVE, Member.Status.RENEWAL_DUE)
NOT_YET_STATUSES = (Member.Status.PROSPECT, Member.Status.PROPOSAL_SENT, Member.Status.CONVENTION_ACCEPTED)
# Memberships read per member: one per term, so the newest few hold every current and future one.
RECENT_TERMS = 10


class Reason(models.TextChoices):
    COVERED = "covered", _("Couvert par le médiateur")
    LAPSED = "lapsed", _("L'adhésion est échue")
    TERMINATED = "terminated", _("L'adhésion a été résiliée")
    NOT_YET_ACTIVE = "not_yet_active", _("L'adhésion n'a pas encore pris effet")
    UNPAID = "unpaid", _("La cotisation n'est pas réglée")
    SUSPENDED = "suspended", _("L'adhésion est suspendue pour défaut de paiement")
    REVOKED = "revoked", _("Ce badge n'est plus valable")
    UNKNOWN = "unknown", _("Aucune adhésion en cours n'est connue")


@dataclass(frozen=True)
class Term:
    """The facts of one membership term that coverage depends on."""

    starts_on: datetime.date
    ends_on: datetime.date
    paid: bool
    terminated: bool
    suspended: bool = False


@dataclass(frozen=True)
class Coverage:
    covered: bool
    until: datetime.date | None
    reason: str  # a Reason value
    since: datetime.date | None = None  # start of the covering term

    @property
    def label(self) -> str:
        return str(Reason(self.reason).label)


def decide(*, status: str, terms: Iterable[Term], today: datetime.date) -> Coverage:
    """The coverage of a member with `status` and membership `terms` on `today`."""
    if status == Member.Status.TERMINATED:
        return Coverage(False, None, Reason.TERMINATED)
    if status == Member.Status.LAPSED:
        return Coverage(False, None, Reason.LAPSED)
    if status in NOT_YET_STATUSES:
        return Coverage(False, None, Reason.NOT_YET_ACTIVE)
    if status not in COVERED_STATUSES:
        return Coverage(False, None, Reason.UNKNOWN)
    terms = list(terms)
    current = [t for t in terms if t.starts_on <= today <= t.ends_on]
    live = [t for t in current if not t.terminated]
    paid = [t for t in live if t.paid and not t.suspended]
    if paid:
        best = max(paid, key=lambda t: t.ends_on)
        return Coverage(True, _continued(best.ends_on, terms), Reason.COVERED, since=best.starts_on)
    if any(t.suspended for t in live):
        return Coverage(False, None, Reason.SUSPENDED)
    if live:
        return Coverage(False, None, Reason.UNPAID)
    if current:
        return Coverage(False, None, Reason.TERMINATED)
    if any(t.starts_on > today and not t.terminated for t in terms):
        return Coverage(False, None, Reason.NOT_YET_ACTIVE)
    if any(t.ends_on < today for t in terms):
        return Coverage(False, None, Reason.LAPSED)
    return Coverage(False, None, Reason.UNKNOWN)


def _continued(until: datetime.date, terms: list[Term]) -> datetime.date:
    """`until` carried on through paid terms that follow it day after day (a renewal paid in advance)."""
    following = {t.starts_on: t for t in terms if t.paid and not t.terminated and not t.suspended}
    while (nxt := following.get(until + datetime.timedelta(days=1))) is not None:
        until = nxt.ends_on
    return until


REVOKED = Coverage(False, None, Reason.REVOKED)


def recent_terms(member_id: Any) -> QuerySet[Membership]:
    """The member's newest terms (`member_id` may be an OuterRef), newest end first."""
    return Membership.objects.filter(member_id=member_id).order_by("-ends_on", "-pk")[:RECENT_TERMS]


def coverage_of(*, member: Member, today: datetime.date) -> Coverage:
    """Whether `member` is covered on `today`, until when, or why not."""
    terms = [
        Term(starts_on=s, ends_on=e, paid=p is not None, terminated=t is not None, suspended=x is not None)
        for s, e, p, t, x in recent_terms(member.pk).values_list(
            "starts_on", "ends_on", "paid_at", "terminated_at", "suspended_at"
        )
    ]
    return decide(status=member.status, terms=terms, today=today)


def current_paid_membership(today: datetime.date) -> Q:
    """On Membership: a term that runs on `today`, paid, not terminated, not suspended."""
    return Q(
        starts_on__lte=today,
        ends_on__gte=today,
        terminated_at__isnull=True,
        paid_at__isnull=False,
        suspended_at__isnull=True,
    )


def covered_members(*, today: datetime.date | None = None) -> QuerySet[Member]:
    """The members covered on `today` (by default the firm's local date), by the same rule as `coverage_of`."""
    if today is None:
        today = timezone.localdate()
    current = Membership.objects.filter(current_paid_membership(today), member_id=OuterRef("pk"))
    return Member.objects.filter(Exists(current), status__in=COVERED_STATUSES)

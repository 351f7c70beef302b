"""Celery tasks of the platform-wide coverage index: they call a service, nothing more.

Imported from `MembersConfig.ready` (Celery's autodiscovery reads `tasks.py` only).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="mediation.members.coverage_tasks.rebuild_coverage_index", acks_late=True)
def rebuild_coverage_index() -> dict[str, int]:
    """Each night in each firm (fanned out from beat): its index rows become exactly its covered members."""
    from mediation.members import coverage_sync

    return coverage_sync.rebuild_for_current_tenant()


@shared_task(name="mediation.members.coverage_tasks.sync_member_coverage", acks_late=True)
def sync_member_coverage(member_id: int) -> bool:
    """One member's row again (in its firm's schema), e.g. after a bulk change that sent no signal."""
    from mediation.members import coverage_sync
    from mediation.members.models import Member

    member = Member.objects.filter(pk=member_id).first()
    return coverage_sync.sync_member(member) if member is not None else False


@shared_task(name="mediation.members.coverage_tasks.drop_inactive_firms", acks_late=True)
def drop_inactive_firms() -> dict[str, int]:
    """Each night on the public schema: rows of suspended or closed firms, and rows past their date, go."""
    from tenants import coverage_index

    return {"inactive": coverage_index.drop_inactive_firms(), "expired": coverage_index.drop_expired()}

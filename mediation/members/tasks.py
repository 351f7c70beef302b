"""Celery tasks of the member businesses: they load and call a service, nothing more."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="mediation.members.tasks.send_welcome_pack", acks_late=True, ignore_result=True)
def send_welcome_pack(member_id: int) -> bool:
    """The kit e-mailed to a business whose membership just started (its first payment)."""
    from mediation.members import kit
    from mediation.members.models import Member

    member = Member.objects.filter(pk=member_id).first()
    return member is not None and kit.send_welcome_pack(member=member)


@shared_task(name="mediation.members.tasks.daily_membership_run", acks_late=True)
def daily_membership_run() -> dict[str, int]:
    """Once a day in each firm (fanned out from beat): renewal reminders, renewal due, lapse."""
    from mediation.members import membership

    return membership.daily_membership_run()

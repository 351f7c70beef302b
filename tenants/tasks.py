from __future__ import annotations

from celery import shared_task

from tenants import provisioning, services


@shared_task(name="tenants.tasks.provision_signup")
def provision_signup(signup_id: int) -> str:
    return services.provision(signup_id=signup_id).status


@shared_task(name="tenants.tasks.refill_tenant_pool")
def refill_tenant_pool() -> int:
    """Keep TENANT_POOL_SIZE spare schemas ready; drop the ones that lag the code first."""
    provisioning.drop_stale_pool()
    return provisioning.refill_pool()


@shared_task(name="tenants.tasks.export_firm")
def export_firm(tenant_id: int) -> str:
    from tenants.closure import run_export

    return run_export(tenant_id=tenant_id).export_file


@shared_task(name="tenants.tasks.drop_closed_firms")
def drop_closed_firms() -> list[str]:
    from tenants.closure import drop_closed_firms as drop

    return drop()

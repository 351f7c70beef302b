from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants import provisioning


class Command(BaseCommand):
    help = (
        "Create the template schema if missing, drop spare schemas that lag the code, "
        "and clone the template until TENANT_POOL_SIZE spare schemas are ready. Run after migrate_schemas."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", type=int, default=None, help="spare schemas to keep (default TENANT_POOL_SIZE)")

    def handle(self, *args: Any, size: int | None = None, **options: Any) -> None:
        template = provisioning.ensure_template()
        lagging = provisioning.missing_migrations(template.schema_name)
        if lagging:
            self.stderr.write(f"template {template.schema_name} lags {len(lagging)} migration(s): run migrate_schemas")
            return
        dropped = provisioning.drop_stale_pool()
        created = provisioning.refill_pool(target=size)
        self.stdout.write(f"template {template.schema_name} ready; pool: {dropped} dropped, {created} created")

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = (
        "What `make run` does before serving, in one process: migrate every schema (skipping the up-to-date "
        "ones), prepare the template and the pool of spare schemas, seed the demo firm; prints the logins."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("prepare_dev seeds demo users with a public password: it never runs in production.")
        started = time.monotonic()
        call_command("migrate_schemas", interactive=False, verbosity=0)
        self.stderr.write(f"[prepare_dev] migrations checked ({time.monotonic() - started:.1f} s)")
        call_command("tenant_pool", stdout=self.stderr)
        for host, login in seed_demo():
            self.stdout.write(f"{host:<24} {login.email:<32} {DEMO_PASSWORD}  ({login.role})")
        self.stderr.write(f"[prepare_dev] ready ({time.monotonic() - started:.1f} s)")

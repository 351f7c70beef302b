from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo firm on demo.<PLATFORM_DOMAIN> and its users."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates users with a public password: it never runs in production.")
        for host, login in seed_demo():
            self.stdout.write(f"{host:<24} {login.email:<32} {DEMO_PASSWORD}  ({login.role})")

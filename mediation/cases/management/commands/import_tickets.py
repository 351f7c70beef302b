"""`manage.py import_tickets export.json --schema demo --by admin@cabinet-demo.fr [--apply]`.

Without --apply it is a dry run: it prints what each ticket would become and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from accounts.models import User
from mediation.cases import imports


class Command(BaseCommand):
    help = "Import a Zendesk tickets JSON export as cases (dry run unless --apply)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--schema", required=True, help="the firm's schema")
        parser.add_argument("--by", required=True, help="e-mail of the staff user the import is recorded under")
        parser.add_argument("--apply", action="store_true", help="import (otherwise only check)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            raw = options["file"].read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        with schema_context(options["schema"]):
            user = User.objects.filter(email=options["by"].lower(), is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['by']} in {options['schema']}")
            try:
                plan = imports.plan(raw)
            except imports.ImportFileError as exc:
                raise CommandError(str(exc)) from exc
            for line in plan.tickets:
                detail = "; ".join(line.errors) if line.errors else f"{line.consumer} / {line.business}"
                self.stdout.write(f"{line.ticket_id}\t{line.action}\t{detail}")
            self.stdout.write(
                f"{len(plan.to_create)} to create, {len(plan.skipped)} already imported, "
                f"{len(plan.with_errors)} with errors"
            )
            if options["apply"]:
                result = imports.apply(raw=raw, by=user)
                self.stdout.write(self.style.SUCCESS(f"{len(result.created)} case(s) imported"))

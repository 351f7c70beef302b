"""The member import with BENCH_IMPORT_ROWS (default 10,000) rows: the dry run, the apply, the same file again.

The functions of mediation.members.bulk_import are called directly (no Celery),
in the firm `bench_import` of the bench database; its members are deleted
before each run so that the apply creates every row. Target: check + apply of
10,000 rows under 60 s on two cores.
"""

from __future__ import annotations

import csv
import io
import os
import time

from benchmarks.harness import Record, bench_database

SCHEMA = "bench_import"
HOST = "bench-import.localhost"
HEADER = [
    "Raison sociale",
    "Nom commercial",
    "SIREN",
    "SIRET",
    "Code NAF/APE",
    "Adresse",
    "Code postal",
    "Ville",
    "Sites internet",
    "Secteur",
    "Effectif",
    "ESS",
    "Groupement",
    "Contact nom",
    "Contact prénom",
    "Contact e-mail",
    "Contact rôle",
]


def _siren(n: int) -> str:
    from stdnum import luhn

    base = f"{30_000_000 + n:08d}"
    return base + luhn.calc_check_digit(base)


def _siret(siren: str) -> str:
    from stdnum import luhn

    base = f"{siren}0001"
    return base + luhn.calc_check_digit(base)


def _csv(rows: int) -> bytes:
    sectors = ["Commerce de détail", "E-commerce", "Automobile", "Immobilier", "BTP / artisanat"]
    bands = ["Aucun salarié", "1 à 9 salariés", "10 à 49 salariés"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for n in range(rows):
        siren = _siren(n)
        writer.writerow(
            [
                f"Entreprise importée {n:05d} SARL",
                f"Enseigne {n:05d}",
                siren,
                _siret(siren),
                "47.11D",
                f"{n % 200 + 1} rue de la République",
                f"{69001 + n % 9:05d}",
                "Lyon",
                f"entreprise-{n:05d}.fr",
                sectors[n % len(sectors)],
                bands[n % len(bands)],
                "oui" if n % 10 == 0 else "non",
                "Fédération du commerce" if n % 3 == 0 else "",
                f"Gérant{n:05d}",
                "Camille",
                f"contact{n:05d}@entreprise.fr",
                "Représentant légal",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode()


def _ensure_firm() -> None:
    from django.db import connection, transaction

    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench import")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)


def run() -> list[Record]:
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
    with bench_database():
        from django.core.files.base import ContentFile
        from django_tenants.utils import schema_context

        from accounts.models import User
        from mediation.members import bulk_import
        from mediation.members.models import Group, Member, MemberImport

        _ensure_firm()
        content = _csv(rows)
        timings: dict[str, float] = {}
        with schema_context(SCHEMA):
            user = User.objects.filter(email="bench@import.fr").first() or User.objects.create_user(
                "bench@import.fr", "bench-import-password", role=User.Role.CASE_OFFICER
            )
            Group.objects.get_or_create(name="Fédération du commerce")
            Member.objects.all().delete()  # contacts go with them

            def one_pass(label: str) -> MemberImport:
                member_import = MemberImport.objects.create(
                    file=ContentFile(content, name="bench.csv"),
                    original_name="bench.csv",
                    on_duplicate=bulk_import.UPDATE,
                    created_by=user,
                )
                started = time.perf_counter()
                bulk_import.check(member_import)
                timings[f"{label}_check"] = time.perf_counter() - started
                assert member_import.status == MemberImport.Status.CHECKED, member_import.report.get("message")
                started = time.perf_counter()
                bulk_import.apply(member_import, by=user)
                timings[f"{label}_apply"] = time.perf_counter() - started
                assert member_import.status == MemberImport.Status.DONE
                print(
                    f"   {label}: check {timings[f'{label}_check']:.1f} s, apply {timings[f'{label}_apply']:.1f} s, "
                    f"{member_import.report['created']} created, {member_import.report['unchanged']} unchanged, "
                    f"{len(member_import.report['errors'])} errors",
                    flush=True,
                )
                return member_import

            first = one_pass("first")
            assert first.report["created"] == rows and not first.report["errors"], first.report["errors"][:3]
            again = one_pass("again")
            assert again.report["created"] == 0 and again.report["unchanged"] == rows
            assert Member.objects.count() == rows
    return [
        Record("members.import.rows", rows, "rows"),
        Record("members.import.check", timings["first_check"], "s"),
        Record("members.import.apply", timings["first_apply"], "s"),
        Record("members.import.check_and_apply", timings["first_check"] + timings["first_apply"], "s", baseline=60),
        Record("members.import.same_file_again", timings["again_check"] + timings["again_apply"], "s"),
    ]

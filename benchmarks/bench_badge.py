"""Throughput of a member's live badge (/verifier/<token>/badge.svg) against a static file, same server, same run.

Target (issue 5): the badge serves at least half the requests per second of a
static file served by whitenoise. The firm `bench_badge` (one covered member
with a badge token) is kept in the bench database between runs; its term is
moved to cover today on every run.
"""

from __future__ import annotations

import datetime

from benchmarks.harness import Record, bench_database, gunicorn, load

SCHEMA = "bench_badge"
HOST = "bench-badge.localhost"
STATIC = "/static/css/app.css"
SIREN = "732829320"  # a valid SIREN (Luhn)


def _ensure_firm_with_badge() -> str:
    """The firm, its profile and mediator, a covered member; returns the member's badge token."""
    from django.db import connection, transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from firm.models import FirmProfile, Mediator
    from mediation.members import kit
    from mediation.members.models import Member, Membership
    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench badge")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    with schema_context(SCHEMA):
        FirmProfile.objects.update_or_create(
            pk=FirmProfile.SINGLETON_PK,
            defaults={"legal_name": "Bench Médiation", "website": "https://bench-mediation.example.fr"},
        )
        Mediator.objects.get_or_create(
            email="mediateur@bench-mediation.example.fr",
            defaults={
                "first_name": "Hélène",
                "last_name": "Rousseau",
                "listed_on": datetime.date(2024, 1, 15),
                "term_ends_on": datetime.date(2030, 1, 14),
            },
        )
        member, _ = Member.objects.get_or_create(
            siren=SIREN, defaults={"legal_name": "Boulangerie Bench SARL", "status": Member.Status.ACTIVE}
        )
        today = timezone.localdate()
        Membership.objects.filter(member=member).delete()
        Membership.objects.create(
            member=member,
            starts_on=today - datetime.timedelta(days=30),
            ends_on=today + datetime.timedelta(days=335),
            paid_at=timezone.now(),
        )
        return kit.badge_token(member=member).token


def run() -> list[Record]:
    with bench_database():
        token = _ensure_firm_with_badge()
        badge = f"/verifier/{token}/badge.svg"
        page = f"/verifier/{token}/"
        # Persistent database connections, as production runs (CONN_MAX_AGE=60); DATABASE_URL is the bench database's.
        with gunicorn(env={"CONN_MAX_AGE": "60"}) as port:
            static = load(port, STATIC, host=HOST)
            svg = load(port, badge, host=HOST)
            html = load(port, page, host=HOST)
    for name, result in (("static", static), ("badge", svg), ("page", html)):
        if result.errors or not result.requests:
            raise RuntimeError(f"{name}: {result.errors} errors out of {result.requests + result.errors} requests")
    return [
        Record("badge.static_file.throughput", static.rps, "req/s"),
        Record("badge.svg.throughput", svg.rps, "req/s", baseline=static.rps),
        Record("badge.page.throughput", html.rps, "req/s", baseline=static.rps),
        Record("badge.static_file.latency_p50", static.percentile(50), "ms"),
        Record("badge.svg.latency_p50", svg.percentile(50), "ms", baseline=static.percentile(50)),
        Record("badge.svg.latency_p95", svg.percentile(95), "ms", baseline=static.percentile(95)),
    ]

"""The firm's public site on a phone: time to render each public page, and what a first visit downloads.

The firm `bench_site` (kept in the bench database) has every R614-1 item:
profile, a mediator, sectors, networks, texts, the four legal pages and ten
news posts. Pages are timed in-process with Django's test client (50 requests
each after a warm-up, DEBUG off as in production); the weight is the HTML of
the home plus every stylesheet it links, gzip-compressed (what a phone
downloads on a first visit; the site loads no image, font or script besides
htmx on staff pages).
"""

from __future__ import annotations

import datetime
import gzip
import re
import statistics
import time

from benchmarks.harness import Record, bench_database

SCHEMA = "bench_site"
HOST = "bench-site.localhost"
PAGES = {
    "home": "/",
    "mediator": "/le-mediateur/",
    "how_to_file": "/saisir-le-mediateur/",
    "lookup": "/verifier-un-professionnel/?q=boulangerie",
    "legal_notice": "/mentions-legales/",
    "news": "/actualites/",
}


def _ensure_firm() -> None:
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from accounts.models import User
    from firm import services, site_services
    from firm.models import Mediator, NewsPost, SitePage
    from tenants import provisioning
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    if not Tenant.objects.filter(schema_name=SCHEMA).exists():
        provisioning.ensure_template()
        with transaction.atomic():
            tenant, _ = provisioning.create_firm_schema(schema_name=SCHEMA, name="Bench site public")
            Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    with schema_context(SCHEMA):
        if SitePage.objects.exists():
            return
        admin = User.objects.create_user("admin@bench-site.fr", "bench-site-password-2026", role=User.Role.ADMIN)
        services.update_firm_profile(
            by=admin,
            legal_name="Bench Médiation SAS",
            address_line1="10 rue de la République",
            postcode="69002",
            city="Lyon",
            contact_email="contact@bench-site.fr",
            contact_phone="04 00 00 00 00",
        )
        Mediator.objects.create(
            first_name="Hélène",
            last_name="Rousseau",
            email="helene@bench-site.fr",
            listed_on=datetime.date(2025, 1, 15),
            term_ends_on=datetime.date(2030, 1, 14),
        )
        site_services.save_site_settings(
            by=admin,
            presentation="Le médiateur de la consommation des commerces de proximité. " * 3,
            disputes_handled="- livraison\n- garantie\n- facturation",
            no_network=True,
        )
        for name in ("Commerce de détail", "Services à la personne", "Artisanat"):
            site_services.save_coverage(by=admin, kind="sector", name=name)
        for kind in ("faq", "legal_notice", "privacy", "accessibility"):
            page = site_services.save_page_draft(
                by=admin, kind=kind, language="fr", title=kind, body="## Section\n\n" + "Texte de la page. " * 80
            )
            site_services.publish(by=admin, item=page)
        for n in range(10):
            post = site_services.save_news_draft(by=admin, title=f"Actualité {n}", body="Texte. " * 60)
            site_services.publish(by=admin, item=post)
        assert NewsPost.objects.count() == 10


def _percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run() -> list[Record]:
    with bench_database():
        from django.conf import settings
        from django.contrib.staticfiles import finders
        from django.test import Client
        from django.test.utils import override_settings

        _ensure_firm()
        client = Client(HTTP_HOST=HOST)
        records: list[Record] = []
        with override_settings(DEBUG=False):
            for name, url in PAGES.items():
                assert client.get(url).status_code == 200, url  # warm-up
                times = []
                for _ in range(50):
                    started = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                records += [
                    Record(f"public_site.{name}.p50", statistics.median(times), "ms"),
                    Record(f"public_site.{name}.p95", _percentile(times, 95), "ms"),
                ]
            home = client.get("/").content
            css = 0
            for href in re.findall(rb'<link rel="stylesheet" href="([^"]+)"', home):
                path = href.decode()
                if path.startswith(settings.STATIC_URL):
                    found = finders.find(path.removeprefix(settings.STATIC_URL))
                    assert found, path
                    with open(found, "rb") as handle:
                        css += len(gzip.compress(handle.read()))
                else:  # the firm's theme, rendered per firm
                    css += len(gzip.compress(client.get(path).content))
        records += [
            Record("public_site.home_html_gzip", len(gzip.compress(home)) / 1024, "KiB"),
            Record("public_site.first_visit_gzip", (len(gzip.compress(home)) + css) / 1024, "KiB"),
        ]
    return records

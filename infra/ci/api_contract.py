"""The API contract run of `.ci/run`: schemathesis against a live server's `/api/schema/`.

On a database of its own (`<DATABASE_URL's name>_contract`, created afresh): migrate, seed the demo firm,
give its admin an API token with every scope, serve the app with gunicorn, then let schemathesis call every
operation of the schema with generated data, authenticated by that token. The run fails on any 5xx and on any
response that the schema does not describe (status, body, content type).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mediation REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python infra/ci/api_contract.py [--max-examples N] [--seed S]

Rate limits are off for the run (it sends thousands of calls with one token); they have their own tests.

Path parameters are drawn, most of the time, from the ids of the seeded firm (a schemathesis config with one
dictionary per kind of object): with only random ids, every call on `/cases/{key}/…` or `/invoices/{id}/…`
would be a 404 and the run would never reach the code behind them. The other draws stay random (404s).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import gunicorn  # noqa: E402

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
HOST = "demo.localhost"


def fresh_database(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_contract"
    admin_url = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path="/" + name).geturl()


# Which ids each path parameter of which paths takes (a regex on the path → {parameter: kind of object});
# the regexes do not overlap.
TEST_DATA: list[tuple[str, dict[str, str]]] = [
    (r"^/api/v1/cases/\{key\}/", {"key": "cases"}),
    (r"^/api/v1/invoices/\{id\}/", {"id": "invoices"}),
    (r"^/api/v1/members/\{member_id\}/contacts/\{id\}/", {"member_id": "members", "id": "contacts"}),
    (r"^/api/v1/members/\{member_id\}/(?!contacts/\{id\}/)", {"member_id": "members"}),
    (r"^/api/v1/members/\{id\}/", {"id": "members"}),
    (r"^/api/v1/memberships/\{id\}/", {"id": "memberships"}),
    (r"^/api/v1/products/\{id\}/", {"id": "products"}),
    (r"^/api/v1/reports/\{year\}/", {"year": "report_years"}),
    (r"^/api/v1/webhooks/deliveries/\{id\}/", {"id": "deliveries"}),
    (r"^/api/v1/webhooks/endpoints/\{id\}/", {"id": "endpoints"}),
]
# How often a bound path parameter takes a real id (the rest of the time, a generated value).
REAL_ID_PROBABILITY = 0.8

IDS_SCRIPT = """
import json
import uuid
from django_tenants.utils import schema_context
from integrations import services as webhooks, signing
from billing.models import Invoice, Product
from integrations.models import WebhookDelivery, WebhookEndpoint
from mediation.cases.models import Case
from mediation.members.models import Contact, Member, Membership
from mediation.reports import selectors as reports
with schema_context('demo'):
    # The demo has no webhook endpoint: two, each with a failed delivery, for /webhooks/…/{id}/ to reach them.
    for name in ('crm', 'helpdesk'):
        endpoint = WebhookEndpoint.objects.create(
            url=f'https://{name}.example.com/hooks', events=['case.created'], secret=signing.generate_secret()
        )
        event_id = uuid.uuid4()
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event_id, event_type='ping', status='failed', attempts=1,
            payload=webhooks.envelope(event_id=event_id, event_type='ping', data={'endpoint_id': endpoint.pk}),
        )
    cases = Case.objects.exclude(status='draft', source='online')
    ids = {
        'cases': [str(pk) for pk in cases.values_list('pk', flat=True)]
        + [ref for ref in cases.values_list('reference', flat=True) if ref],
        'invoices': list(Invoice.objects.values_list('pk', flat=True)),
        'members': list(Member.objects.values_list('pk', flat=True)),
        'contacts': list(Contact.objects.values_list('pk', flat=True)),
        'memberships': list(Membership.objects.values_list('pk', flat=True)),
        'products': list(Product.objects.values_list('pk', flat=True)),
        'report_years': list(reports.year_range()),
        'deliveries': list(WebhookDelivery.objects.values_list('pk', flat=True)),
        'endpoints': list(WebhookEndpoint.objects.values_list('pk', flat=True)),
    }
    print(json.dumps(ids))
"""


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string, number or list of them is valid TOML


def test_data_config(ids: dict[str, list[object]]) -> str:
    """The schemathesis config binding path parameters to the seeded firm's ids."""
    lines = []
    for kind, values in sorted(ids.items()):
        if values:
            lines += [f"[dictionaries.{kind}]", f"values = {_toml(values)}", ""]
    for path_regex, parameters in TEST_DATA:
        bound = {name: kind for name, kind in parameters.items() if ids.get(kind)}
        if not bound:
            continue
        lines += ["[[operations]]", f"include-path-regex = {_toml(path_regex)}", "[operations.parameters]"]
        for name, kind in bound.items():
            lines.append(f'"path.{name}" = {{ dictionary = {_toml(kind)}, probability = {REAL_ID_PROBABILITY} }}')
        lines.append("")
    return "\n".join(lines)


def prepare(env: dict[str, str]) -> str:
    """Migrates and seeds the contract database; returns the clear key of the demo admin's token."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate_schemas", "--shared", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    script = (
        "from django_tenants.utils import schema_context\n"
        "from accounts import token_services\n"
        "from accounts.models import ApiToken, User\n"
        "with schema_context('demo'):\n"
        "    admin = User.objects.get(email='admin@cabinet-demo.fr')\n"
        "    _token, key = token_services.create_token(user=admin, name='contract', scopes=ApiToken.Scope.values,"
        " expires_at=None)\n"
        "    print(key)\n"
    )
    result = subprocess.run(
        [*manage, "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1]


def seeded_ids(env: dict[str, str]) -> dict[str, list[object]]:
    """Adds what the demo lacks (webhook endpoints and deliveries), then lists the ids of each kind of object."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", IDS_SCRIPT],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("CONTRACT_MAX_EXAMPLES", "15")))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report-dir", default=str(ROOT / ".local" / "api-contract"))
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": fresh_database(os.environ["DATABASE_URL"]),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "RATE_LIMITS_ENABLED": "false",
        "DEBUG": "false",
    }
    key = prepare(env)
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    config_path = report_dir / "schemathesis.toml"
    config_path.write_text(test_data_config(seeded_ids(env)))
    with gunicorn(workers=2, threads=4, env=env) as port:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/schema/?format=json", headers={"Host": HOST})
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (our own loopback server)
            schema = json.load(response)
        schema_path = report_dir / "schema.json"
        schema_path.write_text(json.dumps(schema))
        print(f"== schemathesis: {sum(len(ops) for ops in schema['paths'].values())} operations", flush=True)
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config_path),
            "run", str(schema_path),
            "--url", f"http://127.0.0.1:{port}",
            "-H", f"Host: {HOST}",
            "-H", f"Authorization: Bearer {key}",
            "--checks", CHECKS,
            "--max-examples", str(args.max_examples),
            "--seed", str(args.seed),
            "--phases", "examples,coverage,fuzzing",
            "--request-timeout", "60",
            "--workers", "2",
            "--report", "junit",
            "--report-dir", str(report_dir),
            "--output-truncate", "true",
        ]  # fmt: skip
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())

"""Test fixtures: a public tenant and two firms, created once per session.

Tenants are created by real migrations in django_db_setup (idempotent, so
--reuse-db works). Each test starts on the public schema; `tenant_a` and
`tenant_b` switch the connection to a firm.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.storage import storages
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.middleware import _HOST_CACHE
from tenants.models import Domain, Tenant

PUBLIC_HOST = "localhost"
TENANTS = {
    "alpha": ("Cabinet Alpha Médiation", "alpha.localhost"),
    "beta": ("Beta Médiation Conseil", "beta.localhost"),
}
PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # The real hasher costs ~0.3 s per password: tests don't need its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _ensure_tenant(schema_name: str, name: str, domain: str) -> Tenant:
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    if tenant is None:
        tenant = Tenant(schema_name=schema_name, name=name)
        tenant.save(verbosity=0)
    else:
        # --reuse-db: bring an existing schema up to the code's migrations.
        tenant.create_schema(check_if_exists=True, verbosity=0)
        if schema_name != get_public_schema_name():
            call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)
    Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock(), schema_context(get_public_schema_name()):
        _ensure_tenant(get_public_schema_name(), "Plateforme", PUBLIC_HOST)
        for schema, (name, domain) in TENANTS.items():
            _ensure_tenant(schema, name, domain)


@pytest.fixture(autouse=True)
def _public_schema_and_clean_cache() -> Iterator[None]:
    # The schema survives a test's rollback; start every test on public.
    connection.set_schema_to_public()
    cache.clear()
    _HOST_CACHE.clear()
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True, scope="session")
def _no_host_cache() -> None:
    # Tests change tenants with queryset updates (no signal) between requests: resolve hosts afresh
    # (tests/tenants/test_host_cache.py turns it on where it is the subject).
    from django.conf import settings

    settings.TENANT_HOST_CACHE_SECONDS = 0


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return "transactional_db" in request.fixturenames or "live_server" in request.fixturenames


@pytest.fixture(autouse=True)
def _keep_public_schema_on_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """A transactional test's teardown flushes the current schema: never let it be public.

    Set up after pytest-django's database helper, so torn down before it: flush
    every firm but the last here, and leave the connection on the last one for
    Django's own flush. The public schema (tenants, domains) is never flushed.
    """
    if not _is_transactional(request):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    connection.set_schema_to_public()
    firms = list(Tenant.objects.firms().order_by("schema_name"))
    for firm in firms[:-1]:
        connection.set_tenant(firm)
        call_command("flush", interactive=False, verbosity=0)
    connection.set_tenant(firms[-1])


def _tenant(schema: str) -> Tenant:
    connection.set_schema_to_public()
    tenant = Tenant.objects.get(schema_name=schema)
    connection.set_tenant(tenant)
    return tenant


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return _tenant("alpha")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return _tenant("beta")


@pytest.fixture
def use_tenant() -> Any:
    """Switch the connection to a firm (after a request, which leaves it on the last host)."""
    return _tenant


@pytest.fixture
def client_a() -> Client:
    return Client(HTTP_HOST=TENANTS["alpha"][1])


@pytest.fixture
def client_b() -> Client:
    return Client(HTTP_HOST=TENANTS["beta"][1])


@pytest.fixture
def public_client() -> Client:
    return Client(HTTP_HOST=PUBLIC_HOST)


def database_url_for_current_test_db() -> str:
    """A DATABASE_URL that points another process at this session's test database."""
    from urllib.parse import quote

    settings_dict = connection.settings_dict
    host = quote(settings_dict["HOST"] or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{settings_dict['USER']}{password}@{host}{port}/{settings_dict['NAME']}"


@pytest.fixture
def celery_worker_extra_env() -> dict[str, str]:
    """Extra environment for `celery_worker_process` (none here; a module may override this fixture)."""
    return {}


@pytest.fixture
def celery_worker_process(
    django_db_setup: Any, django_db_blocker: Any, celery_worker_extra_env: dict[str, str]
) -> Iterator[Any]:
    """A real `celery worker` process on the configured broker and the test database, for one test.

    Not kept for the session: a worker left running would take the tasks that
    later tests queue (their e-mails after commit) and write to the database
    while those tests tear down (a flush deadlocking with it). Tasks queued
    earlier and never run are purged first, for the same reason. A test module
    overriding `celery_worker_extra_env` gives the worker more variables (the
    browser journeys: a shared e-mail folder and MEDIA_ROOT).
    """
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from config.celery import app

    with django_db_blocker.unblock():
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_current_test_db(),
            "TESTING": "1",
            **celery_worker_extra_env,
        }
    app.control.purge()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-l",
            "warning",
            "-n",
            "test@%h",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start (exit code {proc.poll()})")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def tenant_template(django_db_setup: Any, django_db_blocker: Any) -> Tenant:
    """The migrated template schema new firms are cloned from (committed once per session)."""
    from tenants.provisioning import ensure_template

    with django_db_blocker.unblock():
        return ensure_template()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run tasks in-process: for tests that follow a flow through its tasks, not the worker itself."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


def _forget_media_root() -> None:
    # django-tenants' storage caches its root and its setting_changed handler
    # passes the wrong argument, so nothing clears it: drop the cached values.
    storage = storages["default"]
    for name in ("relative_media_root", "relative_media_url", "base_url"):
        storage.__dict__.pop(name, None)


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Uploads and exports go to a temporary MEDIA_ROOT for this test only."""
    settings.MEDIA_ROOT = str(tmp_path)
    _forget_media_root()
    yield tmp_path
    _forget_media_root()

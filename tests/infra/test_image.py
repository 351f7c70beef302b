"""infra/docker and infra/compose.yaml, checked without a Docker engine.

The Dockerfile is parsed (stages, user, the lock, secrets, health check); the entrypoint is run with
stub commands on PATH to see what each role starts; compose.yaml is parsed for its services.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.conftest import ROOT, load_module

DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
ENTRYPOINT = ROOT / "infra" / "docker" / "entrypoint.sh"
COMPOSE = ROOT / "infra" / "compose.yaml"
build_check = load_module("infra/docker/build_check.py", "infra_docker_build_check")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in (s.split(None, 1) for s in logical)]


def stages(parsed: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in parsed:
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


@pytest.fixture(scope="module")
def parsed() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def test_multi_stage_and_runtime_copies_only_the_build_results(parsed: list[tuple[str, str]]) -> None:
    all_stages = stages(parsed)
    assert len(all_stages) >= 2
    names = [re.search(r"\bAS\s+(\S+)", s[0][1], re.IGNORECASE) for s in all_stages]
    assert all(names), "every stage is named"
    runtime = all_stages[-1]
    copies = [args for ins, args in runtime if ins == "COPY"]
    assert copies and all(args.startswith("--from=") for args in copies), "the runtime stage copies from the build"
    # No build tooling in the final image.
    runtime_runs = " ".join(args for ins, args in runtime if ins == "RUN")
    assert "uv " not in runtime_runs and "pip install" not in runtime_runs


def test_runs_as_a_numeric_non_root_user(parsed: list[tuple[str, str]]) -> None:
    runtime = stages(parsed)[-1]
    users = [args for ins, args in runtime if ins == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, "numeric, so Kubernetes' runAsNonRoot can check it"
    # Kubernetes manifests run as the same user.
    assert f"runAsUser: {user}" in (ROOT / "infra" / "k8s" / "base" / "web-deployment.yaml").read_text()


def test_dependencies_come_from_the_lock_without_dev_or_embedded(parsed: list[tuple[str, str]]) -> None:
    runs = [args for ins, args in parsed if ins == "RUN"]
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs
    for command in syncs:
        assert set(shlex.split(command)) >= build_check.UV_SYNC_FLAGS, command
    # The uv of the Makefile.
    makefile_uv = re.search(r"UV_VERSION := (\S+)", (ROOT / "Makefile").read_text())
    assert makefile_uv and f'"uv=={makefile_uv.group(1)}"' in DOCKERFILE.read_text()


def test_static_files_are_collected_for_production(parsed: list[tuple[str, str]]) -> None:
    runs = " ".join(args for ins, args in parsed if ins == "RUN")
    assert "collectstatic" in runs and "DJANGO_ENV=production" in runs


def test_no_secret_in_the_image(parsed: list[tuple[str, str]]) -> None:
    secretish = re.compile(r"(SECRET|PASSWORD|TOKEN|API_KEY|DSN|DATABASE_URL|BROKER_URL)", re.IGNORECASE)
    for ins, args in parsed:
        if ins in {"ENV", "ARG", "LABEL"}:
            assert not secretish.search(args), f"{ins} {args}"
    # Values needed to load the settings during collectstatic are placeholders of that RUN only.
    for value in re.findall(r"(?:SECRET_KEY|DATABASE_URL|CELERY_BROKER_URL)=(\S+)", DOCKERFILE.read_text()):
        assert "placeholder" in value, value
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv", ".local", ".git"} <= ignored


def test_health_check_declared(parsed: list[tuple[str, str]]) -> None:
    health = [args for ins, args in parsed if ins == "HEALTHCHECK"]
    assert health and "probe.py" in health[0] and "web" in health[0]
    assert "workers=0" in (ROOT / "infra" / "docker" / "probe.py").read_text()


@pytest.fixture
def stub_path(tmp_path: Path) -> Path:
    """gunicorn, celery and python stubs that print the command line they got."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("gunicorn", "celery", "python"):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        stub.chmod(0o755)
    return bin_dir


def _entrypoint(stub_path: Path, *args: str, **env: str) -> list[str]:
    out = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *args],
        env={"PATH": f"{stub_path}:/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(stub_path.parent / "prom"), **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return out.stdout.splitlines()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "web",
            [
                "gunicorn config.wsgi:application --config infra/docker/gunicorn.conf.py --bind 0.0.0.0:8000 "
                "--workers 3 --threads 2 --worker-class gthread"
            ],
        ),
        ("worker", ["celery -A config worker --loglevel INFO --concurrency 2 --hostname worker@%h"]),
        ("beat", ["celery -A config beat --loglevel INFO --pidfile  --schedule /tmp/celerybeat-schedule"]),
        (
            "migrate",
            ["python manage.py migrate_schemas --executor=multiprocessing --noinput", "python manage.py tenant_pool"],
        ),
        ("demo", ["python manage.py prepare_dev"]),
    ],
)
def test_entrypoint_roles(stub_path: Path, role: str, expected: list[str]) -> None:
    lines = _entrypoint(stub_path, role)
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line


def test_entrypoint_web_reads_its_sizing_from_the_environment(stub_path: Path) -> None:
    (line,) = _entrypoint(stub_path, "web", PORT="9000", WEB_CONCURRENCY="5", GUNICORN_THREADS="4")
    assert "--bind 0.0.0.0:9000 --workers 5 --threads 4" in line
    assert "--worker-tmp-dir /dev/shm" in line, "the root filesystem is read-only"


def test_entrypoint_runs_any_other_command(stub_path: Path) -> None:
    assert _entrypoint(stub_path, "echo", "hello") == ["hello"]


def test_probe_worker_name_matches_the_worker_hostname() -> None:
    probe = (ROOT / "infra" / "docker" / "probe.py").read_text()
    assert 'f"worker@{socket.gethostname()}"' in probe
    assert '--hostname "worker@%h"' in ENTRYPOINT.read_text()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_services_share_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"web", "worker", "beat", "migrate", "postgres", "redis", "mailpit"} <= set(services)
    app = {name: services[name] for name in ("web", "worker", "beat", "migrate")}
    assert len({s["image"] for s in app.values()}) == 1
    assert all(s["build"]["dockerfile"] == "infra/docker/Dockerfile" for s in app.values())
    assert (COMPOSE.parent / app["web"]["build"]["context"] / app["web"]["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert {name: s["command"] for name, s in app.items()} == {
        "web": ["web"],
        "worker": ["worker"],
        "beat": ["beat"],
        "migrate": ["demo"],
    }


def test_compose_order_and_wiring(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("web", "worker", "beat"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
    assert "8000:8000" in services["web"]["ports"]
    env = services["web"]["environment"]
    assert env["PLATFORM_DOMAIN"] == "localhost"
    assert env["DATABASE_URL"].split("@", 1)[1].startswith("postgres:5432/")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["EMAIL_HOST"] == "mailpit"
    # The demo's seed refuses production: compose is a development stack.
    assert env["DJANGO_ENV"] == "development"
    assert services["worker"]["healthcheck"]["test"][-1] == "worker"
    assert services["beat"]["healthcheck"]["test"][-1] == "beat"


def test_entrypoint_is_executable() -> None:
    assert os.access(ENTRYPOINT, os.X_OK)
    subprocess.run(["/bin/sh", "-n", str(ENTRYPOINT)], check=True)


def test_entrypoint_empties_the_metrics_folder_of_web_and_worker(stub_path: Path) -> None:
    folder = stub_path.parent / "prom"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale")

    _entrypoint(stub_path, "worker")

    assert folder.is_dir() and not any(folder.iterdir()), "a previous run's metrics would be summed in"

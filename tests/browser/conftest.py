"""Browser tests: Playwright drives Debian's Chromium against Django's live server.

- Chromium is Debian's (`apt-get install -y chromium`; Playwright cannot download its own here):
  `CHROMIUM_PATH`, else /usr/lib/chromium/chromium, else /usr/bin/chromium. Without one every test of
  this folder is skipped, except when CI=true, where each of them errors: CI must run them.
- Playwright's sync API keeps an asyncio loop running in the test thread while it is started, and Django
  then refuses ORM calls (SynchronousOnlyOperation) unless DJANGO_ALLOW_ASYNC_UNSAFE is set. So Playwright
  lives for this package only (package-scoped fixtures overriding pytest-playwright's session ones) and
  the variable is set only meanwhile: the tests that run after these keep Django's guard.
- `live_server` makes each test transactional; the flush guard of tests/conftest.py keeps the public
  schema (tenants, domains) and flushes the firms' schemas after each test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, Playwright, sync_playwright

from tests.conftest import PUBLIC_HOST, TENANTS

BROWSER_TESTS = Path(__file__).resolve().parent
# Debian's wrapper script /usr/bin/chromium prints a harmless shell warning: the binary itself first.
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def chromium_executable() -> str | None:
    """The Chromium binary to drive: $CHROMIUM_PATH when set, else Debian's; None when there is none."""
    configured = os.environ.get("CHROMIUM_PATH")
    for candidate in (configured,) if configured else CHROMIUM_CANDIDATES:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _missing_reason() -> str:
    where = os.environ.get("CHROMIUM_PATH") or " or ".join(CHROMIUM_CANDIDATES)
    return f"no Chromium at {where}: install Debian's with `apt-get install -y chromium`"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = chromium_executable() is None
    for item in items:
        if BROWSER_TESTS not in item.path.parents:
            continue
        item.add_marker(pytest.mark.browser)
        if missing and not _in_ci():
            item.add_marker(pytest.mark.skip(reason=_missing_reason()))


# --- Playwright, for this package only (see the docstring) ------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_executable()
    if path is None:
        # Only reached with CI=true (the tests are skipped at collection otherwise): an error, not a skip.
        pytest.fail(f"CI=true and {_missing_reason()}", pytrace=False)
    return {**browser_type_launch_args, "executable_path": path}


@pytest.fixture(scope="package")
def _django_async_unsafe_allowed() -> Iterator[None]:
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    yield
    if previous is None:
        os.environ.pop(ASYNC_UNSAFE, None)
    else:
        os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture(scope="package")
def playwright(_django_async_unsafe_allowed: None, _pw_api_request_contexts: Any) -> Iterator[Playwright]:
    pw = sync_playwright().start()
    if _pw_api_request_contexts:  # --tracing: pytest-playwright records API requests too
        _pw_api_request_contexts.instrument(pw)
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright) -> BrowserType:
    return playwright.chromium


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args(pytestconfig: pytest.Config, playwright: Playwright, device: str | None) -> dict[str, Any]:
    """A French visitor (the sites' first language; Chromium's own default would be en-US)."""
    args: dict[str, Any] = {"locale": "fr-FR", "timezone_id": "Europe/Paris"}
    if device:
        args.update(playwright.devices[device])
    return args


# --- The live server's hosts ----------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One host of the live server: a firm's (alpha.localhost) or the platform's (localhost).

    Chromium resolves every *.localhost name to the loopback address itself, and ALLOWED_HOSTS
    accepts `.localhost` (config/settings.py), so each tenant is reached by its own name.
    """

    host: str
    port: int

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"


def _port(live_server: Any) -> int:
    port = urlsplit(live_server.url).port
    assert port is not None
    return port


@pytest.fixture
def firm_site(live_server: Any, tenant_a: Any) -> Site:
    """The live server as firm A's host; the test's connection is on firm A's schema."""
    return Site(TENANTS["alpha"][1], _port(live_server))


@pytest.fixture
def platform_site(live_server: Any) -> Site:
    return Site(PUBLIC_HOST, _port(live_server))


@pytest.fixture
def log_in(context: BrowserContext, firm_site: Site) -> Callable[[Any], None]:
    """Log a firm's user in for this browser context: Django's own session, its cookie for the firm's host."""

    def _log_in(user: Any) -> None:
        client = Client(HTTP_HOST=firm_site.host)
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": firm_site.url(), "httpOnly": True}]
        )

    return _log_in


def open_page(page: Page, url: str) -> None:
    """Go to `url` and require a 200: an error page must not pass for the page meant."""
    response = page.goto(url)
    assert response is not None, f"no response for {url}"
    assert response.status == 200, f"{url} answered {response.status}"


# --- Content-Security-Policy ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_csp_violation(context: BrowserContext) -> Iterator[None]:
    """Every browser test fails if Chromium refused something under the pages' Content-Security-Policy.

    The policy (config/settings.py CONTENT_SECURITY_POLICY) allows no inline script and no frame; a page
    that needed one would break silently in a real browser. Chromium reports each refusal on the console.
    """
    refused: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)
    yield
    assert not refused, "\n".join(refused)

"""Shared pieces of the end-to-end journeys (tests/browser/test_journey_*.py).

Each journey runs against the live server with a real Celery worker process (`celery_worker_process`):
whatever the product does in tasks (letters, PDFs, invoices, the renewal run) happens there. Both
processes write their e-mails into one folder (`JourneyMailBackend`, one .eml file per message) that the
test reads as the users' mailboxes; both use the same MEDIA_ROOT and the live server's port in links.
Screenshots of the key steps go to docs/screenshots/, where the role guides (docs/guides/) show them.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from typing import Any

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, open_page
from tests.conftest import PASSWORD, TENANTS

MAIL_DIR_ENV = "JOURNEY_MAIL_DIR"
MAIL_BACKEND = "tests.browser.journey_helpers.JourneyMailBackend"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
OPERATOR_DOMAIN = "@plateforme.example"  # platform operators created by a journey
WAIT_SECONDS = 90  # the worker renders PDFs (WeasyPrint): slow on 2 shared cores


class JourneyMailBackend(BaseEmailBackend):
    """Writes each message as one .eml file in $JOURNEY_MAIL_DIR: readable from any process."""

    def send_messages(self, email_messages: Any) -> int:
        folder = Path(os.environ[MAIL_DIR_ENV])
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
            (folder / f".{name}").write_bytes(message.message().as_bytes(linesep="\n"))
            (folder / f".{name}").rename(folder / name)  # whole files only, for the reader
            sent += 1
        return sent


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str
    attachments: dict[str, bytes]
    raw: ParsedMessage


def _parse(path: Path) -> Mail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, ParsedMessage)
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = body_part.get_content() if body_part is not None else ""
    attachments = {}
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        attachments[part.get_filename() or "sans-nom"] = payload if isinstance(payload, bytes) else b""
    recipients = [address.strip() for address in str(message.get("To", "")).split(",") if address.strip()]
    return Mail(to=recipients, subject=str(message.get("Subject", "")), body=body, attachments=attachments, raw=message)


class Mailbox:
    """The messages both processes sent during the test, oldest first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def all(self) -> list[Mail]:
        return [_parse(path) for path in sorted(self.folder.glob("*.eml"))]

    def wait_for(
        self, *, to: str, subject: str = "", body: str = "", after: int = 0, timeout: float = WAIT_SECONDS
    ) -> Mail:
        """The first message to `to` whose subject and body contain `subject` and `body` (after the `after`th)."""
        deadline = time.monotonic() + timeout
        while True:
            for mail in self.all()[after:]:
                if (
                    any(to.lower() in address.lower() for address in mail.to)
                    and subject.lower() in mail.subject.lower()
                    and body in mail.body
                ):
                    return mail
            if time.monotonic() > deadline:
                seen = [(m.to, m.subject) for m in self.all()]
                raise AssertionError(f"no e-mail to {to} about {subject!r} within {timeout} s; sent: {seen}")
            time.sleep(0.3)

    def count(self) -> int:
        return len(list(self.folder.glob("*.eml")))


def code_in(mail: Mail) -> str:
    found = re.search(r"\b(\d{6})\b", mail.body)
    assert found is not None, mail.body
    return found.group(1)


def link_in(mail: Mail, path_part: str) -> str:
    found = re.search(r"https?://[^\s<>\"']*" + re.escape(path_part) + r"[^\s<>\"']*", mail.body)
    assert found is not None, f"no link with {path_part} in:\n{mail.body}"
    return found.group(0)


# --- Fixtures: the shared mail folder and media root, for the live server and the worker -----------


@pytest.fixture(name="journey_mail_dir")
def journey_mail_dir_fixture(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("mail")
    monkeypatch.setenv(MAIL_DIR_ENV, str(folder))
    return folder


@pytest.fixture(name="mailbox")
def mailbox_fixture(journey_mail_dir: Path, settings: Any) -> Mailbox:
    settings.EMAIL_BACKEND = MAIL_BACKEND
    return Mailbox(journey_mail_dir)


@pytest.fixture(name="celery_worker_extra_env")
def celery_worker_extra_env_fixture(
    journey_mail_dir: Path, media_root: Path, live_server: Any, settings: Any
) -> dict[str, str]:
    """The worker writes its e-mails where the test reads them, its files where the live server serves them,
    and its links point at the live server's port."""
    port = str(live_server.url.rsplit(":", 1)[1])
    settings.SITE_PORT = port
    return {
        "EMAIL_BACKEND": MAIL_BACKEND,
        MAIL_DIR_ENV: str(journey_mail_dir),
        "MEDIA_ROOT": str(media_root),
        "SITE_PORT": port,
        "SITE_SCHEME": "http",
    }


@pytest.fixture(name="journey_public_rows_restored")
def journey_public_rows_restored_fixture(firm_site: Site) -> Iterator[None]:
    """What a journey commits in the public schema is undone after the worker stopped.

    The flush after a live-server test spares the public schema (tenants, domains): the platform-wide
    coverage index (`CoveredBusiness`, synced when a membership is paid or renewed), the firm's
    connected Stripe account and the operator's account (e-mail @OPERATOR_DOMAIN) would otherwise
    outlive the test.
    """
    yield
    from django.db import connection
    from django_tenants.utils import get_public_schema_name, schema_context

    from accounts.models import User
    from tenants.models import CoveredBusiness, Tenant

    schema = connection.schema_name
    with schema_context(get_public_schema_name()):
        # A raw delete: the ORM's cascade would look for the firms' tables (member portal links) in public.
        operators = User.objects.filter(email__endswith=OPERATOR_DOMAIN)
        operators._raw_delete(operators.db)
        CoveredBusiness.objects.filter(tenant__schema_name__in=TENANTS).delete()
        Tenant.objects.filter(schema_name__in=TENANTS).update(stripe_account_id=None)
    if schema != get_public_schema_name():
        connection.set_tenant(Tenant.objects.get(schema_name=schema))


@pytest.fixture(name="journey")
def journey_fixture(
    mailbox: Mailbox, media_root: Path, firm_site: Site, journey_public_rows_restored: None, celery_worker_process: Any
) -> Iterator[Mailbox]:
    """A journey's world: the live server on firm A's host, a real worker, the shared mailbox.

    `firm_site` (the live server) is set up before the worker, so the worker stops before the
    transactional flush of the firms' schemas (and the public rows' clean-up) at teardown.
    """
    yield mailbox


# --- Browser helpers ------------------------------------------------------------------------------


def new_page(browser: Browser, browser_context_args: dict[str, Any], viewport: dict[str, int]) -> Page:
    context = browser.new_context(
        **{**browser_context_args, "viewport": viewport, "accept_downloads": True},
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
        device_scale_factor=1,
    )
    context.set_default_timeout(20_000)
    return context.new_page()


def shot(page: Page, journey: str, number: int, step: str, *, full_page: bool = False) -> Path:
    """Saves the page as docs/screenshots/<journey>-<nn>-<step>.png (overwritten on each run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{journey}-{number:02d}-{step}.png"
    page.screenshot(path=str(path), full_page=full_page)
    # A 128-colour palette keeps the committed files about 3 times smaller, the text still sharp.
    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(colors=128, method=Image.Quantize.FASTOCTREE)
    palette.save(path, "PNG", optimize=True)
    return path


def submit(page: Page, name: str, *, exact: bool = True) -> None:
    """Clicks the button named `name` and waits for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=exact).click()


def follow(page: Page, name: str, *, exact: bool = False) -> None:
    with page.expect_navigation():
        page.get_by_role("link", name=name, exact=exact).first.click()


def staff_log_in(page: Page, site: Site, user: Any) -> None:
    """Logs a staff user in through the login page, as they would."""
    open_page(page, site.url("/accounts/login/"))
    form = page.locator("form[action='/accounts/login/']")
    form.locator("input[name=login]").fill(user.email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "/accounts/login/" not in page.url, f"{user.email} was not logged in"


def wait_until(check: Callable[[], bool], *, timeout: float = WAIT_SECONDS, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(0.3)


def reload_until_text(page: Page, text: str, *, timeout: float = WAIT_SECONDS) -> None:
    """Reloads the page until it shows `text` (work done by the worker meanwhile)."""
    deadline = time.monotonic() + timeout
    while page.get_by_text(text).count() == 0:
        if time.monotonic() > deadline:
            expect(page.get_by_text(text).first).to_be_visible()
        time.sleep(0.5)
        page.reload()


def party_log_in(page: Page, site: Site, mailbox: Mailbox, email: str, *, business: bool = False) -> None:
    """The parties' space: the e-mail, the 6-digit code read from the e-mail, then the case list."""
    open_page(page, site.url("/suivi/"))
    page.get_by_label("Votre adresse e-mail").fill(email)
    if business:
        page.get_by_label("Le professionnel mis en cause", exact=False).check()
    before = mailbox.count()
    submit(page, "Recevoir un code")
    page.get_by_label("Code reçu par e-mail").fill(code_in(mailbox.wait_for(to=email, after=before)))
    submit(page, "Accéder à mon espace")
    assert page.url == site.url("/suivi/dossiers/"), page.url


def staff_action(page: Page, name: str, fill: Callable[[Any], None] | None = None) -> None:
    """Opens the case page's action `name` (a <details>), fills its form, submits it and checks it was done."""
    action = page.locator(f"#action-{name}")
    action.locator("summary").click()
    if fill is not None:
        fill(action)
    with page.expect_navigation():
        action.locator("button[type=submit]").click()
    expect(page.locator("#action-" + name + " [role=alert]")).to_have_count(0)

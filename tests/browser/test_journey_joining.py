"""Journey 2: a business joins online, accepts the convention, pays through the Stripe fake, downloads its
kit, and its badge shows "covered".

- Joining (/adherer/): SIREN, details, offer, convention accepted. The real Celery worker issues the first
  membership invoice and e-mails it with its payment link.
- Paying: the pay page's "Payer par carte" opens a Stripe Checkout Session (in the firm's connected
  account, on the in-process Stripe fake of tests/stripe_fake.py) and redirects the browser to its
  hosted URL, https://checkout.stripe.com/c/pay/<session>. Stripe's hosted page cannot run here: the
  test serves a stand-in page at that URL (Playwright `route`) whose "Payer" button plays Stripe's part
  exactly as Stripe would: the fake completes the session with a succeeded card PaymentIntent, the
  signed `checkout.session.completed` Connect event is posted to the platform's webhook, and the browser
  is sent to the session's success_url. The product's own code (start_checkout, the webhook, the return
  page) runs unchanged.
- The payment makes the member active: the worker e-mails the welcome pack (certificate and poster PDFs,
  the live badge's link). The firm admin opens the member portal to the business's contact; the business
  logs in with an e-mail code and downloads its certificate and poster; its badge says "Couvert", and the
  platform's lookup (/trouver-un-mediateur/ on the platform host) finds it; the platform's operator sees
  the firm in the console (/admin/ on the platform host).
Screenshots: docs/screenshots/joining-*.png (1280×800).
"""

from __future__ import annotations

import http.client
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context
from playwright.sync_api import Browser, Page, Route, expect

from accounts.models import User
from billing.models import Invoice
from mediation.members.models import Member
from tests.billing.helpers import firm_identity
from tests.billing.payments_helpers import connect_firm
from tests.browser.conftest import Site, open_page
from tests.browser.journey_helpers import (  # noqa: F401  (fixtures)
    DESKTOP,
    Mailbox,
    celery_worker_extra_env_fixture,
    journey_fixture,
    journey_mail_dir_fixture,
    journey_public_rows_restored_fixture,
    link_in,
    mailbox_fixture,
    new_page,
    shot,
    staff_log_in,
    submit,
)
from tests.conftest import PASSWORD
from tests.factories import AdminFactory, MediatorFactory, valid_siren
from tests.members.membership_helpers import publish, tariffs
from tests.members.portal_helpers import CODE_RE
from tests.stripe_fake import (
    CONNECT_WEBHOOK_SECRET,
    FakeStripe,
    signed_event,
    stripe_fake_fixture,  # noqa: F401  (the stripe_fake fixture)
)

NAME = "joining"
SIREN = valid_siren(4242)
CONTACT = "claire.petit@boulangerie-petit.fr"
CHECKOUT = "https://checkout.stripe.com/**"
OPERATOR = "operateur@plateforme.example"


def stand_in_checkout(fake: FakeStripe, account: str, platform_site: Site) -> Any:
    """Stripe's hosted Checkout page, played by the test (see the module's docstring)."""

    def handle(route: Route) -> None:
        request = route.request
        session_id = request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        session = fake.get(session_id, account)
        if request.method == "GET":
            amount = f"{session['amount_total'] / 100:.2f}".replace(".", ",")
            html = (
                '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Stripe Checkout (test)</title>'
                "</head><body><main><h1>Paiement sécurisé (Stripe, mode test)</h1>"
                f"<p>Montant : {amount} €</p>"
                '<form method="post"><label>Carte <input name="card" value="4242 4242 4242 4242"></label>'
                f'<button type="submit">Payer {amount} €</button></form></main></body></html>'
            )
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
            return
        # The customer paid: Stripe completes the session, then tells the platform (signed Connect event).
        session = fake.pay_checkout_by_card(session_id, account=account)
        payload, signature = signed_event(
            fake.event("checkout.session.completed", session, account=account), CONNECT_WEBHOOK_SECRET
        )
        webhook = urllib.request.Request(
            platform_site.url("/stripe/connect/webhook/"),
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            method="POST",
        )
        with urllib.request.urlopen(webhook, timeout=30) as answer:
            assert answer.status == 200
        success = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)
        route.fulfill(status=303, headers={"Location": success})

    return handle


def hand_over_to_checkout(route: Route) -> None:
    """The pay page's POST answers a redirect to Stripe's hosted URL; the browser is sent there by a new
    navigation instead, because Playwright routes only the first URL of a redirect chain. The POST itself
    reaches the live server unchanged (sent from here: Playwright's own fetch cannot resolve *.localhost)."""
    request = route.request
    if request.method != "POST":
        route.continue_()
        return
    parts = urlsplit(request.url)
    headers = {k: v for k, v in request.all_headers().items() if not k.startswith(":") and k != "accept-encoding"}
    headers["host"] = parts.netloc
    server = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    server.request("POST", parts.path, body=request.post_data_buffer, headers=headers)
    answer = server.getresponse()
    body = answer.read()
    location = answer.getheader("Location", "")
    if answer.status in (302, 303) and location.startswith("https://checkout.stripe.com/"):
        page = f'<!doctype html><meta http-equiv="refresh" content="0;url={location}"><a href="{location}">Stripe</a>'
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=page)
    else:
        kept = {k: v for k, v in answer.getheaders() if k.lower() not in ("content-length", "transfer-encoding")}
        route.fulfill(status=answer.status, headers=kept, body=body)
    server.close()


def download(page: Page, link_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).first.click()
    return Path(info.value.path()).read_bytes()


def test_a_business_joins_pays_online_gets_its_kit_and_is_covered(
    journey: Mailbox,
    firm_site: Site,
    platform_site: Site,
    browser: Browser,
    browser_context_args: dict[str, Any],
    stripe_fake: FakeStripe,
    tenant_a: Any,
) -> None:
    firm_identity()
    tariffs()
    MediatorFactory(first_name="Hélène", last_name="Arnaud")
    admin = AdminFactory(first_name="Alice", last_name="Admin")
    publish(by=admin)
    account = connect_firm(stripe_fake, by=admin)
    with schema_context(get_public_schema_name()):  # the platform's operator (removed after the test)
        User.objects.create_superuser(email=OPERATOR, password=PASSWORD)
    page = new_page(browser, browser_context_args, DESKTOP)

    # Joining online: SIREN, details, offer, convention.
    open_page(page, firm_site.url("/adherer/"))
    page.get_by_label("Numéro SIREN de l'entreprise").fill(SIREN)
    shot(page, NAME, 1, "siren")
    submit(page, "Continuer")
    page.fill("input[name=legal_name]", "Boulangerie Petit SARL")
    page.fill("input[name=address_line1]", "12 rue des Fours")
    page.fill("input[name=postcode]", "69004")
    page.fill("input[name=city]", "Lyon")
    page.check("input[name=headcount_band][value='1_9']")
    page.fill("input[name=contact_first_name]", "Claire")
    page.fill("input[name=contact_last_name]", "Petit")
    page.fill("input[name=contact_role]", "Gérante")
    page.fill("input[name=contact_email]", CONTACT)
    shot(page, NAME, 2, "details", full_page=True)
    submit(page, "Continuer")
    expect(page).to_have_url(firm_site.url("/adherer/offre/"))
    shot(page, NAME, 3, "offer")
    submit(page, "Continuer")
    expect(page).to_have_url(firm_site.url("/adherer/convention/"))
    page.get_by_label("J'ai lu et j'accepte la convention", exact=False).check()
    shot(page, NAME, 4, "convention", full_page=True)
    submit(page, "J'accepte la convention")
    expect(page.get_by_role("heading", level=1)).to_have_text("Merci : votre convention d'adhésion est acceptée")
    shot(page, NAME, 5, "accepted")

    # The first invoice, issued and e-mailed by the worker, with its payment link.
    invoice_mail = journey.wait_for(to=CONTACT, body="/factures/payer/")
    assert any(content.startswith(b"%PDF-") for content in invoice_mail.attachments.values())
    pay_link = link_in(invoice_mail, "/factures/payer/")
    assert pay_link.startswith(firm_site.url("/factures/payer/")), pay_link

    # Paying by card through Checkout (the stand-in hosted page), back to the firm's thank-you page.
    page.route(CHECKOUT, stand_in_checkout(stripe_fake, account, platform_site))
    page.route(firm_site.url("/factures/payer/**"), hand_over_to_checkout)
    open_page(page, pay_link)
    shot(page, NAME, 6, "pay-page")
    with page.expect_navigation(url="https://checkout.stripe.com/**"):
        page.get_by_role("button", name="Payer par carte").click()
    shot(page, NAME, 7, "checkout-stand-in")
    submit(page, "Payer", exact=False)
    expect(page.get_by_role("heading", level=1)).to_have_text("Merci, votre facture est réglée")
    shot(page, NAME, 8, "paid")
    connection.set_tenant(tenant_a)
    member = Member.objects.get(siren=SIREN)
    assert member.status == Member.Status.ACTIVE
    assert Invoice.objects.get(member=member).status == "paid"

    # The welcome pack (worker): certificate and poster, the live badge's link.
    welcome = journey.wait_for(to=CONTACT, subject="kit d'adhérent")
    assert {"certificat-adhesion.pdf", "affiche-mediation-a4.pdf"} <= set(welcome.attachments)
    assert all(content.startswith(b"%PDF-") for content in welcome.attachments.values())
    verification = link_in(welcome, "/verifier/")

    # The firm admin opens the member portal to the business's contact.
    desk = new_page(browser, browser_context_args, DESKTOP)
    staff_log_in(desk, firm_site, admin)
    open_page(desk, firm_site.url(f"/staff/adherents/{member.pk}/"))
    expect(desk.get_by_role("heading", name="Espace adhérent")).to_be_visible()
    desk.get_by_role("button", name="Donner l'accès au portail").first.click()
    desk.wait_for_load_state()
    expect(desk.get_by_text("Accès ouvert").first).to_be_visible()
    desk.get_by_role("heading", name="Espace adhérent").scroll_into_view_if_needed()
    shot(desk, NAME, 9, "admin-opens-portal")
    # What the admin also sees now: the membership (status, paid term) and the firm's online payments.
    open_page(desk, firm_site.url(f"/staff/adherents/adhesions/{member.pk}/"))
    expect(desk.get_by_text("Boulangerie Petit SARL").first).to_be_visible()
    shot(desk, NAME, 10, "admin-membership")
    open_page(desk, firm_site.url("/staff/facturation/stripe/"))
    expect(desk.get_by_text(account).first).to_be_visible()
    shot(desk, NAME, 11, "admin-online-payments")
    desk.context.close()
    invitation = journey.wait_for(to=CONTACT, subject="espace adhérent")

    # The business logs in with an e-mail code and downloads its kit.
    open_page(page, link_in(invitation, "/accounts/login/code/"))
    code_form = page.locator("form[action='/accounts/login/code/']")
    code_form.locator("input[name=email]").fill(CONTACT)
    before = journey.count()
    with page.expect_navigation():
        code_form.locator("button[type=submit]").click()
    found = CODE_RE.search(journey.wait_for(to=CONTACT, after=before).body)
    assert found is not None
    confirm = page.locator("form[action='/accounts/login/code/confirm/']")
    confirm.locator("input[name=code]").fill(found.group(1))
    with page.expect_navigation():
        confirm.locator("button[type=submit]").first.click()
    expect(page).to_have_url(firm_site.url("/espace-adherent/"))
    shot(page, NAME, 12, "portal-home")
    with page.expect_navigation():
        page.get_by_role("link", name="Kit adhérent").first.click()
    shot(page, NAME, 13, "portal-kit")
    assert download(page, "Télécharger le certificat (PDF)").startswith(b"%PDF-")
    assert download(page, "Affiche au format A4 (PDF)").startswith(b"%PDF-")

    # The live badge: the verification page and the SVG both say "covered".
    open_page(page, verification)
    expect(page.get_by_text("Boulangerie Petit SARL est couvert par le médiateur", exact=False)).to_be_visible()
    shot(page, NAME, 14, "badge-verification")
    badge = page.goto(verification.rstrip("/") + "/badge.svg")
    assert badge is not None and badge.status == 200
    assert (badge.header_value("content-type") or "").startswith("image/svg+xml")
    assert "Couvert jusqu" in badge.text()

    # On the platform's host, the lookup across firms finds the business and its mediator (synced index).
    open_page(page, platform_site.url("/trouver-un-mediateur/"))
    page.locator("input[name=q]").fill("boulangerie petit")
    submit(page, "Rechercher")
    expect(page.get_by_text("Boulangerie Petit SARL").first).to_be_visible()
    expect(page.get_by_text("Cabinet Alpha Médiation").first).to_be_visible()
    shot(page, NAME, 15, "platform-lookup")
    page.context.close()

    # The platform's operator sees the firm in the console with its figures (members, invoices).
    console = new_page(browser, browser_context_args, DESKTOP)
    open_page(console, platform_site.url("/admin/login/"))
    console.fill("input[name=username]", OPERATOR)
    console.fill("input[name=password]", PASSWORD)
    with console.expect_navigation():
        console.locator("input[type=submit], button[type=submit]").first.click()
    open_page(console, platform_site.url("/admin/tenants/tenant/"))
    expect(console.get_by_text("Cabinet Alpha Médiation").first).to_be_visible()
    shot(console, NAME, 16, "operator-console")
    console.context.close()

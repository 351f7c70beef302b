"""The whole way, through the pages: a business joins online, is invoiced, pays by card through Stripe (the fake),
and its live badge says covered; the firm's finance sees the invoice paid."""

from __future__ import annotations

import re

import pytest

from billing.models import Invoice, Payment
from mediation.members import kit
from mediation.members.models import Member
from tests.billing.helpers import firm_identity
from tests.billing.payments_helpers import connect_firm, deliver
from tests.factories import AdminFactory, valid_siren
from tests.members.membership_helpers import publish, tariffs
from tests.public_site.test_joining import DETAILS
from tests.stripe_fake import FakeStripe, stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)

pytestmark = pytest.mark.django_db


def test_a_business_joins_pays_by_card_and_its_badge_says_covered(
    stripe_fake: FakeStripe,
    tenant_a,
    media_root,
    client_a,
    public_client,
    mailoutbox,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    admin = AdminFactory()
    tariffs()
    publish(admin)
    firm_identity()
    account = connect_firm(stripe_fake, by=admin)
    siren = valid_siren(4242)

    # Joining online: SIREN, details, offer (1 year at 300 € excl. VAT), the convention accepted.
    client_a.post("/adherer/", {"siren": siren})
    client_a.post("/adherer/coordonnees/", DETAILS)
    client_a.post("/adherer/offre/", {"term_years": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(
            "/adherer/convention/",
            {"signer_name": "Paul Martin", "signer_role": "Président", "accept": "on", "version": 1},
        )
    member = Member.objects.get(siren=siren)
    assert member.status == Member.Status.CONVENTION_ACCEPTED

    # The term's invoice was issued by billing (signal → task), with its PDF, and e-mailed with a payment link.
    invoice = Invoice.objects.get(member=member)
    assert (invoice.purpose, invoice.status, invoice.gross_cents) == ("membership", "issued", 36_000)
    assert invoice.pdf and invoice.membership is not None
    mail = next(m for m in mailoutbox if invoice.number in m.subject)
    assert mail.to == ["paul@maisonbio.fr"]
    token = re.search(r"/factures/payer/([^/\s]+)/", mail.body).group(1)

    # The pay page sends the business to Stripe Checkout; the card is paid; Stripe tells the platform.
    page = client_a.get(f"/factures/payer/{token}/")
    assert page.status_code == 200 and invoice.number in page.content.decode()
    response = client_a.post(f"/factures/payer/{token}/", {"method": "card"})
    assert response.status_code == 302
    session_id = response["Location"].rsplit("/", 1)[-1]
    session = stripe_fake.pay_checkout_by_card(session_id, account=account)
    event = stripe_fake.event("checkout.session.completed", session, account=account)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(public_client, event).json()["status"] == "processed"

    invoice.refresh_from_db()
    member.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get(invoice=invoice).method == Payment.Method.CARD
    assert member.status == Member.Status.ACTIVE

    # Its first payment sent the welcome pack: certificate, window poster, texts to paste, the live badge.
    welcome = next(m for m in mailoutbox if "kit d'adhérent" in m.subject)
    assert welcome.to == ["paul@maisonbio.fr"]
    assert [name for name, _content, _type in welcome.attachments] == [
        "certificat-adhesion.pdf",
        "affiche-mediation-a4.pdf",
    ]
    assert "/verifier/" in welcome.body and "/espace-adherent/" in welcome.body

    # The live badge, which the business shows on its website, says covered.
    badge = kit.badge_token(member=member)
    verification = client_a.get(f"/verifier/{badge.token}/").content.decode()
    assert "verdict covered" in verification and "n&#x27;est pas couvert" not in verification

    # Finance sees it paid.
    client_a.force_login(AdminFactory())
    detail = client_a.get(f"/staff/facturation/{invoice.pk}/").content.decode()
    assert "Payée" in detail and "Carte bancaire" in detail

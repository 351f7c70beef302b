"""The member portal's invoices (/espace-adherent/factures/): its own invoices and credit notes, PDF, payment."""

from __future__ import annotations

import pytest

from billing import services
from billing.models import CheckoutSession, Payment
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity, issued_invoice
from tests.billing.payments_helpers import connect_firm
from tests.factories import UserFactory
from tests.members.portal_helpers import member_with_user, staff_admin
from tests.stripe_fake import FakeStripe, stripe_fake_fixture  # noqa: F401  (the stripe_fake fixture)

LIST = "/espace-adherent/factures/"
ADDRESS = {"address_line1": "3 place du Marché", "postcode": "69003", "city": "Lyon"}


@pytest.fixture
def link(tenant_a, media_root):
    firm_identity()
    return member_with_user(by=staff_admin(), email="paul@boulangerie.fr", siren="732829320", **ADDRESS)


@pytest.fixture
def portal_a(link, client_a):
    client_a.force_login(link.user)
    return client_a


@pytest.fixture
def account(stripe_fake: FakeStripe, link) -> str:
    return connect_firm(stripe_fake)


def test_the_member_sees_its_invoices_and_credit_notes_with_what_is_left(link, portal_a):
    by = finance_user()
    unpaid = issued_invoice(member=link.member)
    credited = issued_invoice(member=link.member)
    note = services.create_credit_note(by=by, invoice=credited, reason="Erreur de tarif")
    draft = services.create_draft(by=by, member=link.member, lines=[LINE])
    stranger = issued_invoice(member=billable_member())

    response = portal_a.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    for shown in (unpaid, credited, note):
        assert shown.number in html
    assert stranger.number not in html
    assert f"/espace-adherent/factures/{draft.pk}/pdf/" not in html
    assert "Annulée par avoir" in html
    assert f"sur la facture {credited.number}" in html
    assert "Reste à payer : <strong>360,00\u00a0€</strong>" in html
    assert f"/espace-adherent/factures/{unpaid.pk}/pdf/" in html


def test_the_pdf_is_its_own_invoice_only(link, portal_a):
    own = issued_invoice(member=link.member)
    stranger = issued_invoice(member=billable_member())
    draft = services.create_draft(by=finance_user(), member=link.member, lines=[LINE])

    response = portal_a.get(f"{LIST}{own.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert portal_a.get(f"{LIST}{stranger.pk}/pdf/").status_code == 404
    assert portal_a.get(f"{LIST}{draft.pk}/pdf/").status_code == 404


def test_the_member_pays_an_unpaid_invoice_by_card(stripe_fake, account, link, portal_a, use_tenant):
    invoice = issued_invoice(member=link.member)
    assert "Payer par carte" in portal_a.get(LIST).content.decode()

    response = portal_a.post(f"{LIST}{invoice.pk}/payer/", {"method": "card"})

    assert response.status_code == 302
    session_id = response["Location"].rsplit("/", 1)[-1]
    session = stripe_fake.get(session_id, account)
    assert session["success_url"] == f"http://alpha.localhost{LIST}?paiement=merci&session_id={{CHECKOUT_SESSION_ID}}"
    stripe_fake.pay_checkout_by_card(session_id, account=account)

    back = portal_a.get(LIST, {"paiement": "merci", "session_id": session_id})

    assert "Merci, votre paiement est enregistré." in back.content.decode()
    use_tenant("alpha")
    invoice.refresh_from_db()
    assert invoice.status == invoice.Status.PAID
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert "Payer par carte" not in portal_a.get(LIST).content.decode()


def test_the_sepa_mandate_state_is_shown(stripe_fake, account, link, portal_a):
    invoice = issued_invoice(member=link.member)
    assert "Aucun mandat de prélèvement" in portal_a.get(LIST).content.decode()
    session_id = portal_a.post(f"{LIST}{invoice.pk}/payer/", {"method": "sepa_debit"})["Location"].rsplit("/", 1)[-1]
    stripe_fake.pay_checkout_by_sepa(session_id, account=account)

    html = portal_a.get(LIST, {"paiement": "merci", "session_id": session_id}).content.decode()

    assert "en cours de confirmation" in html
    assert "Mandat actif sur le compte se terminant par 3000" in html
    assert CheckoutSession.objects.get().status == "processing"


def test_another_member_invoice_cannot_be_paid(stripe_fake, account, link, portal_a):
    stranger = issued_invoice(member=billable_member())

    assert portal_a.post(f"{LIST}{stranger.pk}/payer/", {"method": "card"}).status_code == 404
    assert not CheckoutSession.objects.exists()


def test_a_credit_note_is_not_paid(stripe_fake, account, link, portal_a):
    note = services.create_credit_note(
        by=finance_user(), invoice=issued_invoice(member=link.member), reason="Erreur de tarif"
    )

    response = portal_a.post(f"{LIST}{note.pk}/payer/", {"method": "card"}, follow=True)

    assert "Seule une facture émise se règle en ligne." in response.content.decode()
    assert not CheckoutSession.objects.exists()


def test_without_online_payment_no_button_and_the_transfer_is_explained(link, portal_a):
    issued_invoice(member=link.member)

    html = portal_a.get(LIST).content.decode()

    assert "Payer par carte" not in html
    assert "Règlement par virement" in html


def test_staff_are_sent_to_their_own_area_and_anonymous_visitors_log_in(link, client_a):
    assert "/accounts/login/" in client_a.get(LIST)["Location"]
    client_a.force_login(UserFactory(role="finance"))

    response = client_a.get(LIST)

    assert response.status_code == 302
    assert response["Location"] == "/staff/"


def test_a_member_user_of_another_firm_gets_nothing_of_alpha(link, client_b, use_tenant):
    alpha_invoice = issued_invoice(member=link.member)
    use_tenant("beta")
    firm_identity()
    beta_link = member_with_user(by=staff_admin(), email="paul@boulangerie.fr", siren="732829320", **ADDRESS)
    client_b.force_login(beta_link.user)

    html = client_b.get(LIST).content.decode()

    assert alpha_invoice.number not in html
    assert "Aucune facture" in html
    assert client_b.get(f"{LIST}{alpha_invoice.pk}/pdf/").status_code == 404
    assert client_b.post(f"{LIST}{alpha_invoice.pk}/payer/", {"method": "card"}).status_code == 404

"""The staff billing pages (/staff/facturation/): who reads, who writes, and what each form does."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from billing import services
from billing.models import BillingSettings, Invoice, Payment, Price, Product
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity, issued_invoice
from tests.factories import UserFactory

BASE = "/staff/facturation"
pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(tenant_a, media_root, client_a):
    firm_identity()
    user = finance_user()
    client_a.force_login(user)
    return user


def draft_post(siren: str, *rows: dict, add_line: bool = False) -> dict:
    data = {"siren": siren, "period_start": "", "period_end": "", "notes": "", "form-TOTAL_FORMS": str(len(rows))}
    data |= {"form-INITIAL_FORMS": "0", "form-MIN_NUM_FORMS": "1", "form-MAX_NUM_FORMS": "200"}
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"form-{n}-{key}"] = value
    if add_line:
        data["add_line"] = "1"
    return data


def test_the_list_shows_figures_filters_and_overdue_invoices(finance, client_a):
    late = issued_invoice(by=finance)
    Invoice.objects.filter(pk=late.pk).update(due_date=timezone.localdate() - datetime.timedelta(days=3))
    paid = issued_invoice(by=finance)
    services.record_payment(by=finance, invoice=paid, amount_cents=paid.gross_cents, method="transfer")
    services.create_draft(by=finance, member=billable_member(), lines=[LINE])
    page = client_a.get(f"{BASE}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert late.number in text and paid.number in text and "En retard" in text
    assert "720,00" in text  # invoiced this year: two invoices of 360 €
    assert "En retard" in client_a.get(f"{BASE}/{late.pk}/").content.decode()
    assert "En retard" not in client_a.get(f"{BASE}/{paid.pk}/").content.decode()
    overdue = client_a.get(f"{BASE}/?status=overdue").content.decode()
    assert late.number in overdue and paid.number not in overdue
    by_number = client_a.get(f"{BASE}/?q={paid.number}").content.decode()
    assert paid.number in by_number and late.number not in by_number
    # A nonsense filter is ignored, never an error.
    assert client_a.get(f"{BASE}/?issued_from=yesterday&page=abc").status_code == 200


def test_a_draft_is_typed_with_lines_then_issued_and_paid(
    finance, client_a, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    member = billable_member(legal_name="Boulangerie du Port")
    product = Product.objects.create(code="option-formation", name="Formation", kind="option", vat_rate="20.00")
    Price.objects.create(product=product, unit_price_cents=15_000, valid_from=datetime.date(2020, 1, 1))
    # "Add a line" keeps what was typed and shows one more row, saving nothing.
    response = client_a.post(
        f"{BASE}/nouvelle/", draft_post(member.siren, {"label": "Adhésion", "unit_price": "300"}, add_line=True)
    )
    assert response.status_code == 200 and not Invoice.objects.exists()
    assert 'name="form-1-label"' in response.content.decode()
    response = client_a.post(
        f"{BASE}/nouvelle/",
        draft_post(
            member.siren,
            {"label": "Adhésion annuelle", "quantity": "1", "unit_price": "300,00", "vat_rate": "20.00"},
            {"product": str(product.pk), "quantity": "2", "vat_rate": "20.00"},  # the catalogue's price
            {"label": "Remise fédération", "quantity": "1", "unit_price": "-30", "vat_rate": "20.00"},
            {"vat_rate": "20.00"},  # an empty row (as a browser sends it) is ignored
        ),
    )
    draft = Invoice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}/{draft.pk}/"
    assert draft.net_cents == 30_000 + 30_000 - 3_000 and draft.is_draft
    assert client_a.get(f"{BASE}/{draft.pk}/modifier/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"{BASE}/{draft.pk}/emettre/", {"send": "1"})
    draft.refresh_from_db()
    assert response.status_code == 302 and draft.number and draft.status == Invoice.Status.ISSUED
    assert len(mailoutbox) == 1 and draft.number in mailoutbox[0].subject
    assert "/factures/payer/" in mailoutbox[0].body
    assert mailoutbox[0].attachments[0][0] == f"{draft.number}.pdf"
    # Issued: the edit page sends back to the invoice; the PDF is served.
    assert client_a.get(f"{BASE}/{draft.pk}/modifier/").status_code == 302
    pdf = client_a.get(f"{BASE}/{draft.pk}/facture.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    response = client_a.post(
        f"{BASE}/{draft.pk}/paiements/",
        {"amount": "100", "method": "transfer", "received_on": timezone.localdate().isoformat(), "reference": "VIR"},
    )
    assert response.status_code == 302
    assert Payment.objects.get().amount_cents == 10_000


@pytest.mark.parametrize(
    ("siren", "row", "message"),
    [
        ("123", {"label": "x", "unit_price": "10"}, "SIREN"),
        ("732829320", {"label": "x", "unit_price": "10"}, "Aucun adhérent n&#x27;a ce SIREN."),
        (None, {"label": "x", "unit_price": "dix euros"}, "Montant invalide"),
        (None, {"label": "x", "unit_price": "10", "vat_rate": "19.60"}, "Sélectionnez un choix valide"),
        (None, {"label": "x"}, "Indiquez le prix unitaire."),
        (None, {"label": "x", "unit_price": "-50"}, "Le total ne peut pas être négatif"),
    ],
)
def test_bad_drafts_are_refused_with_a_message_and_nothing_saved(finance, client_a, siren, row, message):
    member = billable_member()
    response = client_a.post(f"{BASE}/nouvelle/", draft_post(siren or member.siren, {"vat_rate": "20.00", **row}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Invoice.objects.exists()


def test_issuing_without_the_firm_identity_says_what_is_missing(tenant_a, media_root, client_a):
    user = finance_user()
    client_a.force_login(user)
    draft = services.create_draft(by=user, member=billable_member(), lines=[LINE])
    response = client_a.post(f"{BASE}/{draft.pk}/emettre/", follow=True)
    assert "Complétez l&#x27;identité du cabinet" in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_draft


def test_credit_notes_full_and_partial_from_the_invoice_page(
    finance, client_a, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(by=finance)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            f"{BASE}/{invoice.pk}/avoirs/",
            {"reason": "Geste commercial", "scope": "partial", "amount": "50", "vat_rate": "20.00"},
        )
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response.status_code == 302 and response["Location"] == f"{BASE}/{note.pk}/"
    assert note.gross_cents == 6_000 and note.credited_invoice_id == invoice.pk
    # A partial credit without an amount is refused; nothing more is credited.
    client_a.post(f"{BASE}/{invoice.pk}/avoirs/", {"reason": "x", "scope": "partial", "amount": ""})
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1
    page = client_a.get(f"{BASE}/{invoice.pk}/").content.decode()
    assert note.number in page and "300,00" in page  # 360 € less the 60 € credited
    assert any(note.number in mail.subject for mail in mailoutbox)


def test_a_draft_can_be_deleted_an_issued_invoice_cannot(finance, client_a):
    draft = services.create_draft(by=finance, member=billable_member(), lines=[LINE])
    assert client_a.post(f"{BASE}/{draft.pk}/supprimer/").status_code == 302
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    invoice = issued_invoice(by=finance)
    client_a.post(f"{BASE}/{invoice.pk}/supprimer/")
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_catalogue_products_and_dated_prices(finance, client_a):
    response = client_a.post(
        f"{BASE}/catalogue/nouveau/",
        {
            "code": "frais-dossier",
            "name": "Frais de dossier",
            "kind": "case_fee",
            "vat_rate": "20.00",
            "is_active": "on",
        },
    )
    product = Product.objects.get()
    assert response.status_code == 302
    client_a.post(f"{BASE}/catalogue/{product.pk}/prix/", {"price": "50", "valid_from": "2026-01-01"})
    client_a.post(f"{BASE}/catalogue/{product.pk}/prix/", {"price": "60", "valid_from": "2026-07-01"})
    old, new = Price.objects.order_by("valid_from")
    assert old.valid_until == datetime.date(2026, 6, 30) and new.valid_until is None
    assert services.price_of(product=product, on=datetime.date(2026, 3, 1)).unit_price_cents == 5_000
    bad = client_a.post(f"{BASE}/catalogue/{product.pk}/prix/", {"price": "abc", "valid_from": "2026-01-01"})
    assert bad.status_code == 400 and Price.objects.count() == 2
    duplicate = client_a.post(
        f"{BASE}/catalogue/nouveau/", {"code": "frais-dossier", "name": "Autre", "kind": "option", "vat_rate": "20.00"}
    )
    assert duplicate.status_code == 400 and Product.objects.count() == 1
    assert "Frais de dossier" in client_a.get(f"{BASE}/catalogue/").content.decode()


def test_settings_are_checked_before_saving(finance, client_a):
    page = client_a.get(f"{BASE}/parametres/")
    assert page.status_code == 200 and "40,00" in page.content.decode()
    data = {
        "payment_terms_days": "30",
        "payment_terms_text": "Paiement à 30 jours.",
        "late_penalty_text": "Taux BCE + 10 points.",
        "recovery_indemnity": "40",
        "vat_on_debits": "on",
        "vat_exemption_text": "",
        "proration": "monthly",
        "renewal_lead_days": "45",
        "first_reminder_days": "7",
        "second_reminder_days": "30",
        "suspend_after_days": "45",
        "account_customers": "411000",
        "account_sales": "706100",
        "account_vat": "445710",
        "account_bank": "512000",
        "journal_sales": "VE",
        "journal_bank": "BQ",
    }
    assert client_a.post(f"{BASE}/parametres/", {**data, "recovery_indemnity": "20"}).status_code == 400
    assert client_a.post(f"{BASE}/parametres/", {**data, "second_reminder_days": "60"}).status_code == 400
    assert client_a.post(f"{BASE}/parametres/", data).status_code == 302
    config = BillingSettings.objects.get()
    assert config.vat_on_debits and config.account_sales == "706100" and config.proration == "monthly"
    invoice = issued_invoice(by=finance)
    assert invoice.mentions["vat_on_debits"]


@pytest.mark.parametrize("role", ["mediator", "case_officer"])
def test_case_handlers_see_no_billing(tenant_a, media_root, client_a, role):
    firm_identity()
    invoice = issued_invoice()
    client_a.force_login(UserFactory(role=role))
    for url in (f"{BASE}/", f"{BASE}/{invoice.pk}/", f"{BASE}/{invoice.pk}/facture.pdf", f"{BASE}/catalogue/"):
        assert client_a.get(url).status_code == 403, url
    assert client_a.post(f"{BASE}/{invoice.pk}/paiements/", {"amount": "1", "method": "transfer"}).status_code == 403
    assert not Payment.objects.exists()


def test_read_only_reads_and_cannot_write(tenant_a, media_root, client_a):
    invoice = issued_invoice()
    client_a.force_login(UserFactory(role="read_only"))
    page = client_a.get(f"{BASE}/{invoice.pk}/")
    assert page.status_code == 200 and "Enregistrer un paiement" not in page.content.decode()
    assert client_a.get(f"{BASE}/nouvelle/").status_code == 403
    assert client_a.post(f"{BASE}/{invoice.pk}/avoirs/", {"reason": "x", "scope": "full"}).status_code == 403
    assert client_a.get(f"{BASE}/parametres/").status_code == 403


def test_another_firms_invoices_are_not_found(tenant_a, tenant_b, media_root, use_tenant, client_b):
    use_tenant("alpha")
    alpha_invoice = issued_invoice()
    use_tenant("beta")
    firm_identity()
    client_b.force_login(finance_user())
    assert client_b.get(f"{BASE}/{alpha_invoice.pk}/").status_code == 404
    assert client_b.get(f"{BASE}/{alpha_invoice.pk}/facture.pdf").status_code == 404
    assert alpha_invoice.number not in client_b.get(f"{BASE}/").content.decode()

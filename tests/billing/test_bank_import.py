"""Bank statement import: reading French banks' CSV, matching credits to invoices, recording, duplicates, access."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing import bank_import, services
from billing.bank_import import BankFileError, invoice_references, parse_signed_cents, parse_statement
from billing.errors import BillingError
from billing.models import BankLine, BankStatement, Invoice, Payment
from core.models import AuditEntry
from tests.billing.helpers import LINE, billable_member, finance_user, firm_identity, issued_invoice
from tests.factories import UserFactory

BASE = "/staff/facturation/banque"
S = BankLine.Status


def day(days_ago: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days_ago)


def fr(date: datetime.date) -> str:
    return date.strftime("%d/%m/%Y")


def statement(*rows: tuple[datetime.date, str, str, str], preamble: bool = True) -> bytes:
    """A statement as Crédit Agricole-like banks export it: account lines, then Date;Libellé;Débit;Crédit."""
    lines = (
        ["Compte courant n° 12345678901;;;", f"Période du {fr(day(30))} au {fr(day(0))};;;", ";;;"] if preamble else []
    )
    lines.append("Date;Libellé;Débit euros;Crédit euros")
    lines += [f'{fr(date)};"{label}";{debit};{credit}' for date, label, debit, credit in rows]
    lines.append(f"Solde au {fr(day(0))};;;1 234,56")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


# --- Reading (no database) -----------------------------------------------------------------------------------


def test_a_french_bank_export_is_read_past_its_preamble_in_windows_1252():
    data = statement(
        (datetime.date(2026, 11, 2), "VIR SEPA BOULANGERIE DU PORT FA-2026-000001 réglé", "", "360,00"),
        (datetime.date(2026, 11, 3), "PRLV SEPA EDF", "84,12", ""),
        (datetime.date(2026, 11, 4), "VIR GARAGE MARTIN", "", "1 299,90"),
    )
    lines = parse_statement(data, "releve.csv")
    assert [(line.row, line.booked_on, line.amount_cents) for line in lines] == [
        (5, datetime.date(2026, 11, 2), 36_000),
        (6, datetime.date(2026, 11, 3), -8_412),
        (7, datetime.date(2026, 11, 4), 129_990),
    ]
    assert lines[0].label == "VIR SEPA BOULANGERIE DU PORT FA-2026-000001 réglé"


def test_a_signed_amount_column_tabs_and_several_label_columns():
    data = (
        "Date opération\tDate valeur\tLibellé court\tType opération\tRéférence\tMontant (EUR)\n"
        "05/11/2026\t06/11/2026\tVIR RECU\tVirement\tFA-2026-000007\t+250,00\n"
        "06/11/2026\t06/11/2026\tCB CARREFOUR\tCarte\t\t-12,50\n"
    ).encode()
    lines = parse_statement(data, "export.tsv")
    assert [(line.booked_on, line.label, line.amount_cents) for line in lines] == [
        (datetime.date(2026, 11, 5), "VIR RECU FA-2026-000007", 25_000),
        (datetime.date(2026, 11, 6), "CB CARREFOUR", -1_250),
    ]


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("360,00", 36_000),
        ("1 299,90", 129_990),
        ("1\u00a0299,90 €", 129_990),
        ("-84,12", -8_412),
        ("+3,5", 350),
        ("(12,50)", -1_250),
        ("12,50-", -1_250),
        ("1.234,56", 123_456),
        ("", None),
    ],
)
def test_amounts_as_banks_write_them(text, cents):
    assert parse_signed_cents(text) == cents


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 binary", "n'est pas un fichier CSV"),
        (b"PK\x03\x04 an xlsx", "n'est pas un fichier CSV"),
        (b"   \n", "Le fichier est vide"),
        (b"Nom;Adresse;Ville\nDupont;1 rue;Lyon\n", "Colonnes introuvables"),
        (b"Date;Libelle;Montant\n", "aucune opération"),
        (b"Date;Libelle;Montant\n01/11/2026;VIR;12,3,4\n", "Ligne 2 : montant « 12,3,4 » illisible"),
        (b"Date;Libelle;Montant\n31/02/2026;VIR;12,00\n", "Ligne 2 : date « 31/02/2026 » illisible"),
        (b"Date;Libelle;Montant\n01/11/2026;VIR;abc\n02/11/2026;VIR;1\n", "Ligne 2 : montant « abc » illisible"),
        (b"Date;Libelle;Montant\n;VIR;12,00\n", "Ligne 2 : date «  » illisible"),
    ],
)
def test_bad_files_are_refused_with_a_french_message(data, message):
    with pytest.raises(BankFileError) as caught:
        parse_statement(data, "releve.pdf")
    assert any(message in error for error in caught.value.errors), caught.value.errors


def test_too_many_rows_or_bytes_are_refused(monkeypatch):
    monkeypatch.setattr(bank_import, "MAX_ROWS", 2)
    data = b"Date;Libelle;Montant\n" + b"01/11/2026;VIR;1,00\n" * 3
    with pytest.raises(BankFileError, match="plus de 2 opérations"):
        parse_statement(data)
    monkeypatch.setattr(bank_import, "MAX_BYTES", 10)
    with pytest.raises(BankFileError, match="pèse plus de"):
        parse_statement(data)


@pytest.mark.parametrize(
    ("label", "references"),
    [
        ("VIR SEPA REF FA-2026-000042", [(2026, 42)]),
        ("VIR FA2026000042 ET FA-2025-000007", [(2026, 42), (2025, 7)]),
        ("fa 2026 000042", [(2026, 42)]),
        ("AVOIR FA-AV-2026-000003", []),  # a credit note's number is not an invoice's
        ("CARTE 12026000042", []),
        ("VIR 2026-0042", []),
    ],
)
def test_invoice_numbers_are_found_in_labels(label, references):
    assert invoice_references(label) == references


# --- Matching and recording ------------------------------------------------------------------------------------


@pytest.fixture
def finance(tenant_a, media_root, client_a, monkeypatch):
    # The PDF is another test's subject; a placeholder keeps these tests fast.
    monkeypatch.setattr("billing.documents.render_invoice_pdf", lambda invoice: b"%PDF-1.7\n%test\n")
    firm_identity()
    user = finance_user()
    client_a.force_login(user)
    return user


@pytest.fixture
def invoices(finance):
    """Four open invoices of 360 € (two of the same member), and one of 480 €."""
    bakery = billable_member(legal_name="Boulangerie du Port")
    garage = billable_member(legal_name="Garage Martin")
    return {
        "exact": issued_invoice(by=finance, member=bakery),
        "partial": issued_invoice(by=finance, member=garage),
        "by_amount": issued_invoice(by=finance, member=garage, lines=[{**LINE, "unit_price_cents": 40_000}]),
        "twin_a": issued_invoice(by=finance, member=bakery),
        "twin_b": issued_invoice(by=finance, member=bakery),
    }


def squeezed(number: str) -> str:
    return number.replace("-", "")


@pytest.fixture
def bank_file(invoices):
    return statement(
        (day(5), f"VIR SEPA BOULANGERIE DU PORT {invoices['exact'].number}", "", "360,00"),
        (day(5), f"VIR GARAGE MARTIN {squeezed(invoices['partial'].number)}", "", "100,00"),
        (day(4), "VIR GARAGE MARTIN COTISATION", "", "480,00"),
        (day(4), "VIR SEPA SANS REFERENCE", "", "360,00"),  # three invoices of 360 €: which one?
        (day(3), "VIR INCONNU", "", "77,00"),
        (day(3), "PRLV SEPA EDF", "84,12", ""),
    )


def upload(client, data: bytes, name: str = "releve-novembre.csv"):
    return client.post(f"{BASE}/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


@pytest.mark.django_db
def test_credits_are_matched_by_number_and_amount_and_debits_left_out(invoices, bank_file, client_a):
    response = upload(client_a, bank_file)
    imported = BankStatement.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}/releves/{imported.pk}/"
    lines = list(imported.lines.order_by("row"))
    assert [(line.row, line.status, line.invoice_id) for line in lines] == [
        (5, S.MATCHED, invoices["exact"].pk),
        (6, S.AMBIGUOUS, invoices["partial"].pk),  # the number, not the amount: a partial payment
        (7, S.AMBIGUOUS, invoices["by_amount"].pk),  # the amount of one open invoice, no number
        (8, S.AMBIGUOUS, None),  # an amount three invoices have
        (9, S.UNMATCHED, None),
    ]
    assert AuditEntry.objects.filter(action="billing.bank_statement_imported").count() == 1
    page = client_a.get(response["Location"]).content.decode()
    assert "Le numéro de facture et le montant concordent" in page
    assert "le montant diffère du reste à payer (360,00" in page
    assert "le numéro de facture est absent du libellé" in page
    assert "Plusieurs factures ont ce reste à payer" in page
    assert "Aucune facture trouvée" in page
    assert "Enregistrer le paiement rapproché" in page


@pytest.mark.django_db
def test_confirming_records_the_matched_payments_as_transfers(invoices, bank_file, client_a, finance):
    upload(client_a, bank_file)
    imported = BankStatement.objects.get()
    response = client_a.post(f"{BASE}/releves/{imported.pk}/confirmer/", follow=True)
    assert "1 paiement enregistré." in response.content.decode()
    payment = Payment.objects.get()
    line = imported.lines.get(row=5)
    assert (payment.invoice_id, payment.amount_cents, payment.method) == (invoices["exact"].pk, 36_000, "transfer")
    assert payment.bank_line_id == line.pk and payment.received_on == day(5) and payment.recorded_by == finance
    assert invoices["exact"].number in payment.reference
    invoices["exact"].refresh_from_db()
    assert invoices["exact"].status == Invoice.Status.PAID
    assert line.status == S.RECORDED
    # Confirming again records nothing more.
    again = client_a.post(f"{BASE}/releves/{imported.pk}/confirmer/", follow=True)
    assert "Aucune ligne rapprochée à enregistrer" in again.content.decode()
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_partial_payment_and_an_invoice_picked_by_hand(invoices, bank_file, client_a):
    upload(client_a, bank_file)
    imported = BankStatement.objects.get()
    partial = imported.lines.get(row=6)
    client_a.post(f"{BASE}/lignes/{partial.pk}/enregistrer/", {"number": invoices["partial"].number})
    invoices["partial"].refresh_from_db()
    assert invoices["partial"].status == Invoice.Status.PARTLY_PAID and invoices["partial"].paid_cents == 10_000
    # One of the three 360 € invoices, typed the way the bank squeezes numbers.
    shared = imported.lines.get(row=8)
    response = client_a.post(
        f"{BASE}/lignes/{shared.pk}/enregistrer/", {"number": squeezed(invoices["twin_b"].number)}, follow=True
    )
    assert f"paiement de la facture {invoices['twin_b'].number} enregistré" in response.content.decode()
    shared.refresh_from_db()
    assert shared.status == S.RECORDED and shared.invoice_id == invoices["twin_b"].pk
    assert Payment.objects.get(bank_line=shared).invoice_id == invoices["twin_b"].pk


@pytest.mark.django_db
def test_refused_choices_say_why_and_record_nothing(invoices, bank_file, client_a):
    upload(client_a, bank_file)
    imported = BankStatement.objects.get()
    unknown = imported.lines.get(row=9)
    response = client_a.post(f"{BASE}/lignes/{unknown.pk}/enregistrer/", {"number": "FA-1999-000001"}, follow=True)
    assert "Ligne 9 : Aucune facture n° « FA-1999-000001 »." in response.content.decode()
    too_much = imported.lines.get(row=7)  # 480 € on a 360 € invoice
    response = client_a.post(
        f"{BASE}/lignes/{too_much.pk}/enregistrer/", {"number": invoices["twin_a"].number}, follow=True
    )
    assert "Ligne 7 : Le montant dépasse le reste à payer" in response.content.decode()
    assert Payment.objects.count() == 0
    too_much.refresh_from_db()
    assert too_much.status == S.AMBIGUOUS


@pytest.mark.django_db
def test_an_invoice_paid_meanwhile_is_reported_and_the_rest_recorded(finance, client_a):
    first, second = issued_invoice(by=finance), issued_invoice(by=finance)
    data = statement(
        (day(2), f"VIR {first.number}", "", "360,00"),
        (day(2), f"VIR {second.number}", "", "360,00"),
    )
    upload(client_a, data)
    services.record_payment(by=finance, invoice=first, amount_cents=36_000, method="cheque")
    imported = BankStatement.objects.get()
    page = client_a.get(f"{BASE}/releves/{imported.pk}/").content.decode()
    assert f"La facture {first.number} est déjà soldée" in page
    response = client_a.post(f"{BASE}/releves/{imported.pk}/confirmer/", follow=True)
    text = response.content.decode()
    assert "Ligne 5 : Cette facture est déjà soldée." in text and "1 paiement enregistré." in text
    second.refresh_from_db()
    assert second.status == Invoice.Status.PAID
    assert imported.lines.get(row=5).status == S.MATCHED and imported.lines.get(row=6).status == S.RECORDED


@pytest.mark.django_db
def test_an_invoice_is_proposed_once_when_its_payment_appears_twice(finance):
    invoice = issued_invoice(by=finance)
    data = statement(
        (day(2), f"VIR {invoice.number}", "", "360,00"), (day(1), f"VIR {invoice.number} BIS", "", "360,00")
    )
    result = bank_import.import_statement(by=finance, data=data, filename="x.csv")
    assert [line.status for line in result.statement.lines.order_by("row")] == [S.MATCHED, S.AMBIGUOUS]


@pytest.mark.django_db
def test_reimporting_a_statement_proposes_nothing_new(invoices, bank_file, client_a):
    upload(client_a, bank_file)
    response = upload(client_a, bank_file, "le-meme.csv")
    assert response.status_code == 302 and response["Location"] == f"{BASE}/"
    assert (
        "Rien de nouveau : les 5 crédits de ce relevé sont déjà importés." in client_a.get(f"{BASE}/").content.decode()
    )
    assert BankStatement.objects.count() == 1 and BankLine.objects.count() == 5
    # An overlapping statement brings only its new line; two equal transfers of one day are two lines.
    overlapping = bank_file.replace(b"Solde au", b'%s;"VIR INCONNU";;77,00\r\nSolde au' % fr(day(3)).encode())
    upload(client_a, overlapping, "decembre.csv")
    newest = BankStatement.objects.order_by("-pk").first()
    assert BankLine.objects.count() == 6
    assert [(line.label, line.amount_cents) for line in newest.lines.all()] == [("VIR INCONNU", 7_700)]


@pytest.mark.django_db
def test_a_line_is_never_recorded_twice(invoices, bank_file, client_a, finance):
    upload(client_a, bank_file)
    line = BankStatement.objects.get().lines.get(row=5)
    bank_import.record_line(by=finance, line=line, invoice=invoices["exact"])
    with pytest.raises(BillingError) as caught:
        bank_import.record_line(by=finance, line=line, invoice=invoices["twin_a"])
    assert caught.value.code == "already_recorded"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_line_can_be_ignored_then_restored(invoices, bank_file, client_a):
    upload(client_a, bank_file)
    line = BankStatement.objects.get().lines.get(row=5)
    client_a.post(f"{BASE}/lignes/{line.pk}/ignorer/")
    line.refresh_from_db()
    assert line.status == S.IGNORED
    assert AuditEntry.objects.filter(action="billing.bank_line_ignored", object_id=str(line.pk)).exists()
    client_a.post(f"{BASE}/lignes/{line.pk}/retablir/")
    line.refresh_from_db()
    assert line.status == S.MATCHED and line.invoice_id == invoices["exact"].pk
    ignored_tab = client_a.get(f"{BASE}/releves/{line.statement_id}/?status=ignored").content.decode()
    assert "Aucune opération dans cette catégorie" in ignored_tab


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.4\x00\x01", "n&#x27;est pas un fichier CSV"),
        (b"Nom;Prenom\nDupont;Jean\n", "Colonnes introuvables"),
        (b"Date;Libelle;Credit\n01/11/2026;VIR;3 euros\n", "Ligne 2 : montant « 3 euros » illisible"),
    ],
)
def test_a_bad_file_shows_the_form_again_and_stores_nothing(finance, client_a, data, message):
    response = upload(client_a, data)
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text and 'role="alert"' in text
    assert BankStatement.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["mediator", "case_officer", "read_only", "member"])
def test_roles_without_billing_edit_get_a_403(invoices, bank_file, client_a, role):
    upload(client_a, bank_file)
    imported = BankStatement.objects.get()
    line = imported.lines.get(row=5)
    client_a.force_login(UserFactory(role=role))
    assert client_a.get(f"{BASE}/").status_code == 403
    assert upload(client_a, bank_file).status_code == 403
    assert client_a.get(f"{BASE}/releves/{imported.pk}/").status_code == 403
    assert client_a.post(f"{BASE}/releves/{imported.pk}/confirmer/").status_code == 403
    assert client_a.post(f"{BASE}/lignes/{line.pk}/ignorer/").status_code == 403
    assert Payment.objects.count() == 0 and BankLine.objects.get(pk=line.pk).status == S.MATCHED


@pytest.mark.django_db
def test_a_beta_user_gets_nothing_of_alpha(invoices, bank_file, client_a, client_b, use_tenant):
    upload(client_a, bank_file)
    use_tenant("alpha")
    imported = BankStatement.objects.get()
    line = imported.lines.get(row=5)
    use_tenant("beta")
    client_b.force_login(finance_user())
    assert client_b.get(f"{BASE}/releves/{imported.pk}/").status_code == 404
    assert client_b.post(f"{BASE}/releves/{imported.pk}/confirmer/").status_code == 404
    assert (
        client_b.post(f"{BASE}/lignes/{line.pk}/enregistrer/", {"number": invoices["exact"].number}).status_code == 404
    )
    assert client_b.post(f"{BASE}/lignes/{line.pk}/ignorer/").status_code == 404
    assert "releve-novembre.csv" not in client_b.get(f"{BASE}/").content.decode()
    response = client_b.get(f"{BASE}/releves/{imported.pk}/", HTTP_HOST="alpha.localhost")
    assert response.status_code == 302 and "/login" in response["Location"]
    use_tenant("alpha")
    assert Payment.objects.count() == 0 and BankLine.objects.get(pk=line.pk).status == S.MATCHED

"""The invoice PDF: every mandatory mention, PDF/A-3 with its Factur-X XML, credit notes, the firm's language."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal
from typing import Any

import pytest
import segno.helpers
import time_machine
from django.core.files.base import ContentFile
from lxml import etree
from PIL import Image
from pypdf import PdfReader

from billing import documents, services
from billing.models import Invoice
from firm.models import FirmProfile
from tests.billing.helpers import billable_member, finance_user, firm_identity, issued_invoice

pytestmark = pytest.mark.django_db

ISSUE_DAY = datetime.datetime(2026, 3, 16, 10, 0, tzinfo=datetime.UTC)
PDFAID = "http://www.aiim.org/pdfa/ns/id/"


def vat_number(siren: str) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def line(label: str, unit_price_cents: int, vat_rate: str, quantity: str = "1") -> dict[str, Any]:
    return {"label": label, "quantity": quantity, "unit_price_cents": unit_price_cents, "vat_rate": vat_rate}


def stored_pdf(invoice: Invoice) -> bytes:
    invoice.pdf.open("rb")
    try:
        return invoice.pdf.read()
    finally:
        invoice.pdf.close()


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with every kind of space made a plain space (French amounts use no-break spaces)."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[ \u00a0\u202f\u2009]+", " ", text)


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def invoicing(tenant_a: Any, media_root: Any) -> Any:
    firm_identity()
    with time_machine.travel(ISSUE_DAY, tick=False):
        yield


def test_invoice_carries_every_mandatory_mention(invoicing: Any) -> None:
    config = services.billing_settings()
    config.vat_on_debits = True
    config.save()
    member = billable_member(legal_name="Boulangerie Durand SARL")
    member.vat_number = vat_number(member.siren)
    member.save()
    lines = [
        line("Adhésion annuelle — 10 à 49 salariés", 30_000, "20.00"),
        line("Option publication", 1_999, "10.00", quantity="3"),
        line("Guide imprimé", 333, "5.50", quantity="2.5"),
    ]
    invoice = issued_invoice(
        member=member, lines=lines, period_start=datetime.date(2026, 4, 1), period_end=datetime.date(2027, 3, 31)
    )
    text = pdf_text(stored_pdf(invoice))
    flat = one_line(text)
    for expected in (
        "Facture",
        invoice.number,
        # Seller: name, legal form, address, SIREN, SIRET, VAT number, RCS.
        "Cabinet Alpha Médiation SAS",
        "SAS · SIREN 732829320",
        "SIRET 73282932000074",
        "FR44732829320",
        "RCS Lyon",
        "10 rue de la République",
        "69002 Lyon",
        # Buyer: name, address, SIREN, VAT number.
        "Boulangerie Durand SARL",
        "3 place du Marché",
        f"SIREN {member.siren}",
        member.vat_number,
        # Dates: issue, due (30 days), service period.
        "16 mars 2026",
        "15 avril 2026",
        "du 1 avril 2026 au 31 mars 2027",
        # Lines: designation, quantity, unit price excl. VAT, rate, amount excl. VAT.
        "Adhésion annuelle — 10 à 49 salariés 1 300,00 € 20 % 300,00 €",
        "Option publication 3 19,99 € 10 % 59,97 €",
        "Guide imprimé 2,5 3,33 € 5,5 % 8,33 €",
        # VAT breakdown per rate, then the totals.
        "20 % 300,00 € 60,00 €",
        "10 % 59,97 € 6,00 €",
        "5,5 % 8,33 € 0,46 €",
        "Total HT 368,30 €",
        "Total TVA 66,46 €",
        "Total TTC 434,76 €",
        # Mentions.
        "Nature de l'opération : Prestation de services",
        "Option pour le paiement de la taxe d'après les débits",
        "Pénalités de retard : taux d'intérêt appliqué par la BCE",
        "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40,00 €",
        "Paiement à 30 jours date de facture",
        # Payment instructions with the invoice number as the reference.
        "IBAN FR7630006000011234567890189",
        "BIC AGRIFRPP",
        f"Référence à indiquer avec votre virement : {invoice.number}",
    ):
        assert expected in flat, f"{expected!r} missing from the PDF"
    assert invoice.gross_cents == 43_476


def test_paid_amount_is_not_on_the_document(invoicing: Any) -> None:
    """The PDF is frozen at issue: rendering it again after a payment gives the same amounts."""
    by = finance_user()
    invoice = issued_invoice(by=by)
    services.record_payment(by=by, invoice=invoice, amount_cents=10_000, method="transfer")
    invoice.refresh_from_db()
    flat = one_line(pdf_text(documents.render_invoice_pdf(invoice)))
    assert "Net à payer 360,00 €" in flat
    assert "100,00" not in flat


def test_vat_on_debits_is_only_printed_when_opted_for(invoicing: Any) -> None:
    flat = one_line(pdf_text(stored_pdf(issued_invoice())))
    assert "débits" not in flat


def test_pdf_is_pdfa3_and_embeds_its_facturx_xml(invoicing: Any) -> None:
    invoice = issued_invoice()
    reader = PdfReader(io.BytesIO(stored_pdf(invoice)))
    xmp = etree.fromstring(reader.trailer["/Root"]["/Metadata"].get_object().get_data())
    part = xmp.xpath("//*[local-name()='part' and namespace-uri()=$ns]/text() | //@*[local-name()='part']", ns=PDFAID)
    conformance = xmp.xpath(
        "//*[local-name()='conformance' and namespace-uri()=$ns]/text() | //@*[local-name()='conformance']", ns=PDFAID
    )
    assert [str(p) for p in part] == ["3"]
    assert [str(c) for c in conformance] == ["B"]
    assert xmp.xpath("//*[local-name()='ConformanceLevel']/text()") == ["EN 16931"]
    assert list(reader.attachments) == ["factur-x.xml"]
    embedded = reader.attachments["factur-x.xml"][0]
    assert embedded == documents.invoice_xml(invoice)
    spec = reader.trailer["/Root"]["/AF"][0].get_object()
    assert spec["/AFRelationship"] == "/Data"
    assert reader.metadata is not None
    assert reader.metadata.title == f"Facture {invoice.number}"
    assert reader.metadata.author == "Cabinet Alpha Médiation SAS"
    assert reader.trailer["/Root"]["/Lang"] == "fr-FR"


def test_credit_note_names_the_invoice_it_corrects_and_its_reason(invoicing: Any) -> None:
    by = finance_user()
    invoice = issued_invoice(by=by)
    note = services.create_credit_note(by=by, invoice=invoice, reason="Erreur sur la tranche d'effectif")
    flat = one_line(pdf_text(stored_pdf(note)))
    assert "Avoir" in flat
    assert note.number in flat
    assert f"Avoir sur la facture n° {invoice.number} du 16 mars 2026" in flat
    assert "Motif : Erreur sur la tranche d'effectif" in flat
    assert "Montant de l'avoir 360,00 €" in flat
    assert "Indemnité forfaitaire pour frais de recouvrement" in flat
    # Nothing to pay on a credit note: no transfer instructions, no QR code.
    assert "Référence à indiquer" not in flat
    assert "Net à payer" not in flat
    assert documents.epc_qr_uri(note) == ""
    assert not PdfReader(io.BytesIO(stored_pdf(note))).pages[0].images


def test_exemption_text_is_printed_with_a_zero_rate_line(invoicing: Any) -> None:
    config = services.billing_settings()
    config.vat_exemption_text = "Exonération de TVA, article 261-4-4° du CGI"
    config.save()
    flat = one_line(pdf_text(stored_pdf(issued_invoice(lines=[line("Formation", 12_000, "0.00")]))))
    assert "Exonération de TVA, article 261-4-4° du CGI" in flat
    assert "0 % 120,00 € 0,00 €" in flat
    # Without a 0 % line the exemption text would be wrong: it is left out.
    flat = one_line(pdf_text(stored_pdf(issued_invoice())))
    assert "Exonération" not in flat


def test_discount_line_prints_a_negative_amount(invoicing: Any) -> None:
    invoice = issued_invoice(lines=[line("Adhésion", 30_000, "20.00"), line("Remise fédération", -4_500, "20.00")])
    flat = one_line(pdf_text(stored_pdf(invoice)))
    assert "Remise fédération 1 -45,00 € 20 % -45,00 €" in flat
    assert "Total TTC 306,00 €" in flat


def test_english_firm_gets_an_english_invoice(invoicing: Any) -> None:
    firm_identity(default_language="en")
    invoice = issued_invoice()
    reader = PdfReader(io.BytesIO(stored_pdf(invoice)))
    flat = one_line(pdf_text(stored_pdf(invoice)))
    assert "Total excl. VAT €300.00" in flat
    assert "Total incl. VAT €360.00" in flat
    assert "16 March 2026" in flat
    assert "mars" not in flat
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    # The legal mentions the firm typed stay as typed; the Factur-X notes stay French (the law's language).
    assert "Pénalités de retard" in flat


def test_issued_invoice_is_rendered_from_its_frozen_data(invoicing: Any) -> None:
    member = billable_member(legal_name="Ancien Nom SARL")
    invoice = issued_invoice(member=member)
    firm_identity(legal_name="Nouveau Cabinet SAS", iban="FR1420041010050500013M02606")
    member.legal_name = "Nouveau Nom SARL"
    member.save()
    config = services.billing_settings()
    config.late_penalty_text = "Pénalités changées après l'émission."
    config.save()
    invoice.refresh_from_db()
    flat = one_line(pdf_text(documents.render_invoice_pdf(invoice)))
    assert "Cabinet Alpha Médiation SAS" in flat
    assert "Ancien Nom SARL" in flat
    assert "FR7630006000011234567890189" in flat
    assert "Nouveau" not in flat
    assert "changées" not in flat
    assert b"Nouveau" not in documents.invoice_xml(invoice)


def test_epc_qr_pays_the_total_to_the_firm_with_the_invoice_number(invoicing: Any) -> None:
    invoice = issued_invoice()
    expected = segno.helpers.make_epc_qr(
        name="Cabinet Alpha Médiation SAS",
        iban="FR7630006000011234567890189",
        amount=Decimal("360.00"),
        text=invoice.number,
        bic="AGRIFRPP",
        encoding="utf-8",
    ).png_data_uri(scale=4, border=0)
    assert documents.epc_qr_uri(invoice) == expected
    invoice.seller = {**invoice.seller, "iban": ""}
    assert documents.epc_qr_uri(invoice) == ""


def test_firm_logo_is_inlined(invoicing: Any) -> None:
    logo = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(logo, format="PNG")
    profile = FirmProfile.objects.get(pk=FirmProfile.SINGLETON_PK)
    profile.logo.save("logo.png", ContentFile(logo.getvalue()), save=False)
    profile.primary_color = "#7a1f5c"
    profile.save()
    reader = PdfReader(io.BytesIO(stored_pdf(issued_invoice())))
    sizes = sorted(image.image.size for image in reader.pages[0].images if image.image is not None)
    assert (40, 20) in sizes  # the logo, beside the transfer QR code
    # The brand colour (#7a1f5c) fills the table header: RGB fractions 0.478, 0.122, 0.361.
    assert re.search(rb"0\.478\d* 0\.12\d* 0\.36\d* rg", reader.pages[0].get_contents().get_data())


def test_characters_beyond_the_invoice_font_fall_back_to_system_fonts(invoicing: Any) -> None:
    member = billable_member(legal_name="Ωmega Κафе SARL")
    pdf = stored_pdf(issued_invoice(member=member))
    assert "Ωmega Κафе SARL" in one_line(pdf_text(pdf))
    # The system font is subset, not embedded whole (DejaVu Sans alone weighs 760 KB).
    assert len(pdf) < 120_000


def test_invoice_fonts_are_embedded_whole_only_when_they_draw_every_character(invoicing: Any) -> None:
    assert documents._in_invoice_font("<p>Boulangerie Lefèvre & Fils — 1 234,56\u00a0€ « TTC »</p>\n")
    assert not documents._in_invoice_font("<p>Ωmega</p>")
    reader = PdfReader(io.BytesIO(stored_pdf(issued_invoice())))
    embedded = set()
    for font in reader.pages[0]["/Resources"]["/Font"].get_object().values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        embedded.add(descendant["/FontDescriptor"].get_object()["/FontFile2"].get_object()["/Length1"])
    # Whole: the files as they are in billing/fonts (a subset would be another length).
    assert embedded == {(documents.FONT_DIR / name).stat().st_size for name, _weight in documents.FONT_FILES}


def test_each_firm_prints_its_own_identity(tenant_a: Any, media_root: Any, use_tenant: Any) -> None:
    """Rendering is cached per thread (fonts only): a firm's invoice never carries another firm's identity."""
    alpha = issued_invoice()
    use_tenant("beta")
    firm_identity(
        legal_name="Beta Médiation Conseil SARL",
        siren="552100554",
        siret="55210055400013",
        vat_number=vat_number("552100554"),
        iban="FR1420041010050500013M02606",
        bic="PSSTFRPPXXX",
    )
    by = finance_user()
    draft = services.create_draft(by=by, member=billable_member(), lines=[line("Adhésion", 30_000, "20.00")])
    beta = services.issue_invoice(by=by, invoice=draft)
    flat = one_line(pdf_text(stored_pdf(beta)))
    assert "Beta Médiation Conseil SARL" in flat
    assert "SIREN 552100554" in flat
    assert "Cabinet Alpha" not in flat
    assert "732829320" not in flat
    assert alpha.number == beta.number  # each firm numbers its own invoices
    assert b"732829320" not in documents.invoice_xml(beta)

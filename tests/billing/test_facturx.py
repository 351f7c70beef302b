"""The Factur-X XML: valid against the XSD and the EN 16931 business rules (and the French CTC rules), for each case.

Every invoice here is issued through `billing.services`, so the XML checked is
the one embedded in the stored PDF.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import facturx
import pytest
import time_machine
from lxml import etree

from billing import documents, services
from billing.facturx import RAM, RSM
from billing.models import Invoice
from tests.billing import facturx_rules as rules
from tests.billing.helpers import billable_member, finance_user, firm_identity, issued_invoice

pytestmark = pytest.mark.django_db

NS = {"rsm": RSM, "ram": RAM, "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
ISSUE_DAY = datetime.datetime(2026, 3, 16, 10, 0, tzinfo=datetime.UTC)
HEADER_TAX = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"  # the VAT breakdown (BG-23)


def vat_number(siren: str) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def line(label: str, unit_price_cents: int, vat_rate: str, quantity: str = "1") -> dict[str, Any]:
    return {"label": label, "quantity": quantity, "unit_price_cents": unit_price_cents, "vat_rate": vat_rate}


def xml_of(invoice: Invoice) -> bytes:
    """The XML embedded in the invoice's stored PDF (what the member receives)."""
    invoice.pdf.open("rb")
    try:
        _filename, xml = facturx.get_facturx_xml_from_pdf(invoice.pdf.read(), check_xsd=False)
    finally:
        invoice.pdf.close()
    assert isinstance(xml, bytes)
    return xml


def assert_fully_valid(xml: bytes) -> None:
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    rules.assert_valid(xml, rules.EN16931)
    rules.assert_valid(xml, rules.FR_CTC)


def value(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=NS)]


@pytest.fixture
def invoicing(tenant_a: Any, media_root: Any) -> Any:
    firm_identity()
    with time_machine.travel(ISSUE_DAY, tick=False):
        yield


def test_one_line_invoice_passes_xsd_and_business_rules(invoicing: Any) -> None:
    member = billable_member()
    invoice = issued_invoice(member=member)
    xml = xml_of(invoice)
    assert_fully_valid(xml)
    assert value(xml, "//rsm:ExchangedDocument/ram:ID/text()") == [invoice.number]
    assert value(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["380"]
    assert value(xml, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()") == ["urn:cen.eu:en16931:2017"]
    seller = "//ram:SellerTradeParty"
    assert value(xml, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()") == ["732829320"]
    assert value(xml, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']/text()") == ["FR44732829320"]
    buyer = "//ram:BuyerTradeParty"
    assert value(xml, f"{buyer}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()") == [member.siren]
    assert value(xml, f"{buyer}/ram:PostalTradeAddress/ram:CityName/text()") == ["Lyon"]
    assert value(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert value(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID/text()") == ["FR7630006000011234567890189"]
    assert value(xml, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString/text()") == [
        invoice.due_date.strftime("%Y%m%d")
    ]
    assert value(xml, "//ram:ActualDeliverySupplyChainEvent//udt:DateTimeString/text()") == ["20260316"]
    assert value(xml, "//ram:TaxTotalAmount/@currencyID") == ["EUR"]
    assert value(xml, "//ram:GrandTotalAmount/text()") == ["360.00"]
    assert value(xml, "//ram:DuePayableAmount/text()") == ["360.00"]
    # VAT on receipts (the default for services): the tax point is the payment.
    assert value(xml, f"{HEADER_TAX}/ram:DueDateTypeCode/text()") == ["72"]


def test_embedded_xml_is_the_invoice_xml(invoicing: Any) -> None:
    invoice = issued_invoice()
    assert xml_of(invoice) == documents.invoice_xml(invoice)


def test_buyer_vat_number_and_billing_period(invoicing: Any) -> None:
    member = billable_member()
    member.vat_number = vat_number(member.siren)
    member.save()
    invoice = issued_invoice(
        member=member, period_start=datetime.date(2026, 4, 1), period_end=datetime.date(2027, 3, 31)
    )
    xml = xml_of(invoice)
    assert_fully_valid(xml)
    assert value(xml, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()") == [member.vat_number]
    assert value(xml, "//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString/text()") == ["20260401"]
    assert value(xml, "//ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString/text()") == ["20270331"]
    assert value(xml, "//ram:ActualDeliverySupplyChainEvent//udt:DateTimeString/text()") == ["20260401"]


def test_several_vat_rates_rounded_once_per_rate(invoicing: Any) -> None:
    lines = [
        line("Adhésion annuelle", 30_000, "20.00"),
        line("Option publication", 1_999, "10.00", quantity="3"),
        line("Guide imprimé", 333, "5.50", quantity="2.5"),
        line("Frais de dossier", 4_167, "20.00", quantity="0.5"),
    ]
    invoice = issued_invoice(lines=lines)
    xml = xml_of(invoice)
    assert_fully_valid(xml)
    breakdown = etree.fromstring(xml).xpath(HEADER_TAX, namespaces=NS)
    got = {
        t.findtext(f"{{{RAM}}}RateApplicablePercent"): (
            t.findtext(f"{{{RAM}}}BasisAmount"),
            t.findtext(f"{{{RAM}}}CalculatedAmount"),
            t.findtext(f"{{{RAM}}}CategoryCode"),
        )
        for t in breakdown
    }
    # 300 + 20.835→20.84 = 320.84 at 20 % → 64.168 → 64.17; 59.97 at 10 % → 5.997 → 6.00; 8.325→8.33 at 5.5 % → 0.46.
    assert got == {
        "20.00": ("320.84", "64.17", "S"),
        "10.00": ("59.97", "6.00", "S"),
        "5.50": ("8.33", "0.46", "S"),
    }
    assert value(xml, "//ram:TaxTotalAmount/text()") == ["70.63"]
    assert value(xml, "//ram:GrandTotalAmount/text()") == [f"{Decimal(invoice.gross_cents) / 100:.2f}"]
    assert invoice.gross_cents == 32_084 + 5_997 + 833 + 7_063


def test_exempt_line_carries_the_exemption_reason(invoicing: Any) -> None:
    config = services.billing_settings()
    config.vat_exemption_text = "Exonération de TVA, article 261-4-4° du CGI"
    config.save()
    invoice = issued_invoice(lines=[line("Adhésion", 30_000, "20.00"), line("Formation exonérée", 12_000, "0.00")])
    xml = xml_of(invoice)
    assert_fully_valid(xml)
    exempt = f"{HEADER_TAX}[ram:CategoryCode='E']"
    assert value(xml, f"{exempt}/ram:ExemptionReason/text()") == ["Exonération de TVA, article 261-4-4° du CGI"]
    assert value(xml, f"{exempt}/ram:CalculatedAmount/text()") == ["0.00"]
    assert value(xml, "//ram:IncludedSupplyChainTradeLineItem[2]//ram:CategoryCode/text()") == ["E"]


def test_zero_rate_without_exemption_text_is_zero_rated(invoicing: Any) -> None:
    invoice = issued_invoice(lines=[line("Adhésion", 30_000, "20.00"), line("Débours", 2_500, "0.00")])
    xml = xml_of(invoice)
    assert_fully_valid(xml)
    assert value(xml, f"{HEADER_TAX}/ram:CategoryCode/text()") == [
        "S",
        "Z",
    ]


def test_discount_line_is_a_negative_quantity_at_a_positive_price(invoicing: Any) -> None:
    invoice = issued_invoice(lines=[line("Adhésion", 30_000, "20.00"), line("Remise fédération", -4_500, "20.00")])
    xml = xml_of(invoice)
    assert_fully_valid(xml)
    discount = "//ram:IncludedSupplyChainTradeLineItem[2]"
    assert value(xml, f"{discount}//ram:NetPriceProductTradePrice/ram:ChargeAmount/text()") == ["45.00"]
    assert value(xml, f"{discount}//ram:BilledQuantity/text()") == ["-1.00"]
    assert value(xml, f"{discount}//ram:LineTotalAmount/text()") == ["-45.00"]
    assert value(xml, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:LineTotalAmount/text()") == ["255.00"]
    assert value(xml, "//ram:GrandTotalAmount/text()") == ["306.00"]


def test_vat_on_debits_sets_the_tax_point_to_the_issue_date(invoicing: Any) -> None:
    config = services.billing_settings()
    config.vat_on_debits = True
    config.save()
    xml = xml_of(issued_invoice())
    assert_fully_valid(xml)
    assert value(xml, f"{HEADER_TAX}/ram:DueDateTypeCode/text()") == ["5"]
    assert "Option pour le paiement de la taxe d'après les débits" in value(
        xml, "//rsm:ExchangedDocument/ram:IncludedNote/ram:Content/text()"
    )


def test_french_legal_notes_are_present_once(invoicing: Any) -> None:
    xml = xml_of(issued_invoice())
    codes = value(xml, "//rsm:ExchangedDocument/ram:IncludedNote/ram:SubjectCode/text()")
    assert sorted(codes) == ["AAB", "PMD", "PMT"]
    indemnity = value(xml, "//ram:IncludedNote[ram:SubjectCode='PMT']/ram:Content/text()")
    assert indemnity and "40,00 €" in indemnity[0]


def test_full_credit_note_references_the_invoice(invoicing: Any) -> None:
    by = finance_user()
    invoice = issued_invoice(by=by, lines=[line("Adhésion", 30_000, "20.00"), line("Option", 1_999, "10.00", "3")])
    note = services.create_credit_note(by=by, invoice=invoice, reason="Adhésion résiliée avant son début")
    xml = xml_of(note)
    assert_fully_valid(xml)
    assert value(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert value(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [invoice.number]
    assert value(xml, "//ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/*/text()") == ["20260316"]
    assert value(xml, "//ram:GrandTotalAmount/text()") == [f"{Decimal(invoice.gross_cents) / 100:.2f}"]
    assert "Adhésion résiliée avant son début" in value(xml, "//ram:IncludedNote/ram:Content/text()")
    assert value(xml, "//ram:SpecifiedTradeSettlementPaymentMeans") == []


def test_partial_credit_note_is_valid(invoicing: Any) -> None:
    by = finance_user()
    invoice = issued_invoice(by=by, lines=[line("Adhésion", 30_000, "20.00"), line("Option", 5_000, "10.00")])
    note = services.create_credit_note(
        by=by, invoice=invoice, reason="Option non fournie", lines=[line("Option non fournie", 5_000, "10.00")]
    )
    xml = xml_of(note)
    assert_fully_valid(xml)
    assert value(xml, "//ram:GrandTotalAmount/text()") == ["55.00"]
    assert value(xml, f"{HEADER_TAX}/ram:RateApplicablePercent/text()") == ["10.00"]


def test_doctored_totals_fail_the_business_rules_though_the_xsd_accepts_them(invoicing: Any) -> None:
    xml = xml_of(issued_invoice())
    doctored = xml.replace(
        b'<ram:TaxTotalAmount currencyID="EUR">60.00<', b'<ram:TaxTotalAmount currencyID="EUR">66.00<'
    )
    assert doctored != xml
    assert facturx.xml_check_xsd(doctored, flavor="factur-x", level="en16931")
    failed = {f.rule for f in rules.failures(doctored)}
    assert {"BR-CO-14", "BR-CO-15"} <= failed


def test_a_missing_legal_note_fails_the_french_rules(invoicing: Any) -> None:
    xml = xml_of(issued_invoice())
    without = xml.replace(b"<ram:SubjectCode>PMT</ram:SubjectCode>", b"")
    assert any(f.rule.startswith("BR-FR-05") for f in rules.failures(without, rules.FR_CTC))


def test_a_draft_has_no_xml(invoicing: Any) -> None:
    draft = services.create_draft(by=finance_user(), member=billable_member(), lines=[line("Adhésion", 100, "20.00")])
    with pytest.raises(ValueError, match="issued"):
        documents.invoice_xml(draft)


def test_discount_terms_are_the_firms_when_it_states_them(invoicing: Any) -> None:
    config = services.billing_settings()
    config.payment_terms_text = "Paiement à 30 jours. Escompte de 1 % pour paiement sous 8 jours."
    config.save()
    xml = xml_of(issued_invoice())
    assert_fully_valid(xml)
    assert value(xml, "//ram:IncludedNote[ram:SubjectCode='AAB']/ram:Content/text()") == [
        "Paiement à 30 jours. Escompte de 1 % pour paiement sous 8 jours."
    ]
    config.payment_terms_text = "Paiement à 30 jours."
    config.save()
    xml = xml_of(issued_invoice())
    assert value(xml, "//ram:IncludedNote[ram:SubjectCode='AAB']/ram:Content/text()") == [
        "Pas d'escompte pour paiement anticipé."
    ]

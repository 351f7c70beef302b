"""The Cross-Industry-Invoice XML (UN/CEFACT CII D16B) of an issued invoice, profile EN 16931 (Factur-X).

Built from what was frozen when the invoice was issued (`invoice.seller`,
`invoice.buyer`, `invoice.mentions`, the lines and the amounts), never from
live data, so that the XML and the PDF say the same thing for ever.

Choices worth knowing (each checked by the EN 16931 rules in the tests):
- a discount line (negative unit price) is written with a negative quantity
  and a positive net price: EN 16931 forbids a negative item price (BR-27);
- VAT per rate comes from `billing.services.compute_totals` (BR-CO-17: the
  VAT of a rate is its base × rate, rounded once), category S; a 0 % line is
  E (exempt) with the firm's exemption text when it has one, else Z;
- the tax point (DueDateTypeCode) is the issue date (5) when the firm opted
  for VAT on debits, else the payment date (72), the rule for services;
- a delivery date is always given (an empty delivery block trips
  PEPPOL-EN16931-R008): the start of the billed period, else the issue date;
- the French reform's rules (BR-FR) want the notes PMT (recovery indemnity),
  PMD (late-payment penalties) and AAB (early-payment discount), the billing
  framework S1 (services) in BT-23, and the electronic addresses of both
  parties (BT-34, BT-49): their SIREN under scheme 0225 (the directory's).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from lxml import etree

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NSMAP = {"rsm": RSM, "qdt": QDT, "ram": RAM, "udt": UDT}

GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"
BUSINESS_PROCESS = "S1"  # French billing framework: services, simple invoice
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
PAYMENT_SEPA_TRANSFER = "58"
PAYMENT_NOT_DEFINED = "1"
SCHEME_SIREN = "0002"  # ICD of the French SIRENE register
SCHEME_SIRET = "0009"
SCHEME_FR_DIRECTORY = "0225"  # electronic address of the French e-invoicing directory (SIREN)
SCHEME_VAT = "VA"
UNIT_ONE = "C62"  # "one" (UN/ECE rec. 20)
TAX_POINT_ISSUE_DATE = "5"
TAX_POINT_PAID = "72"
NO_DISCOUNT_TEXT = "Pas d'escompte pour paiement anticipé."
RECOVERY_INDEMNITY_TEXT = "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : {amount} €."
DEFAULT_EXEMPTION_REASON = "Exonération de TVA"


def amount(cents: int) -> str:
    """Integer cents as a CII amount: 2 decimals, a point, a leading minus when negative."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{units}.{rest:02d}"


def decimal2(value: Decimal | str | float) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def euros_fr(cents: int) -> str:
    """40,00 for 4000 (the French legal mentions are written in French whatever the PDF's language)."""
    return amount(cents).replace(".", ",")


def terms_mention_discount(mentions: Mapping[str, Any]) -> bool:
    return "escompte" in str(mentions.get("payment_terms") or "").lower()


def discount_terms(mentions: Mapping[str, Any]) -> str:
    """The early-payment discount mention (AAB): the firm's payment terms when they state it, else none given."""
    return str(mentions["payment_terms"]) if terms_mention_discount(mentions) else NO_DISCOUNT_TEXT


def category(rate: Decimal, exemption_text: str) -> str:
    if rate > 0:
        return "S"
    return "E" if exemption_text else "Z"


def _date(parent: etree._Element, tag: str, day: datetime.date, *, ns: str = UDT) -> etree._Element:
    node = etree.SubElement(parent, f"{{{RAM}}}{tag}")
    string = etree.SubElement(node, f"{{{ns}}}DateTimeString", format="102")
    string.text = day.strftime("%Y%m%d")
    return node


def _text(parent: etree._Element, tag: str, text: Any, **attributes: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{RAM}}}{tag}", **attributes)
    node.text = str(text)
    return node


def _el(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{RAM}}}{tag}")


def _party(parent: etree._Element, tag: str, party: Mapping[str, Any], *, seller: bool) -> None:
    """Seller (BG-4) or buyer (BG-7): name, legal registration, address, electronic address, VAT number."""
    node = _el(parent, tag)
    siret = str(party.get("siret") or "")
    siren = str(party.get("siren") or "")
    if siret and siret.startswith(siren):
        _text(node, "GlobalID", siret, schemeID=SCHEME_SIRET)
    _text(node, "Name", party.get("name") or "")
    if seller and party.get("legal_form"):
        # BT-33: the seller's additional legal information (legal form, register).
        details = " — ".join(str(v) for v in (party.get("legal_form"), party.get("rcs")) if v)
        _text(node, "Description", details)
    legal = _el(node, "SpecifiedLegalOrganization")
    _text(legal, "ID", siren, schemeID=SCHEME_SIREN)
    if party.get("trade_name"):
        _text(legal, "TradingBusinessName", party["trade_name"])
    address = _el(node, "PostalTradeAddress")
    if party.get("postcode"):
        _text(address, "PostcodeCode", party["postcode"])
    _text(address, "LineOne", party.get("address_line1") or "")
    if party.get("address_line2"):
        _text(address, "LineTwo", party["address_line2"])
    _text(address, "CityName", party.get("city") or "")
    _text(address, "CountryID", (party.get("country") or "FR").upper())
    electronic = _el(node, "URIUniversalCommunication")
    _text(electronic, "URIID", siren, schemeID=SCHEME_FR_DIRECTORY)
    if party.get("vat_number"):
        registration = _el(node, "SpecifiedTaxRegistration")
        _text(registration, "ID", party["vat_number"], schemeID=SCHEME_VAT)


def _note(parent: etree._Element, content: str, subject: str = "") -> None:
    note = _el(parent, "IncludedNote")
    _text(note, "Content", content)
    if subject:
        _text(note, "SubjectCode", subject)


def _line_values(line: Any) -> tuple[Decimal, int, int]:
    """(quantity, unit price, net) as written: a negative price becomes a negative quantity (BR-27)."""
    quantity = Decimal(line.quantity)
    price = int(line.unit_price_cents)
    if price < 0:
        return -quantity, -price, int(line.net_cents)
    return quantity, price, int(line.net_cents)


def build_invoice_xml(
    *,
    invoice: Any,
    lines: Iterable[Any],
    totals: Any,
    referenced: tuple[str, datetime.date] | None = None,
) -> bytes:
    """The CII XML (UTF-8 bytes) of an issued invoice or credit note.

    `lines` are the invoice's lines (label, quantity, unit_price_cents,
    vat_rate, net_cents), `totals` is `compute_totals(lines)`, `referenced` the
    corrected invoice's (number, issue date) for a credit note.
    """
    lines = list(lines)
    seller: Mapping[str, Any] = invoice.seller or {}
    buyer: Mapping[str, Any] = invoice.buyer or {}
    mentions: Mapping[str, Any] = invoice.mentions or {}
    currency = invoice.currency or "EUR"
    credit_note = bool(invoice.is_credit_note)
    exemption = str(mentions.get("vat_exemption") or "")

    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
    _text(_el(context, "BusinessProcessSpecifiedDocumentContextParameter"), "ID", BUSINESS_PROCESS)
    _text(_el(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE_EN16931)

    document = etree.SubElement(root, f"{{{RSM}}}ExchangedDocument")
    _text(document, "ID", invoice.number)
    _text(document, "TypeCode", TYPE_CREDIT_NOTE if credit_note else TYPE_INVOICE)
    _date(document, "IssueDateTime", invoice.issue_date)
    _note(document, str(mentions.get("operation_nature") or "Prestation de services"))
    _note(document, discount_terms(mentions), "AAB")
    if mentions.get("late_penalty"):
        _note(document, str(mentions["late_penalty"]), "PMD")
    indemnity = int(mentions.get("recovery_indemnity_cents") or 0)
    _note(document, RECOVERY_INDEMNITY_TEXT.format(amount=euros_fr(indemnity)), "PMT")
    if mentions.get("vat_on_debits"):
        _note(document, str(mentions["vat_on_debits"]))
    if invoice.notes:
        _note(document, str(invoice.notes))

    transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for position, line in enumerate(lines, start=1):
        quantity, price, net = _line_values(line)
        rate = Decimal(line.vat_rate).quantize(Decimal("0.01"))
        item = _el(transaction, "IncludedSupplyChainTradeLineItem")
        _text(_el(item, "AssociatedDocumentLineDocument"), "LineID", position)
        _text(_el(item, "SpecifiedTradeProduct"), "Name", line.label)
        agreement = _el(item, "SpecifiedLineTradeAgreement")
        _text(_el(agreement, "NetPriceProductTradePrice"), "ChargeAmount", amount(price))
        _text(_el(item, "SpecifiedLineTradeDelivery"), "BilledQuantity", decimal2(quantity), unitCode=UNIT_ONE)
        settlement = _el(item, "SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ApplicableTradeTax")
        _text(tax, "TypeCode", "VAT")
        _text(tax, "CategoryCode", category(rate, exemption))
        _text(tax, "RateApplicablePercent", decimal2(rate))
        summation = _el(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
        _text(summation, "LineTotalAmount", amount(net))

    agreement = _el(transaction, "ApplicableHeaderTradeAgreement")
    _party(agreement, "SellerTradeParty", seller, seller=True)
    _party(agreement, "BuyerTradeParty", buyer, seller=False)

    delivery = _el(transaction, "ApplicableHeaderTradeDelivery")
    event = _el(delivery, "ActualDeliverySupplyChainEvent")
    _date(event, "OccurrenceDateTime", invoice.period_start or invoice.issue_date)

    settlement = _el(transaction, "ApplicableHeaderTradeSettlement")
    if not credit_note:
        _text(settlement, "PaymentReference", invoice.number)
    _text(settlement, "InvoiceCurrencyCode", currency)
    if not credit_note:
        means = _el(settlement, "SpecifiedTradeSettlementPaymentMeans")
        iban = str(seller.get("iban") or "").replace(" ", "")
        _text(means, "TypeCode", PAYMENT_SEPA_TRANSFER if iban else PAYMENT_NOT_DEFINED)
        if iban:
            _text(_el(means, "PayeePartyCreditorFinancialAccount"), "IBANID", iban)
            if seller.get("bic"):
                _text(_el(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", seller["bic"])
    tax_point = TAX_POINT_ISSUE_DATE if mentions.get("vat_on_debits") else TAX_POINT_PAID
    for vat in totals.breakdown:
        rate = Decimal(vat.rate).quantize(Decimal("0.01"))
        code = category(rate, exemption)
        tax = _el(settlement, "ApplicableTradeTax")
        _text(tax, "CalculatedAmount", amount(vat.vat_cents))
        _text(tax, "TypeCode", "VAT")
        if code == "E":
            _text(tax, "ExemptionReason", exemption or DEFAULT_EXEMPTION_REASON)
        _text(tax, "BasisAmount", amount(vat.base_cents))
        _text(tax, "CategoryCode", code)
        _text(tax, "DueDateTypeCode", tax_point)
        _text(tax, "RateApplicablePercent", decimal2(rate))
    if invoice.period_start and invoice.period_end:
        period = _el(settlement, "BillingSpecifiedPeriod")
        _date(period, "StartDateTime", invoice.period_start)
        _date(period, "EndDateTime", invoice.period_end)
    terms = _el(settlement, "SpecifiedTradePaymentTerms")
    if mentions.get("payment_terms"):
        _text(terms, "Description", mentions["payment_terms"])
    if invoice.due_date:
        _date(terms, "DueDateDateTime", invoice.due_date)
    summation = _el(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _text(summation, "LineTotalAmount", amount(totals.net_cents))
    _text(summation, "TaxBasisTotalAmount", amount(totals.net_cents))
    _text(summation, "TaxTotalAmount", amount(totals.vat_cents), currencyID=currency)
    _text(summation, "GrandTotalAmount", amount(totals.gross_cents))
    # What is due as printed on the document: payments made later are not on it (it never changes).
    _text(summation, "DuePayableAmount", amount(totals.gross_cents))
    if referenced is not None:
        reference = _el(settlement, "InvoiceReferencedDocument")
        _text(reference, "IssuerAssignedID", referenced[0])
        _date(reference, "FormattedIssueDateTime", referenced[1], ns=QDT)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

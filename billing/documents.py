"""The invoice and credit-note PDF: PDF/A-3b in the firm's colours, with its Factur-X XML (EN 16931) embedded.

`render_invoice_pdf` is called once the issuing transaction has committed
the number and the frozen seller, buyer and mentions (`services.ensure_pdf`);
everything printed comes from those snapshots (an issued invoice never
changes), only the logo and colour are the firm's current branding.

Speed (the yearly renewal run issues thousands of invoices): WeasyPrint
subsets every embedded font with fontTools, which on the system's DejaVu Sans
costs ~90 % of a page. The template uses a pre-cut DejaVu Sans
(`billing/fonts/`, ~400 glyphs, no layout tables) declared once per thread as
a parsed stylesheet with its own font configuration, so each PDF only lays
out its own HTML; the cut is embedded whole, not subset again. Characters
outside the cut fall back to the system fonts (then every font is subset).
"""

from __future__ import annotations

import atexit
import base64
import datetime
import functools
import logging
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import facturx as cii
from billing.models import Invoice, InvoiceLine
from core.pdf import PDF_VARIANT

TEMPLATE = "billing/pdf/invoice.html"
STYLESHEET = "billing/pdf/invoice.css"
FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "InvoiceSans"
FONT_FILES = (("InvoiceSans-Regular.ttf", "normal"), ("InvoiceSans-Bold.ttf", "bold"))
FACTURX_LEVEL = "en16931"

# The frozen mentions are stored in French (the legal language of the invoice); these make them translatable.
FROZEN_MENTIONS = {
    "Prestation de services": gettext_lazy("Prestation de services"),
    "Option pour le paiement de la taxe d'après les débits": gettext_lazy(
        "Option pour le paiement de la taxe d'après les débits"
    ),
}

_local = threading.local()


@atexit.register
def _drop_renderer() -> None:
    # Pango's objects must go before the interpreter tears down the modules their finalizer needs.
    _local.__dict__.pop("renderer", None)


@functools.cache
def font_css() -> str:
    """The @font-face rules of the invoice font, as `data:` URIs (the only scheme the PDF renderer fetches)."""
    rules = []
    for filename, weight in FONT_FILES:
        encoded = base64.b64encode((FONT_DIR / filename).read_bytes()).decode("ascii")
        rules.append(
            f"@font-face {{ font-family: {FONT_FAMILY}; font-weight: {weight}; font-style: normal; "
            f"src: url(data:font/ttf;base64,{encoded}) format('truetype'); }}"
        )
    return "\n".join(rules)


@functools.cache
def _font_characters() -> frozenset[str]:
    """Every character both invoice fonts draw (and the line breaks and tabs the HTML holds)."""
    from fontTools.ttLib import TTFont

    common: set[int] | None = None
    for filename, _weight in FONT_FILES:
        cmap = set(TTFont(FONT_DIR / filename, lazy=True).getBestCmap())
        common = cmap if common is None else common & cmap
    return frozenset(chr(code) for code in common or ()) | frozenset("\n\r\t")


def _in_invoice_font(html: str) -> bool:
    return set(html) <= _font_characters()


def _renderer() -> tuple[Any, Any, Any]:
    """(font configuration, stylesheet, URL fetcher) of this thread, built on first use.

    Pango's font map behind a FontConfiguration is not meant to be shared
    between threads; one per thread parses the fonts and the invoice's
    stylesheet once (the page itself only sets the firm's colours).
    """
    cached = getattr(_local, "renderer", None)
    if cached is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

        fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
        fonts = FontConfiguration()
        css = font_css() + "\n" + render_to_string(STYLESHEET)
        stylesheet = CSS(string=css, font_config=fonts, url_fetcher=fetcher)
        cached = _local.renderer = (fonts, stylesheet, fetcher)
    return cached


class _QuietFontSubsetting(logging.Filter):
    """WeasyPrint warns on every PDF that it subsets with fontTools (no HarfBuzz-Subset here): once is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Using fontTools instead of HarfBuzz-Subset")


@functools.cache
def _quiet_logs() -> None:
    # A renewal run renders thousands of PDFs: no per-glyph, per-step or per-font lines in the worker's log.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    logging.getLogger("weasyprint").addFilter(_QuietFontSubsetting())
    logging.getLogger("factur-x").setLevel(logging.WARNING)  # one INFO line per XSD check


def html_to_pdf(html: str) -> bytes:
    """The PDF/A-3b of `html` with the invoice font; like `core.pdf.html_to_pdf`, only `data:` URIs are fetched."""
    from weasyprint import HTML

    _quiet_logs()
    fonts, stylesheet, fetcher = _renderer()
    # The invoice fonts are already cut to ~400 glyphs: embedded whole, they add ~28 KB to a PDF
    # (48 KB instead of 20 KB) and spare WeasyPrint's per-PDF subsetting, ~25 ms of ~125 ms. Not when
    # a character falls back to a system font: that one would be embedded whole too (hundreds of KB).
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet], font_config=fonts, pdf_variant=PDF_VARIANT, full_fonts=_in_invoice_font(html)
    )
    assert isinstance(pdf, bytes)  # no target given: WeasyPrint returns the bytes
    return pdf


# --- What the document says ---------------------------------------------------------------------------


def firm_language(profile: Any = None) -> str:
    from firm.selectors import firm_profile

    return (profile or firm_profile()).default_language or settings.LANGUAGE_CODE


def plain_number(value: Decimal) -> str:
    """2,5 / 20 / 5,5 in French (2.5 in English): at most two decimals, no useless zeros."""
    value = Decimal(value).quantize(Decimal("0.01")).normalize()
    places = max(0, -int(value.as_tuple().exponent))
    return str(number_format(value, places, use_l10n=True))


def rate_label(rate: Decimal) -> str:
    return f"{plain_number(rate)} %"


def translated_mention(text: str) -> str:
    return str(FROZEN_MENTIONS.get(text, text))


def epc_qr_uri(invoice: Invoice) -> str:
    """The EPC (SEPA credit transfer) QR code paying `invoice`'s total to the firm's IBAN, or "" when none applies."""
    import segno.helpers

    seller = invoice.seller or {}
    iban = str(seller.get("iban") or "").replace(" ", "")
    if invoice.is_credit_note or not iban or not 1 <= invoice.gross_cents <= 999_999_999_99:
        return ""
    qr = segno.helpers.make_epc_qr(
        name=str(seller.get("name") or "")[:70],
        iban=iban,
        amount=Decimal(invoice.gross_cents) / 100,
        text=invoice.number,
        bic=str(seller.get("bic") or "") or None,
        encoding="utf-8",  # EPC character set 1: what every banking app reads (Latin-1 was misread in tests)
    )
    # A PNG with 4 px modules, drawn without smoothing (invoice.css): WeasyPrint draws an SVG QR
    # code path by path, ~5 ms per invoice more.
    return str(qr.png_data_uri(scale=4, border=0))


def _branding(profile: Any) -> dict[str, Any]:
    """The firm's current logo and colours (presentation only: the identity printed is the frozen one)."""
    from mediation.cases.letters import branding

    page = branding(profile)
    return {"logo_uri": page["logo_uri"], "brand_colour": page["brand_colour"], "brand_text": page["brand_text"]}


def _referenced(invoice: Invoice) -> tuple[str, datetime.date] | None:
    corrected = invoice.credited_invoice if invoice.is_credit_note else None
    if corrected is None or not corrected.number or corrected.issue_date is None:
        return None
    return corrected.number, corrected.issue_date


def _lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.order_by("position", "pk"))


def document_context(invoice: Invoice, lines: list[InvoiceLine], profile: Any = None) -> dict[str, Any]:
    """What the template prints, from the invoice's frozen data (`profile`: the firm's, for its branding)."""
    from billing.services import compute_totals
    from firm.selectors import firm_profile

    totals = compute_totals(lines)
    mentions = invoice.mentions or {}
    has_zero_rate = any(v.rate == 0 for v in totals.breakdown)
    referenced = _referenced(invoice)
    return {
        "invoice": invoice,
        "seller": invoice.seller or {},
        "buyer": invoice.buyer or {},
        "mentions": mentions,
        "rows": [
            {
                "label": line.label,
                "quantity": plain_number(line.quantity),
                "unit_price_cents": line.unit_price_cents,
                "rate": rate_label(line.vat_rate),
                "net_cents": line.net_cents,
            }
            for line in lines
        ],
        "totals": totals,
        "vat_rows": [
            {"rate": rate_label(v.rate), "base_cents": v.base_cents, "vat_cents": v.vat_cents} for v in totals.breakdown
        ],
        "operation_nature": translated_mention(str(mentions.get("operation_nature") or "Prestation de services")),
        "vat_on_debits": translated_mention(str(mentions.get("vat_on_debits") or "")),
        "vat_exemption": str(mentions.get("vat_exemption") or "") if has_zero_rate else "",
        "recovery_indemnity_cents": int(mentions.get("recovery_indemnity_cents") or 0),
        # The discount terms are a legal mention: the firm's payment terms carry them, else "no discount".
        "discount_terms": "" if cii.terms_mention_discount(mentions) else cii.NO_DISCOUNT_TEXT,
        "referenced_number": referenced[0] if referenced else "",
        "referenced_date": referenced[1] if referenced else None,
        "qr_uri": epc_qr_uri(invoice),
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        **_branding(profile or firm_profile()),
    }


def invoice_xml(invoice: Invoice) -> bytes:
    """The Factur-X (CII, EN 16931) XML of an issued invoice or credit note."""
    if invoice.is_draft or not invoice.number or invoice.issue_date is None:
        raise ValueError("only an issued invoice has a Factur-X XML")
    return _xml(invoice, _lines(invoice))


def _xml(invoice: Invoice, lines: list[InvoiceLine]) -> bytes:
    from billing.services import compute_totals

    return cii.build_invoice_xml(
        invoice=invoice, lines=lines, totals=compute_totals(lines), referenced=_referenced(invoice)
    )


def _pdf_metadata(invoice: Invoice) -> dict[str, str]:
    seller = str((invoice.seller or {}).get("name") or "")
    kind = _("Avoir") if invoice.is_credit_note else _("Facture")
    issued = invoice.issue_date.strftime("%d/%m/%Y") if invoice.issue_date else ""
    return {
        "author": seller,
        "keywords": f"Factur-X, {kind}",
        "title": f"{kind} {invoice.number}",
        "subject": _("%(kind)s %(number)s du %(date)s émise par %(seller)s")
        % {"kind": kind, "number": invoice.number, "date": issued, "seller": seller},
    }


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The Factur-X PDF of an issued invoice: PDF/A-3b rendered first, then the CII XML embedded (XSD-checked)."""
    import facturx

    from firm.selectors import firm_profile

    profile = firm_profile()
    language = firm_language(profile)
    lines = _lines(invoice)
    with translation.override(language):
        html = render_to_string(TEMPLATE, document_context(invoice, lines, profile))
        metadata = _pdf_metadata(invoice)
    result = facturx.generate_from_binary(
        html_to_pdf(html),
        _xml(invoice, lines),
        flavor="factur-x",
        level=FACTURX_LEVEL,
        check_xsd=True,
        pdf_metadata=metadata,
        lang="en-GB" if language.startswith("en") else "fr-FR",
    )
    assert isinstance(result, bytes)
    return result

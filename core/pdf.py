"""PDF rendering shared by every app (letters, certificates, invoices): HTML templates through WeasyPrint.

PDFs are PDF/A-3b (archivable, and Factur-X can be embedded afterwards).
Only `data:` URIs are fetched: a template never reaches the network or the
disk, so a firm's logo is inlined (`data_uri`) before rendering.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from django.template.loader import render_to_string

PDF_VARIANT = "pdf/a-3b"


def data_uri(content: bytes, content_type: str) -> str:
    """`content` as a `data:` URI, for an image inlined in a PDF template."""
    return f"data:{content_type};base64,{base64.b64encode(content).decode('ascii')}"


def html_to_pdf(html: str) -> bytes:
    """The PDF/A-3b of an HTML document; external resources other than `data:` URIs are ignored."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # fontTools logs every glyph subset at INFO: thousands of lines per PDF in the worker's log.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(pdf_variant=PDF_VARIANT)
    assert isinstance(pdf, bytes)  # no target given: WeasyPrint returns the bytes
    return pdf


def render_html(template_name: str, context: dict[str, Any]) -> str:
    return render_to_string(template_name, context)


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Renders the Django template `template_name` with `context`, then converts it to PDF/A-3b."""
    return html_to_pdf(render_html(template_name, context))

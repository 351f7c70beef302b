"""The Content-Security-Policy header: no inline script, no frame, forms to us and Stripe's hosted pages."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_forbid_inline_scripts_and_frames(tenant_a, client_a):
    directives = _directives(client_a.get("/"))

    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["style-src"]
    assert set(directives["form-action"]) == {
        "'self'",
        "https://checkout.stripe.com",
        "https://connect.stripe.com",
        "https://billing.stripe.com",
    }


def test_the_platform_host_sends_it_too(public_client):
    assert "script-src 'self'" in public_client.get("/")["Content-Security-Policy"]


def test_the_api_docs_page_has_no_inline_script(tenant_a, client_a):
    body = client_a.get("/api/docs/").content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", body, flags=re.S)
    assert scripts, "Swagger UI loads its scripts"
    assert all("src=" in attributes and not content.strip() for attributes, content in scripts)

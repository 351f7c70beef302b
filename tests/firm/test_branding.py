"""The firm's colours, logo and sender identity reach its pages and e-mails."""

from __future__ import annotations

import io

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from firm import branding
from firm.models import FirmProfile
from tests.factories import UserFactory


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "#123456").save(buffer, format="PNG")
    return buffer.getvalue()


def test_theme_css_carries_the_firm_colours_with_readable_text(tenant_a, client_a):
    FirmProfile.objects.create(pk=1, primary_color="#FFE14D", secondary_color="#1D4E89")

    response = client_a.get("/theme.css")

    css = response.content.decode()
    assert response["Content-Type"].startswith("text/css")
    assert "--brand: #ffe14d;" in css and "--brand-contrast: #000000;" in css
    assert "--accent: #1d4e89;" in css and "--accent-contrast: #ffffff;" in css
    assert client_a.get("/theme.css", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_every_page_of_the_firm_links_its_theme(tenant_a, client_a):
    assert '<link rel="stylesheet" href="/theme.css">' in client_a.get("/").content.decode()


@given(st.integers(min_value=0, max_value=0xFFFFFF))
def test_the_computed_text_colour_meets_wcag_aa_on_any_brand_colour(value):
    colour = f"#{value:06x}"
    assert branding.contrast_ratio(colour, branding.text_on(colour)) >= 4.5


def test_the_logo_is_shown_in_the_header_and_served(tenant_a, client_a, media_root):
    FirmProfile.objects.create(pk=1, logo=SimpleUploadedFile("logo.png", _png(), content_type="image/png"))

    page = client_a.get("/").content.decode()
    served = client_a.get("/logo")

    assert '<img class="brand-logo" src="/logo"' in page
    assert served.status_code == 200
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")


def test_no_logo_is_a_404_and_no_image_in_the_header(tenant_a, client_a):
    assert client_a.get("/logo").status_code == 404
    assert "brand-logo" not in client_a.get("/").content.decode()


def test_login_codes_leave_under_the_firm_name_with_its_reply_to(tenant_a, client_a):
    FirmProfile.objects.create(pk=1, email_sender_name="Médiation Alpha", reply_to_email="contact@alpha.fr")
    UserFactory(email="sophie@example.fr")

    client_a.post("/accounts/login/code/", {"email": "sophie@example.fr"})

    assert mail.outbox[0].from_email.startswith("=?utf-8?q?M=C3=A9diation_Alpha?= <") or mail.outbox[
        0
    ].from_email.startswith("Médiation Alpha <")
    assert mail.outbox[0].reply_to == ["contact@alpha.fr"]

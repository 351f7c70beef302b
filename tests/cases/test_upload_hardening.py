"""Uploads refused or tamed whatever they pretend to be: type checked on content, size capped, the stored name
random, the original name reduced to a base name, served only to who may see it, as an attachment.

Through the staff case page's upload form (the same service serves the filing wizard and the parties' space).
"""

from __future__ import annotations

import html
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mediation.cases.models import CaseDocument
from tests.factories import PDF_BYTES, UserFactory, received_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(tenant_a, client_a):
    client_a.force_login(UserFactory(role="case_officer"))
    return client_a


def _upload(client, case, name: str, content: bytes, content_type: str = "application/pdf"):
    return client.post(
        f"/staff/dossiers/{case.reference}/action/upload/",
        {
            "upload-file": SimpleUploadedFile(name, content, content_type=content_type),
            "upload-kind": "evidence",
            "upload-channel": "internal",
        },
    )


def _zip_bomb() -> bytes:
    """A small ZIP that would inflate to 100 MB of zeros (never inflated here: refused on its first bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (100 * 1024 * 1024))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("facture.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120, "application/pdf"),  # a Windows executable
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 60, "application/x-msdownload"),
        ("releve.pdf", b"<!doctype html><script>alert(document.cookie)</script>", "application/pdf"),
        ("page.html", b"<html><body onload=alert(1)>", "text/html"),
        ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
        ("archive.pdf", None, "application/pdf"),  # the zip bomb, renamed
    ],
    ids=["exe-renamed-pdf", "exe", "html-renamed-pdf", "html", "svg-with-script", "zip-bomb-renamed-pdf"],
)
def test_anything_but_a_pdf_jpeg_or_png_is_refused_on_its_content(officer_client, name, content, content_type):
    case = received_case()
    before = case.documents.count()

    response = _upload(officer_client, case, name, content if content is not None else _zip_bomb(), content_type)

    assert response.status_code == 400
    assert "n'est ni un PDF, ni une image JPEG ou PNG" in html.unescape(response.content.decode())
    assert case.documents.count() == before


def test_a_50_mb_file_is_refused_with_its_limit_and_nothing_is_kept(officer_client, media_root):
    case = received_case()
    before = case.documents.count()
    big = PDF_BYTES + b"\0" * (50 * 1024 * 1024)

    response = _upload(officer_client, case, "gros.pdf", big)

    assert response.status_code == 400
    assert "dépasse 10 Mo" in html.unescape(response.content.decode())
    assert case.documents.count() == before
    stored = list((media_root / "alpha" / "cases").rglob("*")) if (media_root / "alpha").exists() else []
    assert all(path.stat().st_size < 1024 * 1024 for path in stored if path.is_file())


@pytest.mark.parametrize("name", ["../../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf", "/tmp/x/../y.pdf"])
def test_a_path_in_the_name_is_reduced_to_its_base_name_and_the_file_stored_under_a_random_name(
    officer_client, media_root, name
):
    case = received_case()

    response = _upload(officer_client, case, name, PDF_BYTES)

    assert response.status_code == 302
    document = CaseDocument.objects.filter(case=case).latest("pk")
    assert "/" not in document.original_name and "\\" not in document.original_name
    assert ".." not in document.original_name.replace(".pdf", "")
    assert document.file.name.startswith(f"cases/{case.pk}/") and ".." not in document.file.name
    assert document.original_name not in document.file.name
    stored = media_root.resolve()
    assert str(stored) in str((stored / "alpha" / document.file.name).resolve())


def test_a_document_is_served_as_an_attachment_with_its_checked_type(officer_client, media_root):
    case = received_case()
    _upload(officer_client, case, "preuve.pdf", PDF_BYTES)
    document = CaseDocument.objects.filter(case=case).latest("pk")

    response = officer_client.get(f"/staff/dossiers/{case.reference}/pieces/{document.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_document_of_another_firm_is_a_404(officer_client, use_tenant, client_b):
    case = received_case()
    _upload(officer_client, case, "preuve.pdf", PDF_BYTES)
    document = CaseDocument.objects.filter(case=case).latest("pk")
    use_tenant("beta")
    client_b.force_login(UserFactory(role="admin"))

    assert client_b.get(f"/staff/dossiers/{case.reference}/pieces/{document.pk}/").status_code == 404

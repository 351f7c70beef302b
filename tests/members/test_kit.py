from __future__ import annotations

import datetime
import io
import re

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from core.models import AuditEntry
from mediation.members import kit
from mediation.members.models import BadgeToken
from tests.factories import AdminFactory, MemberFactory, UserFactory
from tests.members.kit_helpers import covered_member, firm_profile, firm_with_mediator, membership

pytestmark = pytest.mark.django_db

JAN_1 = datetime.date(2026, 1, 1)
DEC_31 = datetime.date(2026, 12, 31)
MID_YEAR = datetime.date(2026, 6, 15)


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


@pytest.fixture
def qr_data(monkeypatch):
    """Every text a kit item encodes in a QR code (segno gets exactly this data)."""
    seen: list[str] = []
    original = kit.qr_data_uri

    def spy(data: str) -> str:
        seen.append(data)
        return original(data)

    monkeypatch.setattr(kit, "qr_data_uri", spy)
    return seen


@pytest.fixture
def member(tenant_a):
    firm_with_mediator()
    return covered_member(starts_on=JAN_1, ends_on=DEC_31, legal_name="Boulangerie Dupain SARL")


# --- Certificate and posters ---------------------------------------------------------


def test_certificate_holds_mediator_website_validity_and_number(member, qr_data):
    content = kit.certificate_pdf(member=member, today=MID_YEAR)
    text = pdf_text(content)
    assert "Certificat d'adhésion" in text
    assert "Boulangerie Dupain SARL" in text
    assert "Hélène Rousseau" in text
    assert "https://www.alpha-mediation.fr" in text
    assert "Valable du 1 janvier 2026 au 31 décembre 2026" in text
    assert f"ALPHA-{member.pk}-2026" in text
    token = BadgeToken.objects.get(member=member, revoked_at__isnull=True).token
    assert qr_data == [f"http://alpha.localhost:8000/verifier/{token}/"]
    assert qr_data[0] in text.replace(" ", "")


@pytest.mark.parametrize("status", ["lapsed", "terminated", "prospect"])
def test_certificate_refused_when_not_covered(member, status):
    member.status = status
    member.save()
    with pytest.raises(kit.NotCovered, match="n'est pas couvert"):
        kit.certificate_pdf(member=member, today=MID_YEAR)


def test_certificate_refused_after_the_term(member):
    with pytest.raises(kit.NotCovered):
        kit.certificate_pdf(member=member, today=DEC_31 + datetime.timedelta(days=1))


@pytest.mark.parametrize(("size", "width_mm"), [("A4", 210), ("A5", 148)])
def test_poster_shows_mediator_website_and_filing_qr(member, qr_data, size, width_mm):
    content = kit.poster_pdf(member=member, size=size)
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    assert round(float(reader.pages[0].mediabox.width) / 72 * 25.4) == width_mm
    text = pdf_text(content)
    assert "Hélène Rousseau" in text and "https://www.alpha-mediation.fr" in text
    assert "12 rue de la Paix" in text and "Boulangerie Dupain SARL" in text
    assert qr_data == [f"http://alpha.localhost:8000/deposer/?adherent={member.siren}"]


def test_poster_size_is_checked(member):
    with pytest.raises(ValueError):
        kit.poster_pdf(member=member, size="A3")  # type: ignore[arg-type]


def test_qr_code_encodes_the_given_url():
    import segno

    url = "http://alpha.localhost:8000/verifier/abc/"
    assert kit.qr_data_uri(url) == segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=2)
    assert kit.qr_data_uri(url).startswith("data:image/svg+xml")


# --- Texts --------------------------------------------------------------------------


def test_cgv_clause_holds_the_firms_current_details(member):
    clause = kit.cgv_clause(member=member)
    for part in (
        "Hélène Rousseau",
        "Alpha Médiation SAS",
        "https://www.alpha-mediation.fr",
        "12 rue de la Paix, 75002 Paris",
        "Boulangerie Dupain SARL",
        f"/deposer/?adherent={member.siren}",
        "réclamation écrite",
    ):
        assert part in clause
    assert "ec.europa.eu" not in clause and "odr" not in clause.lower()


def test_cgv_clause_and_website_text_follow_profile_changes(member):
    before = (kit.cgv_clause(member=member), kit.website_text(member=member))
    firm_profile(
        website="https://mediation-nouvelle.fr", address_line1="3 place Bellecour", postcode="69002", city="Lyon"
    )
    clause, website = kit.cgv_clause(member=member), kit.website_text(member=member)
    assert (clause, website) != before
    for text in (clause, website):
        assert "https://mediation-nouvelle.fr" in text and "3 place Bellecour, 69002 Lyon" in text
        assert "alpha-mediation.fr" not in text and "rue de la Paix" not in text


def test_texts_name_every_active_mediator(member):
    from tests.factories import MediatorFactory

    MediatorFactory(first_name="Paul", last_name="Bernard")
    MediatorFactory(first_name="Inès", last_name="Zola", is_active=False)
    text = kit.website_text(member=member)
    assert "Paul Bernard et Hélène Rousseau" in text and "Zola" not in text


def test_without_a_website_the_firms_platform_site_is_given(member):
    firm_profile(website="")
    assert "Site internet : http://alpha.localhost:8000" in kit.website_text(member=member)


# --- Badge token and snippet --------------------------------------------------------


def test_badge_token_is_stable_and_unguessable(member):
    first = kit.badge_token(member=member)
    assert kit.badge_token(member=member) == first
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", first.token)
    other = kit.badge_token(member=MemberFactory())
    assert other.token != first.token


def test_revoke_issues_a_new_token_and_audits(member):
    admin = AdminFactory()
    old = kit.badge_token(member=member)
    new = kit.revoke_badge(member=member, by=admin)
    old.refresh_from_db()
    assert old.revoked_at is not None and new.revoked_at is None and new.token != old.token
    assert kit.badge_token(member=member) == new
    entry = AuditEntry.objects.get(action="members.badge_revoked", object_id=str(member.pk))
    assert entry.actor_id == admin.pk and old.token not in str(entry.changes)


@pytest.mark.parametrize("role", [User.Role.MEDIATOR, User.Role.FINANCE, User.Role.READ_ONLY, User.Role.MEMBER])
def test_revoke_needs_members_edit(member, role):
    with pytest.raises(PermissionDenied):
        kit.revoke_badge(member=member, by=UserFactory(role=role))
    assert not BadgeToken.objects.filter(revoked_at__isnull=False).exists()


def test_snippet_links_the_verification_page_and_the_svg(member):
    token = kit.badge_token(member=member).token
    snippet = kit.badge_snippet(member=member)
    base = f"http://alpha.localhost:8000/verifier/{token}/"
    assert snippet.startswith(f'<a href="{base}"')
    assert f'<img src="{base}badge.svg"' in snippet
    assert (
        'alt="Médiation de la consommation : vérifier que Boulangerie Dupain SARL est couvert par Alpha Médiation SAS"'
        in snippet
    )


def test_snippet_escapes_the_business_name(tenant_a):
    firm_with_mediator()
    snippet = kit.badge_snippet(member=MemberFactory(legal_name='Chez "Jo" <b>'))
    assert "<b>" not in snippet and "&lt;b&gt;" in snippet and "&quot;Jo&quot;" in snippet


# --- Staff kit page -----------------------------------------------------------------


def kit_url(member, suffix: str = "") -> str:
    return f"/staff/adherents/kit/{member.pk}/{suffix}"


@pytest.fixture
def login(client_a):
    def as_role(role):
        user = UserFactory(role=role)
        client_a.force_login(user)
        return user

    return as_role


def test_kit_page_shows_texts_snippet_and_downloads(member, client_a, login, use_tenant):
    login(User.Role.CASE_OFFICER)
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False):
        response = client_a.get(kit_url(member))
    assert response.status_code == 200
    body = response.content.decode()
    use_tenant("alpha")
    token = kit.badge_token(member=member).token
    assert '<textarea id="cgv-clause" rows="9" readonly>' in body
    assert "Hélène Rousseau" in body and "https://www.alpha-mediation.fr" in body
    assert f"/verifier/{token}/badge.svg" in body
    for suffix in ("certificat.pdf", "affiche-a4.pdf", "affiche-a5.pdf", "revoquer-badge/"):
        assert kit_url(member, suffix) in body
    assert 'src="/static/members/kit.js"' in body and "<script>" not in body
    assert 'data-copy="cgv-clause"' in body


def test_kit_page_of_a_member_not_covered_hides_the_certificate(tenant_a, client_a, login):
    firm_with_mediator()
    lapsed = MemberFactory(status="lapsed")
    login(User.Role.CASE_OFFICER)
    body = client_a.get(kit_url(lapsed)).content.decode()
    assert "Non couvert" in body and kit_url(lapsed, "certificat.pdf") not in body


def test_kit_page_read_only_user_sees_no_revoke_button(member, client_a, login):
    login(User.Role.READ_ONLY)
    response = client_a.get(kit_url(member))
    assert response.status_code == 200 and "revoquer-badge/" not in response.content.decode()


def test_kit_page_permissions(member, client_a, login):
    assert client_a.get(kit_url(member)).status_code == 302  # anonymous: to the login page
    login(User.Role.MEMBER)
    assert client_a.get(kit_url(member)).status_code == 403
    assert client_a.get(kit_url(member, "affiche-a4.pdf")).status_code == 403
    assert client_a.get(kit_url(member, "certificat.pdf")).status_code == 403


def test_kit_page_unknown_member_404(tenant_a, client_a, login):
    login(User.Role.CASE_OFFICER)
    assert client_a.get("/staff/adherents/kit/999999/").status_code == 404


def test_kit_page_of_another_firms_member_is_404(member, client_b, use_tenant):
    use_tenant("beta")
    client_b.force_login(UserFactory(role=User.Role.ADMIN))
    assert client_b.get(kit_url(member)).status_code == 404


def test_downloads(member, client_a, login):
    login(User.Role.FINANCE)
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False):
        certificate = client_a.get(kit_url(member, "certificat.pdf"))
    assert certificate.status_code == 200 and certificate["Content-Type"] == "application/pdf"
    assert 'filename="certificat-adhesion-boulangerie-dupain-sarl-2026.pdf"' in certificate["Content-Disposition"]
    assert "Valable du 1 janvier 2026" in pdf_text(certificate.content)
    a5 = client_a.get(kit_url(member, "affiche-a5.pdf"))
    assert a5.status_code == 200 and round(float(PdfReader(io.BytesIO(a5.content)).pages[0].mediabox.width)) == 420


def test_certificate_download_of_a_member_not_covered_says_why(tenant_a, client_a, login):
    firm_with_mediator()
    unpaid = MemberFactory(status="active")
    membership(unpaid, starts_on=JAN_1, ends_on=DEC_31, paid=False)
    login(User.Role.CASE_OFFICER)
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False):
        response = client_a.get(kit_url(unpaid, "certificat.pdf"), follow=True)
    assert response.redirect_chain[-1][0] == kit_url(unpaid)
    assert "La cotisation n&#x27;est pas réglée" in response.content.decode()


def test_revoke_from_the_page(member, client_a, login, use_tenant):
    login(User.Role.CASE_OFFICER)
    client_a.get(kit_url(member))
    use_tenant("alpha")
    old = kit.badge_token(member=member).token
    response = client_a.post(kit_url(member, "revoquer-badge/"))
    assert response.status_code == 302 and response["Location"] == kit_url(member)
    use_tenant("alpha")
    assert BadgeToken.objects.get(token=old).revoked_at is not None
    assert AuditEntry.objects.filter(action="members.badge_revoked").count() == 1


@pytest.mark.parametrize("role", [User.Role.MEDIATOR, User.Role.FINANCE, User.Role.READ_ONLY, User.Role.MEMBER])
def test_revoke_refused_without_members_edit(member, client_a, login, use_tenant, role):
    login(role)
    assert client_a.post(kit_url(member, "revoquer-badge/")).status_code == 403
    use_tenant("alpha")
    assert not BadgeToken.objects.filter(revoked_at__isnull=False).exists()


def test_revoke_is_post_only(member, client_a, login):
    login(User.Role.ADMIN)
    assert client_a.get(kit_url(member, "revoquer-badge/")).status_code == 405


def test_certificate_issued_date_is_local(member):
    with time_machine.travel(timezone.make_aware(datetime.datetime(2026, 6, 15, 9)), tick=False):
        assert "15 juin 2026" in pdf_text(kit.certificate_pdf(member=member, today=timezone.localdate()))

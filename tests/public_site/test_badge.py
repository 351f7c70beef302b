from __future__ import annotations

import datetime
import html
import re

import pytest
import time_machine
from django.utils import timezone

from mediation.members import kit
from mediation.members.models import BadgeToken
from tests.factories import AdminFactory, MemberFactory
from tests.members.kit_helpers import covered_member, firm_with_mediator, membership

pytestmark = pytest.mark.django_db

JAN_1 = datetime.date(2026, 1, 1)
DEC_31 = datetime.date(2026, 12, 31)


def at(day: datetime.date, hour: int = 12):
    """time_machine on `day` at `hour` in Paris."""
    moment = datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_default_timezone())
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def covered(tenant_a):
    firm_with_mediator()
    member = covered_member(starts_on=JAN_1, ends_on=DEC_31, legal_name="Boulangerie Dupain SARL")
    return member, kit.badge_token(member=member).token


def page(client, token):
    return client.get(f"/verifier/{token}/")


def svg(client, token, **headers):
    return client.get(f"/verifier/{token}/badge.svg", **headers)


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_page_says_covered_with_mediator_and_end_date(covered, client_a):
    member, token = covered
    with at(datetime.date(2026, 6, 15)):
        response = page(client_a, token)
    assert response.status_code == 200
    body = text(response)
    assert "Boulangerie Dupain SARL est couvert par le médiateur Hélène Rousseau jusqu'au 31 décembre 2026." in body
    assert "Vérifié le 15 juin 2026." in body
    assert 'href="https://www.alpha-mediation.fr"' in response.content.decode()
    assert f"/deposer/?adherent={member.siren}" in response.content.decode()


def test_badge_svg_covered_is_green_and_self_contained(covered, client_a):
    _member, token = covered
    with at(datetime.date(2026, 6, 15)):
        response = svg(client_a, token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    body = response.content.decode()
    assert body.startswith("<svg") and "Couvert jusqu&#x27;au 31/12/2026" in body
    assert "#17663a" in body and "Hélène Rousseau" in body
    # No external resource: no link, no stylesheet, no script, no other URL than the SVG namespace.
    assert re.findall(r"https?://[^\"']+", body) == ["http://www.w3.org/2000/svg"]
    assert "<script" not in body and "href" not in body


def test_flips_to_not_covered_the_day_after_the_end(covered, client_a):
    _member, token = covered
    with at(DEC_31):
        assert "est couvert" in text(page(client_a, token))
        assert "Couvert jusqu" in svg(client_a, token).content.decode()
    with at(DEC_31 + datetime.timedelta(days=1)):
        body = text(page(client_a, token))
        image = svg(client_a, token).content.decode()
    assert "Boulangerie Dupain SARL n'est pas couvert par le médiateur Hélène Rousseau." in body
    assert "L'adhésion est échue" in body
    assert "Non couvert" in image and "#a11d1d" in image and "Couvert jusqu" not in image


def test_flips_when_the_membership_is_terminated(covered, client_a, use_tenant):
    member, token = covered
    with at(datetime.date(2026, 6, 15)):
        assert "est couvert" in text(page(client_a, token))
        use_tenant("alpha")
        member.memberships.update(terminated_at=timezone.now())
        body = text(page(client_a, token))
    assert "n'est pas couvert" in body and "L'adhésion a été résiliée" in body


def test_unpaid_term_is_not_covered(tenant_a, client_a):
    firm_with_mediator()
    member = MemberFactory(status="active")
    membership(member, starts_on=JAN_1, ends_on=DEC_31, paid=False)
    token = kit.badge_token(member=member).token
    with at(datetime.date(2026, 6, 15)):
        assert "La cotisation n'est pas réglée" in text(page(client_a, token))
        assert "Non couvert" in svg(client_a, token).content.decode()


def test_revoked_token_never_shows_covered(covered, client_a, use_tenant):
    member, token = covered
    kit.revoke_badge(member=member, by=AdminFactory())
    with at(datetime.date(2026, 6, 15)):
        response = page(client_a, token)
        image = svg(client_a, token).content.decode()
    assert response.status_code == 200
    assert "Ce badge n'est plus valable." in text(response)
    assert "est couvert par" not in text(response) and "Boulangerie" not in text(response)
    assert "Badge non valable" in image and "Couvert" not in image and "#595959" in image
    use_tenant("alpha")
    new = BadgeToken.objects.get(member=member, revoked_at__isnull=True).token
    with at(datetime.date(2026, 6, 15)):
        assert "est couvert" in text(page(client_a, new))


def test_unknown_token_is_404(tenant_a, client_a):
    firm_with_mediator()
    response = page(client_a, "x" * 32)
    assert response.status_code == 404
    assert "Badge inconnu" in text(response)
    assert svg(client_a, "x" * 32).status_code == 404


@pytest.mark.parametrize("token", ["short", "a" * 65, "bad.chars.in.this.token", "%00" * 10])
def test_malformed_token_is_404(tenant_a, client_a, token):
    assert page(client_a, token).status_code == 404


def test_another_firms_token_is_404(covered, client_b):
    _member, token = covered
    assert page(client_b, token).status_code == 404
    assert svg(client_b, token).status_code == 404


@pytest.mark.parametrize("path", ["/verifier/{}/", "/verifier/{}/badge.svg"])
def test_etag_cache_headers_and_304(covered, client_a, path):
    _member, token = covered
    url = path.format(token)
    with at(datetime.date(2026, 6, 15)):
        first = client_a.get(url)
        etag = first["ETag"]
        assert first["Cache-Control"] == "public, max-age=300"
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = client_a.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again.content == b""
        assert again["ETag"] == etag and again["Cache-Control"] == "public, max-age=300"
        assert client_a.get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200
    assert not first.cookies  # no session, no CSRF cookie: a public, cacheable response
    # Nothing read the session: a shared cache may keep the response for every visitor.
    assert "cookie" not in first.get("Vary", "").lower()


def test_etag_changes_when_coverage_changes(covered, client_a):
    _member, token = covered
    with at(DEC_31):
        before = svg(client_a, token)["ETag"]
    with at(DEC_31 + datetime.timedelta(days=1)):
        response = svg(client_a, token, HTTP_IF_NONE_MATCH=before)
    assert response.status_code == 200 and response["ETag"] != before


def test_etag_changes_when_the_firm_profile_changes(covered, client_a, use_tenant):
    _member, token = covered
    with at(datetime.date(2026, 6, 15)):
        before = page(client_a, token)["ETag"]
        use_tenant("alpha")
        from tests.members.kit_helpers import firm_profile

        firm_profile(website="https://nouveau-site.example.fr")
        response = client_a.get(f"/verifier/{token}/", HTTP_IF_NONE_MATCH=before)
    assert response.status_code == 200
    assert "https://nouveau-site.example.fr" in response.content.decode()


@pytest.mark.parametrize("path", ["/verifier/{}/", "/verifier/{}/badge.svg"])
def test_badge_endpoints_are_cheap(covered, client_a, django_assert_max_num_queries, path):
    _member, token = covered
    # The host's domain lookup and one query for the token, its member, terms and the firm
    # (plus django-tenants' two `SET search_path`).
    with django_assert_max_num_queries(4) as captured:
        assert client_a.get(path.format(token)).status_code == 200
    assert len([q for q in captured.captured_queries if not q["sql"].startswith("SET ")]) == 2


def test_only_get_and_head(covered, client_a):
    _member, token = covered
    assert client_a.post(f"/verifier/{token}/").status_code == 405
    assert client_a.head(f"/verifier/{token}/badge.svg").status_code == 200

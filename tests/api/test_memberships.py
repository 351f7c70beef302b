"""GET /api/v1/memberships/, /api/v1/memberships/{id}/, /api/v1/members/{id}/memberships/ and the term actions."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import Invoice, Product
from mediation.members.models import Member, Membership, StatusChange
from tests.api.conftest import assert_anonymous_refused, assert_forbidden, call, list_queries
from tests.billing.helpers import LINE
from tests.factories import AdminFactory, MemberFactory, UserFactory
from tests.members.membership_helpers import accepted, active_member

MEMBERSHIPS = "/api/v1/memberships/"


def member_terms(member_pk: int, action: str = "") -> str:
    return f"/api/v1/members/{member_pk}/memberships/{action + '/' if action else ''}"


def term(member: Member, starts_on: datetime.date, years: int = 1, **fields) -> Membership:
    ends_on = starts_on.replace(year=starts_on.year + years) - datetime.timedelta(days=1)
    return Membership.objects.create(member=member, starts_on=starts_on, ends_on=ends_on, term_years=years, **fields)


@pytest.fixture
def admin(tenant_a, client_a):
    user = AdminFactory()
    client_a.force_login(user)
    return user


@pytest.fixture
def terms(admin):
    """Four terms of two members: current (paid), upcoming, ended, terminated."""
    today = timezone.localdate()
    alpha = MemberFactory(legal_name="Alpha Boulangerie", status=Member.Status.ACTIVE)
    beta = MemberFactory(legal_name="Beta Garage", status=Member.Status.TERMINATED)
    return {
        "current": term(alpha, today - datetime.timedelta(days=100), paid_at=timezone.now()),
        "upcoming": term(alpha, today + datetime.timedelta(days=265 + 1)),
        "ended": term(beta, today - datetime.timedelta(days=900)),
        "terminated": term(
            beta, today - datetime.timedelta(days=30), terminated_at=timezone.now(), termination_reason="Cessation"
        ),
        "alpha": alpha,
        "beta": beta,
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [row["id"] for row in response.json()["results"]]


# --- Reading ----------------------------------------------------------------------------------------------


def test_list_gives_every_term_latest_first_with_its_derived_status(client_a, terms):
    response = client_a.get(MEMBERSHIPS)

    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [terms[name].pk for name in ("upcoming", "terminated", "current", "ended")]
    assert [row["status"] for row in rows] == ["upcoming", "terminated", "current", "ended"]
    assert rows[2]["member"] == {
        "id": terms["alpha"].pk,
        "legal_name": "Alpha Boulangerie",
        "siren": terms["alpha"].siren,
        "status": "active",
    }
    assert rows[2]["paid_at"] is not None
    assert rows[1]["termination_reason"] == "Cessation"
    assert "next" in response.json() and "previous" in response.json()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=current", ["current"]),
        ("status=ended&status=terminated", ["terminated", "ended"]),
        ("paid=true", ["current"]),
        ("paid=false", ["upcoming", "terminated", "ended"]),
        ("term_years=3", []),
        ("term_years=1", ["upcoming", "terminated", "current", "ended"]),
    ],
)
def test_list_filters(client_a, terms, query, expected):
    assert ids(client_a.get(f"{MEMBERSHIPS}?{query}")) == [terms[name].pk for name in expected]


def test_list_filters_by_member_and_by_term_end(client_a, terms):
    current = terms["current"]

    assert ids(client_a.get(f"{MEMBERSHIPS}?member={terms['beta'].pk}")) == [
        terms["terminated"].pk,
        terms["ended"].pk,
    ]
    window = f"ends_from={current.ends_on.isoformat()}&ends_to={current.ends_on.isoformat()}"
    assert ids(client_a.get(f"{MEMBERSHIPS}?{window}")) == [current.pk]


def test_list_filters_by_the_product_the_term_was_invoiced_with(client_a, admin, terms):
    product = billing.save_product(by=admin, product=Product(code="adhesion", name="Adhésion", kind="membership"))
    draft = billing.create_draft(by=admin, member=terms["alpha"], lines=[{**LINE, "product": product}, LINE])
    Invoice.objects.filter(pk=draft.pk).update(membership=terms["current"], purpose="membership")

    assert ids(client_a.get(f"{MEMBERSHIPS}?product={product.pk}")) == [terms["current"].pk]
    assert ids(client_a.get(f"{MEMBERSHIPS}?product={product.pk + 1000}")) == []


def test_list_orders_by_nearest_end_and_pages_by_cursor(client_a, terms):
    first = client_a.get(f"{MEMBERSHIPS}?ordering=ends_on&page_size=2").json()
    second = client_a.get(first["next"]).json()

    assert [row["id"] for row in first["results"] + second["results"]] == [
        terms[name].pk for name in ("ended", "current", "terminated", "upcoming")
    ]
    assert second["next"] is None


@pytest.mark.parametrize(
    "query",
    [
        "status=lapsed",
        "paid=maybe",
        "ends_from=31-12-2025",
        "ends_from=2026-02-01&ends_to=2026-01-01",
        "member=0",
        "ordering=legal_name",
        "term_years=2",
        "cursor=not-a-cursor",
    ],
)
def test_a_refused_filter_is_a_400_invalid_filter(client_a, terms, query):
    response = client_a.get(f"{MEMBERSHIPS}?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filter"


def test_list_costs_the_same_number_of_queries_for_many_terms(client_a, terms):
    few = list_queries(client_a, MEMBERSHIPS, rows=4)
    for _ in range(30):
        term(MemberFactory(), timezone.localdate())

    assert list_queries(client_a, MEMBERSHIPS, rows=34) == few


def test_detail(client_a, terms):
    response = client_a.get(f"{MEMBERSHIPS}{terms['terminated'].pk}/")

    assert response.status_code == 200
    assert response.json()["status"] == "terminated"
    assert response.json()["member"]["id"] == terms["beta"].pk


def test_member_list_holds_only_that_members_terms(client_a, terms):
    assert ids(client_a.get(member_terms(terms["alpha"].pk))) == [terms["upcoming"].pk, terms["current"].pk]
    assert ids(client_a.get(member_terms(terms["alpha"].pk) + "?status=current")) == [terms["current"].pk]


def test_unknown_ids_are_404(client_a, terms):
    for url in (f"{MEMBERSHIPS}999999/", member_terms(999999), f"{MEMBERSHIPS}{2**70}/", member_terms(2**70)):
        response = client_a.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_another_firms_terms_are_404_and_never_listed(tenant_b, use_tenant, client_a):
    beta_member = MemberFactory()
    beta_term = term(beta_member, timezone.localdate())
    use_tenant("alpha")
    client_a.force_login(AdminFactory())

    assert client_a.get(f"{MEMBERSHIPS}{beta_term.pk}/").status_code == 404
    assert client_a.get(member_terms(beta_member.pk)).status_code == 404
    assert call(client_a, "post", f"{MEMBERSHIPS}{beta_term.pk}/mark-paid/", {}).status_code == 404
    assert call(client_a, "post", member_terms(beta_member.pk, "renew"), {}).status_code == 404
    assert ids(client_a.get(MEMBERSHIPS)) == []
    use_tenant("beta")
    assert Membership.objects.get(pk=beta_term.pk).paid_at is None


def test_anonymous_is_refused(tenant_a, client_a):
    for url in (MEMBERSHIPS, f"{MEMBERSHIPS}1/", member_terms(1)):
        assert_anonymous_refused(client_a.get(url))
    assert_anonymous_refused(call(client_a, "post", f"{MEMBERSHIPS}1/mark-paid/", {}))


def test_a_member_business_user_cannot_read(client_a, terms):
    client_a.force_login(UserFactory(role="member"))

    assert_forbidden(client_a.get(MEMBERSHIPS))
    assert_forbidden(client_a.get(f"{MEMBERSHIPS}{terms['current'].pk}/"))
    assert_forbidden(client_a.get(member_terms(terms["alpha"].pk)))


# --- Actions ----------------------------------------------------------------------------------------------


def test_mark_paid_makes_the_member_active(client_a, admin):
    member = MemberFactory()
    pending = accepted(member)

    response = call(client_a, "post", f"{MEMBERSHIPS}{pending.pk}/mark-paid/", {})

    assert response.status_code == 200, response.content
    assert response.json()["paid_at"] is not None
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE


def test_mark_paid_twice_is_a_409_already_paid(client_a, admin):
    _member, paid = active_member(admin)

    response = call(client_a, "post", f"{MEMBERSHIPS}{paid.pk}/mark-paid/", {})

    assert response.status_code == 409
    assert response.json()["code"] == "already_paid"


def test_renew_adds_the_next_term(client_a, admin):
    member, current = active_member(admin)

    response = call(client_a, "post", member_terms(member.pk, "renew"), {"term_years": 3})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["starts_on"] == (current.ends_on + datetime.timedelta(days=1)).isoformat()
    assert body["term_years"] == 3
    assert body["status"] == "upcoming"
    assert Membership.objects.filter(member=member).count() == 2


def test_renew_twice_is_a_409_already_renewed(client_a, admin):
    member, _current = active_member(admin)
    call(client_a, "post", member_terms(member.pk, "renew"), {})

    response = call(client_a, "post", member_terms(member.pk, "renew"), {})

    assert response.status_code == 409
    assert response.json()["code"] == "already_renewed"
    assert Membership.objects.filter(member=member).count() == 2


def test_renew_a_prospect_is_a_409_transition_not_allowed(client_a, admin):
    member = MemberFactory()

    response = call(client_a, "post", member_terms(member.pk, "renew"), {})

    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"


def test_renew_with_a_bad_term_is_a_400(client_a, admin):
    member, _current = active_member(admin)

    response = call(client_a, "post", member_terms(member.pk, "renew"), {"term_years": 2})

    assert response.status_code == 400
    assert "term_years" in response.json()["detail"]
    assert Membership.objects.filter(member=member).count() == 1


def test_terminate_ends_the_current_term_with_the_reason(client_a, admin):
    member, current = active_member(admin)

    response = call(client_a, "post", member_terms(member.pk, "terminate"), {"reason": "Cessation d'activité"})

    assert response.status_code == 200, response.content
    assert [(row["id"], row["status"]) for row in response.json()] == [(current.pk, "terminated")]
    member.refresh_from_db()
    assert member.status == Member.Status.TERMINATED
    assert StatusChange.objects.filter(member=member, after="terminated", reason="Cessation d'activité").exists()


def test_terminate_without_a_reason_is_a_400(client_a, admin):
    member, _current = active_member(admin)

    response = call(client_a, "post", member_terms(member.pk, "terminate"), {"reason": "  "})

    assert response.status_code == 400
    assert "reason" in response.json()["detail"]
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE


def test_terminate_a_prospect_is_a_409(client_a, admin):
    member = MemberFactory()

    response = call(client_a, "post", member_terms(member.pk, "terminate"), {"reason": "Doublon"})

    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"


@pytest.mark.parametrize("role", ["mediator", "finance", "read_only"])
def test_roles_without_members_edit_cannot_act(tenant_a, client_a, role):
    member, current = active_member(AdminFactory())
    client_a.force_login(UserFactory(role=role))

    assert client_a.get(f"{MEMBERSHIPS}{current.pk}/").status_code == 200  # members.view reads
    assert_forbidden(call(client_a, "post", f"{MEMBERSHIPS}{current.pk}/mark-paid/", {}))
    assert_forbidden(call(client_a, "post", member_terms(member.pk, "renew"), {}))
    assert_forbidden(call(client_a, "post", member_terms(member.pk, "terminate"), {"reason": "Non"}))
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE
    assert Membership.objects.filter(member=member).count() == 1


def test_case_officer_may_act(tenant_a, client_a):
    member, _current = active_member(AdminFactory())
    client_a.force_login(UserFactory(role="case_officer"))

    assert call(client_a, "post", member_terms(member.pk, "renew"), {}).status_code == 201

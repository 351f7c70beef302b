"""The staff member list at scale: keyset pages, capped count, trigram search, the renewal-date filter."""

from __future__ import annotations

import csv
import datetime
import io
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mediation.members import selectors
from mediation.members.models import Member, Membership
from tests.factories import GroupFactory, MemberFactory, UserFactory

TODAY = datetime.date(2026, 6, 15)


@pytest.fixture
def officer(tenant_a, client_a):
    user = UserFactory(role="case_officer", email="officer@example.fr")
    client_a.force_login(user)
    return user


def _names(response):
    return [member.legal_name for member in response.context["page"].object_list]


def _link(response, rel):
    """The cursor of the page's rel="next"/"prev" link, or None."""
    match = re.search(r'<a href="\?([^"]*)" rel="' + rel + '"', response.content.decode())
    if match is None:
        return None
    return parse_qs(urlsplit("?" + unescape(match.group(1))).query)["cursor"][0]


def _varied_members():
    """Ties everywhere: equal names, cities and statuses, so the pk must break them."""
    cities = ["Lyon", "Paris", "Lille"]
    statuses = ["active", "prospect", "lapsed"]
    for n in range(23):
        MemberFactory(
            legal_name=f"Entreprise {n % 7:02d}",
            city=cities[n % 3],
            status=statuses[n % 2],
        )
    MemberFactory(legal_name="Zèbre & Cie", city="Évry", status=statuses[2])


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_next_then_previous_walk_every_member_once_in_order(tenant_a, sort):
    _varied_members()
    filters = selectors.MemberFilters(sort=sort)
    expected = [m.pk for m in selectors.members(filters)]

    seen, pages = [], []
    page = selectors.member_page(filters, size=5)
    assert not page.has_previous
    while True:
        pages.append([m.pk for m in page.object_list])
        seen += pages[-1]
        if not page.has_next:
            break
        page = selectors.member_page(filters, cursor=page.next_cursor, size=5)
    assert seen == expected
    assert [len(p) for p in pages] == [5, 5, 5, 5, 4]

    back = []
    while page.has_previous:
        page = selectors.member_page(filters, cursor=page.previous_cursor, size=5)
        back.append([m.pk for m in page.object_list])
    assert back == pages[-2::-1]  # the same pages, in reverse


def test_last_page_link_reads_the_end_backwards(tenant_a):
    _varied_members()
    filters = selectors.MemberFilters(sort="city")
    first = selectors.member_page(filters, size=5)
    last = selectors.member_page(filters, cursor=first.last_cursor, size=5)

    expected = [m.pk for m in selectors.members(filters)]
    assert [m.pk for m in last.object_list] == expected[-5:]
    assert last.has_previous and not last.has_next


def test_the_html_list_walks_its_next_links_to_the_end(officer, client_a):
    for n in range(120):
        MemberFactory(legal_name=f"Entreprise {n:03d}")

    seen, cursor, visits = [], None, 0
    while True:
        response = client_a.get("/staff/adherents/", {"sort": "-name", **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        seen += _names(response)
        visits += 1
        cursor = _link(response, "next")
        if cursor is None:
            break
    assert seen == [f"Entreprise {n:03d}" for n in range(119, -1, -1)]
    assert visits == 3
    previous = _link(response, "prev")
    assert _names(client_a.get("/staff/adherents/", {"sort": "-name", "cursor": previous}))[0] == "Entreprise 069"


def test_query_count_is_the_same_on_the_first_and_a_far_page(officer, client_a):
    group = GroupFactory()
    for n in range(260):
        MemberFactory(legal_name=f"Entreprise {n:03d}", group=group if n % 2 else None)
    client_a.get("/staff/adherents/")  # warms per-process caches
    far = selectors.page_cursor(member=Member.objects.get(legal_name="Entreprise 199"))

    with CaptureQueriesContext(connection) as first:
        assert len(_names(client_a.get("/staff/adherents/"))) == 50
    with CaptureQueriesContext(connection) as deep:
        assert _names(client_a.get("/staff/adherents/", {"cursor": far}))[0] == "Entreprise 200"

    assert len(deep.captured_queries) == len(first.captured_queries)


def test_query_count_does_not_depend_on_the_page_size(tenant_a):
    for n in range(60):
        MemberFactory(legal_name=f"Entreprise {n:03d}", group=GroupFactory() if n % 3 else None)
    filters = selectors.MemberFilters(status="prospect")

    with CaptureQueriesContext(connection) as small:
        page = selectors.member_page(filters, size=5)
        [m.group for m in page.object_list]
    with CaptureQueriesContext(connection) as large:
        page = selectors.member_page(filters, size=50)
        [m.group for m in page.object_list]

    assert len(large.captured_queries) == len(small.captured_queries) == 1


def test_old_page_links_still_work_and_bad_cursors_start_over(officer, client_a):
    for n in range(51):
        MemberFactory(legal_name=f"Entreprise {n:02d}")

    assert _names(client_a.get("/staff/adherents/", {"page": 2})) == ["Entreprise 50"]
    # Past the end: the last page, i.e. the last 50 rows.
    assert _names(client_a.get("/staff/adherents/", {"page": 99})) == [f"Entreprise {n:02d}" for n in range(1, 51)]
    assert _names(client_a.get("/staff/adherents/", {"page": "9" * 40}))[-1] == "Entreprise 50"
    for bad in ("nonsense", "eyJzIjoibmFtZSJ9:abc:def", "", "x" * 3000):
        response = client_a.get("/staff/adherents/", {"cursor": bad, "page": "abc"})
        assert response.status_code == 200
        assert _names(response)[0] == "Entreprise 00"
    # A cursor made for another sort is not applied to this one.
    other = selectors.page_cursor(member=Member.objects.get(legal_name="Entreprise 10"), sort="city")
    assert _names(client_a.get("/staff/adherents/", {"cursor": other}))[0] == "Entreprise 00"


def test_a_cursor_past_the_end_shows_the_last_page(officer, client_a):
    for n in range(8):
        MemberFactory(legal_name=f"Entreprise {n:02d}")
    cursor = selectors.page_cursor(member=Member.objects.get(legal_name="Entreprise 07"))

    page = selectors.member_page(cursor=cursor, size=5)

    assert [m.legal_name for m in page.object_list] == [f"Entreprise {n:02d}" for n in range(3, 8)]


def test_count_is_capped(officer, client_a, monkeypatch):
    MemberFactory.create_batch(6)
    assert selectors.member_count(cap=5) == (5, True)
    assert selectors.member_count(cap=6) == (6, False)

    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    assert "Plus de 5 adhérents" in client_a.get("/staff/adherents/").content.decode()


def test_search_finds_name_fragment_city_and_siren_prefix(officer, client_a):
    MemberFactory(legal_name="Boulangerie Dupont SARL", trade_name="Au Bon Pain", city="Villeurbanne")
    MemberFactory(legal_name="Garage Central", siren="732829320", city="Grenoble")
    MemberFactory(legal_name="Maison Bio", city="Saint-Étienne")

    assert _names(client_a.get("/staff/adherents/", {"q": "pont sa"})) == ["Boulangerie Dupont SARL"]
    assert _names(client_a.get("/staff/adherents/", {"q": "bon pain"})) == ["Boulangerie Dupont SARL"]
    assert _names(client_a.get("/staff/adherents/", {"q": "VILLEURB"})) == ["Boulangerie Dupont SARL"]
    assert _names(client_a.get("/staff/adherents/", {"q": "7328"})) == ["Garage Central"]
    assert _names(client_a.get("/staff/adherents/", {"q": "732 829 3"})) == ["Garage Central"]
    assert _names(client_a.get("/staff/adherents/", {"q": "étienne"})) == ["Maison Bio"]
    assert _names(client_a.get("/staff/adherents/", {"q": "io"})) == ["Maison Bio"]  # short: no index, still found


def test_search_and_sort_columns_have_their_indexes_in_every_firm(tenant_a, tenant_b):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, indexname FROM pg_indexes WHERE tablename = 'members_member' "
            "AND schemaname IN ('alpha', 'beta')"
        )
        found = set(cursor.fetchall())
    for schema in ("alpha", "beta"):
        for name in (
            "members_member_legal_name_trgm",
            "members_member_trade_name_trgm",
            "members_member_city_trgm",
            "members_member_siret_like",
            "members_member_city_sort",
            "members_member_status_sort",
            "members_member_created_sort",
        ):
            assert (schema, name) in found


def test_icontains_search_is_served_by_the_trigram_index(tenant_a):
    MemberFactory.create_batch(3)
    queryset = selectors.members(selectors.MemberFilters(search="boulangerie")).order_by()
    with connection.cursor() as cursor:
        # A table of 3 rows is read whole; forbid that (and btree walks) to see which index can serve it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = queryset.explain()
    assert "members_member_legal_name_trgm" in plan
    assert "members_member_city_trgm" in plan


# --- The renewal-date filter -------------------------------------------------------------------------------


def _term(member, starts_on, ends_on, *, terminated=False):
    return Membership.objects.create(
        member=member,
        starts_on=starts_on,
        ends_on=ends_on,
        terminated_at=timezone.now() if terminated else None,
    )


@pytest.fixture
def renewals(tenant_a):
    start = TODAY - datetime.timedelta(days=300)
    made = {}
    for name, ends_on, kwargs in (
        ("Avant", datetime.date(2026, 8, 31), {}),
        ("Premier jour", datetime.date(2026, 9, 1), {}),
        ("Dernier jour", datetime.date(2026, 9, 30), {}),
        ("Apres", datetime.date(2026, 10, 1), {}),
        ("Resiliee", datetime.date(2026, 9, 15), {"terminated": True}),
    ):
        made[name] = MemberFactory(legal_name=name, status="active")
        _term(made[name], start, ends_on, **kwargs)
    # Renewed in advance: the September term is followed by another, the renewal date is next year's.
    made["Renouvelee en avance"] = MemberFactory(legal_name="Renouvelee en avance", status="renewal_due")
    _term(made["Renouvelee en avance"], start, datetime.date(2026, 9, 10))
    _term(made["Renouvelee en avance"], datetime.date(2026, 9, 11), datetime.date(2027, 9, 10))
    # Its renewal term was terminated: the September end is the renewal date again.
    made["Renouvellement resilie"] = MemberFactory(legal_name="Renouvellement resilie", status="prospect")
    _term(made["Renouvellement resilie"], start, datetime.date(2026, 9, 20))
    _term(made["Renouvellement resilie"], datetime.date(2026, 9, 21), datetime.date(2027, 9, 20), terminated=True)
    MemberFactory(legal_name="Sans adhésion")
    return made


def _renewing(**bounds):
    return [m.legal_name for m in selectors.members(selectors.MemberFilters(**bounds))]


def test_renewal_filter_includes_both_boundary_days(renewals):
    assert _renewing(renewal_from=datetime.date(2026, 9, 1), renewal_to=datetime.date(2026, 9, 30)) == [
        "Dernier jour",
        "Premier jour",
        "Renouvellement resilie",
    ]


def test_renewal_filter_with_one_bound(renewals):
    assert _renewing(renewal_from=datetime.date(2026, 10, 1)) == ["Apres", "Renouvelee en avance"]
    assert _renewing(renewal_to=datetime.date(2026, 8, 31)) == ["Avant"]


def test_renewal_filter_combines_with_the_others(officer, client_a, renewals):
    response = client_a.get(
        "/staff/adherents/",
        {"renewal_from": "2026-09-01", "renewal_to": "2026-09-30", "status": "active", "q": "jour"},
    )
    assert _names(response) == ["Dernier jour", "Premier jour"]
    assert "2 adhérents" in response.content.decode()
    # French dates are read too; reversed bounds drop the end bound and say why.
    assert _names(client_a.get("/staff/adherents/", {"renewal_from": "01/10/2026", "status": "active"})) == ["Apres"]
    reversed_bounds = client_a.get("/staff/adherents/", {"renewal_from": "2026-10-01", "renewal_to": "2026-09-01"})
    assert _names(reversed_bounds) == ["Apres", "Renouvelee en avance"]
    assert "Cette date doit suivre la date de début." in reversed_bounds.content.decode()
    assert client_a.get("/staff/adherents/", {"renewal_from": "2026-13-45"}).status_code == 200


def test_renewal_filter_pages_by_keyset(officer, client_a, renewals):
    page = selectors.member_page(selectors.MemberFilters(renewal_from=datetime.date(2026, 1, 1), sort="-name"), size=2)
    names = [m.legal_name for m in page.object_list]
    while page.has_next:
        page = selectors.member_page(
            selectors.MemberFilters(renewal_from=datetime.date(2026, 1, 1), sort="-name"),
            cursor=page.next_cursor,
            size=2,
        )
        names += [m.legal_name for m in page.object_list]
    assert names == ["Renouvellement resilie", "Renouvelee en avance", "Premier jour", "Dernier jour", "Avant", "Apres"]


def test_csv_export_honours_the_renewal_filter(client_a, renewals):
    client_a.force_login(UserFactory(role="read_only"))
    response = client_a.get("/staff/adherents/export.csv", {"renewal_from": "2026-09-01", "renewal_to": "2026-09-30"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert sorted(row[0] for row in rows[1:]) == ["Dernier jour", "Premier jour", "Renouvellement resilie"]


def test_xlsx_export_honours_the_renewal_filter(client_a, renewals):
    import openpyxl

    client_a.force_login(UserFactory(role="read_only"))
    response = client_a.get("/staff/adherents/export.xlsx", {"renewal_to": "2026-08-31"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Avant"]


def test_api_filters_by_renewal_date_and_still_pages(officer, client_a, renewals):
    data = client_a.get("/api/v1/members/", {"renewal_from": "2026-09-01", "renewal_to": "2026-09-30"}).json()
    assert data["next"] is None
    assert [row["legal_name"] for row in data["results"]] == ["Dernier jour", "Premier jour", "Renouvellement resilie"]

    first = client_a.get("/api/v1/members/", {"renewal_from": "2026-09-01", "page_size": 2}).json()
    paged = client_a.get(first["next"]).json()
    assert "renewal_from=2026-09-01" in first["next"]
    assert [row["legal_name"] for row in paged["results"]] == ["Premier jour", "Renouvelee en avance"]
    assert paged["previous"] and paged["next"]

    bad = client_a.get("/api/v1/members/", {"renewal_to": "demain"})
    assert bad.status_code == 400

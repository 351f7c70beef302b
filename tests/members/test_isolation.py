"""A firm's members never show on another firm's host: by id, in lists, through the API, in exports."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from tests.factories import ContactFactory, GroupFactory, UserFactory


@pytest.fixture
def alpha_member(tenant_a):
    group = GroupFactory(name="Groupement Alpha")
    contact = ContactFactory(member__legal_name="Secret Alpha SARL", member__group=group)
    contact.member.contact_pk = contact.pk  # read after the connection moved to beta
    return contact.member


@pytest.fixture
def beta_admin(alpha_member, use_tenant, client_b):
    use_tenant("beta")
    client_b.force_login(UserFactory(role="admin"))


def test_alpha_member_is_not_reachable_by_id_on_beta(alpha_member, beta_admin, client_b):
    for url in (
        f"/staff/adherents/{alpha_member.pk}/",
        f"/staff/adherents/{alpha_member.pk}/modifier/",
        f"/staff/adherents/{alpha_member.pk}/contacts/{alpha_member.contact_pk}/modifier/",
        f"/staff/adherents/groupements/{alpha_member.group_id}/modifier/",
    ):
        assert client_b.get(url).status_code == 404, url
    assert client_b.get(f"/api/v1/members/{alpha_member.pk}/").status_code == 404
    patch = client_b.patch(
        f"/api/v1/members/{alpha_member.pk}/", json.dumps({"city": "Nantes"}), content_type="application/json"
    )
    assert patch.status_code == 404


def test_alpha_member_is_absent_from_beta_lists_api_and_exports(alpha_member, beta_admin, client_b):
    assert "Secret Alpha" not in client_b.get("/staff/adherents/").content.decode()
    assert "Groupement Alpha" not in client_b.get("/staff/adherents/groupements/").content.decode()
    assert client_b.get("/api/v1/members/").json() == {"next": None, "previous": None, "results": []}
    raw = b"".join(client_b.get("/staff/adherents/export.csv").streaming_content).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(raw), delimiter=";"))) == 1  # the header only
    xlsx = b"".join(client_b.get("/staff/adherents/export.xlsx").streaming_content)
    assert openpyxl.load_workbook(io.BytesIO(xlsx)).active.max_row == 1


def test_alpha_group_cannot_be_assigned_on_beta(alpha_member, beta_admin, client_b):
    response = client_b.post(
        "/api/v1/members/",
        json.dumps({"legal_name": "Beta SARL", "siren": "732829320", "group": alpha_member.group_id}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "group" in response.json()["detail"]

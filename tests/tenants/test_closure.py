"""Closing a firm: offline at once, data exported as a ZIP, schema dropped only after the grace period."""

from __future__ import annotations

import json
from datetime import timedelta
from zipfile import ZipFile

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from core.models import AuditEntry
from tenants import closure
from tenants.models import Domain, Tenant


@pytest.fixture
def closed_alpha(db, eager_celery, django_capture_on_commit_callbacks, media_root):
    with schema_context("alpha"):
        User.objects.create_user("claire@alpha.fr", "secret-password-123", first_name="Claire")
    with django_capture_on_commit_callbacks(execute=True):
        closure.close_firm(tenant=Tenant.objects.get(schema_name="alpha"), by=None, grace_days=30)
    return Tenant.objects.get(schema_name="alpha")


def test_a_closed_firm_is_offline_and_says_so(closed_alpha):
    response = Client(HTTP_HOST="alpha.localhost").get("/")

    assert response.status_code == 403
    assert "Cet espace est fermé" in response.content.decode()
    assert closed_alpha.drop_after - closed_alpha.closed_at == timedelta(days=30)


def test_the_export_holds_every_table_and_no_password(closed_alpha, media_root):
    path = media_root / "_exports" / closed_alpha.export_file

    with ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        users = json.loads(archive.read("data/accounts.user.json"))
        names = set(archive.namelist())

    assert manifest["schema"] == "alpha" and manifest["rows"]["accounts.user"] == 1
    assert users[0]["fields"]["email"] == "claire@alpha.fr"
    assert "password" not in users[0]["fields"]
    assert "data/core.auditentry.json" in names and "data/firm.firmprofile.json" in names
    assert "data/sessions.session.json" not in names
    assert len(closed_alpha.export_sha256) == 64


def test_the_schema_stays_during_the_grace_period(closed_alpha):
    assert closure.drop_closed_firms(now=timezone.now() + timedelta(days=29)) == []
    assert schema_exists("alpha")


def test_the_schema_is_dropped_after_the_grace_period(closed_alpha):
    assert closure.drop_closed_firms(now=timezone.now() + timedelta(days=31)) == ["alpha"]

    assert not schema_exists("alpha")
    assert not Domain.objects.filter(domain="alpha.localhost").exists()
    closed_alpha.refresh_from_db()
    assert closed_alpha.dropped_at is not None
    assert AuditEntry.objects.filter(action="firm.dropped").exists()


def test_no_schema_is_dropped_without_its_export(closed_alpha):
    Tenant.objects.filter(pk=closed_alpha.pk).update(export_sha256="", export_file="")

    assert closure.drop_closed_firms(now=timezone.now() + timedelta(days=31)) == []
    assert schema_exists("alpha")


def test_reopening_during_the_grace_period_brings_the_firm_back(closed_alpha):
    closure.reopen_firm(tenant=closed_alpha, by=None)

    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 200
    assert closure.drop_closed_firms(now=timezone.now() + timedelta(days=31)) == []
    with schema_context("alpha"):
        assert list(AuditEntry.objects.filter(action__startswith="firm.").values_list("action", flat=True)) == [
            "firm.reopened",
            "firm.closed",
        ]


def test_operator_closes_from_the_console_and_downloads_the_export(
    db, public_client, eager_celery, django_capture_on_commit_callbacks, media_root
):
    operator = User.objects.create_superuser("ops@plateforme.fr", "x" * 12)
    public_client.force_login(operator)
    alpha = Tenant.objects.get(schema_name="alpha")

    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post(
            "/admin/tenants/tenant/", {"action": "close", "_selected_action": [alpha.pk]}, follow=True
        )

    assert "1 cabinet fermé" in response.content.decode().replace("&#x27;", "'")
    download = public_client.get(f"/console/exports/{alpha.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"manifest.json" in b"".join(download.streaming_content)


def test_the_export_is_not_served_to_a_firm_or_an_anonymous_visitor(closed_alpha, public_client):
    assert public_client.get(f"/console/exports/{closed_alpha.pk}/").status_code == 302
    assert Client(HTTP_HOST="beta.localhost").get(f"/console/exports/{closed_alpha.pk}/").status_code == 404

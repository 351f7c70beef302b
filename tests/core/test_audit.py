"""The audit log: JSON-safe before/after, append-only rows, a read-only admin."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from core import audit
from core.models import AuditEntry
from firm.models import FirmProfile
from tests.factories import AdminFactory, UserFactory


def test_diff_keeps_only_changed_fields_as_before_after_pairs():
    before = {"city": "Paris", "postcode": "75001", "siren": ""}
    after = {"city": "Lyon", "postcode": "75001", "siren": "732829320"}

    assert audit.diff(before, after) == {"city": ["Paris", "Lyon"], "siren": ["", "732829320"]}


def test_diff_treats_a_missing_side_as_none():
    assert audit.diff({}, {"email": "a@example.fr"}) == {"email": [None, "a@example.fr"]}
    assert audit.diff({"email": "a@example.fr"}, {}) == {"email": ["a@example.fr", None]}


def test_values_become_json(tenant_a):
    user = UserFactory()
    field_file = FirmProfile(logo="firm/logo/logo.png").logo

    assert audit.to_json(datetime.date(2026, 3, 1)) == "2026-03-01"
    assert audit.to_json(datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC)) == "2026-03-01T09:30:00+00:00"
    assert audit.to_json(Decimal("12.50")) == "12.50"
    assert audit.to_json(field_file) == "firm/logo/logo.png"
    assert audit.to_json(user) == user.pk
    assert audit.to_json(("b", "a")) == ["b", "a"]


def test_record_writes_who_what_and_the_changes(tenant_a):
    actor = AdminFactory(email="claire@example.fr")
    target = UserFactory(email="target@example.fr")

    entry = audit.record(
        actor=actor, action="staff.role_changed", obj=target, changes={"role": ["read_only", "finance"]}
    )

    entry.refresh_from_db()
    assert (entry.actor_id, entry.actor_email) == (actor.pk, "claire@example.fr")
    assert (entry.object_type, entry.object_id, entry.object_repr) == ("accounts.user", str(target.pk), str(target))
    assert entry.changes == {"role": ["read_only", "finance"]}
    assert entry.created_at is not None


def test_record_without_actor_is_the_system(tenant_a):
    target = UserFactory()

    entry = audit.record(actor=None, action="staff.deactivated", obj=target, changes={"is_active": [True, False]})

    assert entry.actor_id is None
    assert entry.actor_email == ""


def test_audit_rows_cannot_be_changed_or_deleted(tenant_a):
    entry = audit.record(actor=None, action="x", obj=UserFactory(), changes={})

    entry.action = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="rewritten")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "x"


def test_audit_log_is_read_only_in_the_admin(tenant_a):
    request = RequestFactory().get("/admin/core/auditentry/")
    request.user = AdminFactory(is_superuser=True)
    entry = audit.record(actor=None, action="x", obj=request.user, changes={})
    model_admin = site._registry[AuditEntry]

    assert model_admin.has_view_permission(request, entry)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)


def test_audit_table_exists_in_every_schema(tenant_a, use_tenant):
    audit.record(actor=None, action="only-in-alpha", obj=UserFactory(), changes={})

    use_tenant("beta")
    assert not AuditEntry.objects.filter(action="only-in-alpha").exists()

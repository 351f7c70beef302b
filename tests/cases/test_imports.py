"""Import of a Zendesk tickets export: dry run, then import, never twice."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accounts.models import User
from mediation.cases import imports
from mediation.cases.models import Case, CaseMessage, Channel, Party, Status
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.usefixtures("tenant_a", "media_root")


def export(member_siren: str, **overrides):
    ticket = {
        "id": 101,
        "subject": "Colis jamais reçu",
        "description": "J'ai commandé un lave-vaisselle le 2 mars, jamais livré.",
        "status": "open",
        "created_at": "2026-10-01T09:30:00Z",
        "updated_at": "2026-10-05T09:30:00Z",
        "requester_id": 1,
        "organization_id": 9,
        "tags": [f"siren_{member_siren}", "livraison"],
        "comments": [
            {"author_id": 1, "public": True, "body": "Bonjour, toujours rien.", "created_at": "2026-10-01T09:30:00Z"},
            {
                "author_id": 2,
                "public": True,
                "body": "Nous relançons le vendeur.",
                "created_at": "2026-10-02T10:00:00Z",
            },
            {
                "author_id": 2,
                "public": False,
                "body": "Client déjà venu en 2025.",
                "created_at": "2026-10-02T10:05:00Z",
            },
        ],
    }
    ticket.update(overrides)
    return {
        "tickets": [ticket],
        "users": [
            {"id": 1, "name": "Sophie Lambert", "email": "Sophie.Lambert@example.org", "role": "end-user"},
            {"id": 2, "name": "Agent Médiation", "email": "agent@cabinet.fr", "role": "agent"},
        ],
        "organizations": [{"id": 9, "name": "Électro Discount"}],
    }


@pytest.fixture
def officer():
    return UserFactory(role=User.Role.CASE_OFFICER)


def test_dry_run_writes_nothing():
    member = MemberFactory()
    plan = imports.plan(json.dumps(export(member.siren)))
    assert [(t.ticket_id, t.action, t.member_id) for t in plan.tickets] == [("101", "create", member.pk)]
    assert Case.objects.count() == 0


def test_import_creates_the_case_with_its_messages_by_channel(officer):
    member = MemberFactory()
    result = imports.apply(raw=json.dumps(export(member.siren)), by=officer)
    case = result.created[0]
    assert case.status == Status.RECEIVED
    assert case.member == member
    assert (case.consumer_first_name, case.consumer_last_name, case.consumer_email) == (
        "Sophie",
        "Lambert",
        "sophie.lambert@example.org",
    )
    assert case.reference.startswith("2026-")
    assert str(case.admissibility_due_on) == "2026-10-22"  # the clock runs from the ticket's date
    channels = list(CaseMessage.objects.filter(case=case).values_list("channel", "party"))
    assert channels == [
        (Channel.CONSUMER, Party.CONSUMER),
        (Channel.CONSUMER, Party.STAFF),
        (Channel.INTERNAL, Party.STAFF),
    ]


def test_a_second_import_creates_nothing(officer):
    raw = json.dumps(export(MemberFactory().siren))
    imports.apply(raw=raw, by=officer)
    again = imports.apply(raw=raw, by=officer)
    assert again.created == []
    assert again.skipped == 1
    assert Case.objects.count() == 1


def test_solved_tickets_are_kept_as_closed_without_an_outcome(officer):
    result = imports.apply(raw=json.dumps(export(MemberFactory().siren, status="solved")), by=officer)
    case = result.created[0]
    assert case.status == Status.CLOSED
    assert case.outcome == ""
    assert case.next_due_on is None


def test_business_matched_by_organisation_name(officer):
    member = MemberFactory(legal_name="Électro Discount")
    plan = imports.plan(json.dumps(export("", tags=[])))
    assert plan.tickets[0].member_id == member.pk


def test_each_bad_ticket_is_reported_in_french_and_the_good_ones_import(officer):
    member = MemberFactory()
    data = export(member.siren)
    good = data["tickets"][0]
    data["tickets"] = [
        good,
        {**good, "id": 102, "status": "weird"},
        {**good, "id": 103, "requester_id": 77},
        {**good, "id": 104, "tags": ["siren_732829320"], "organization_id": None},
        {**good, "id": 105, "created_at": "not a date"},
    ]
    plan = imports.plan(json.dumps(data))
    errors = {t.ticket_id: t.errors for t in plan.with_errors}
    assert "Statut de ticket inconnu" in errors["102"][0]
    assert "demandeur" in errors["103"][0]
    assert "732829320" in errors["104"][0]
    assert "Date de création illisible" in errors["105"][0]
    result = imports.apply(raw=json.dumps(data), by=officer)
    assert [c.external_ref for c in result.created] == ["zendesk:101"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"", "vide"), (b"{not json", "JSON"), (b'{"foo": 1}', "tickets"), (b"[1, 2]", "tickets")],
)
def test_unreadable_files_are_refused_with_a_message(raw, message):
    with pytest.raises(imports.ImportFileError) as refused:
        imports.plan(raw)
    assert message in str(refused.value)


def test_ndjson_account_export_is_read():
    member = MemberFactory()
    ticket = export(member.siren)["tickets"][0]
    ticket["requester"] = {"name": "Paul Vidal", "email": "paul@example.org"}
    raw = "\n".join(json.dumps({**ticket, "id": n}) for n in (1, 2))
    assert [t.action for t in imports.plan(raw).tickets] == ["create", "create"]


def test_staff_page_dry_run_then_confirm(client_a, officer):
    member = MemberFactory()
    client_a.force_login(officer)
    upload = SimpleUploadedFile("export.json", json.dumps(export(member.siren)).encode(), "application/json")
    response = client_a.post("/staff/dossiers/import/", {"file": upload})
    assert response.status_code == 200
    assert "1 dossier(s) à créer" in response.content.decode()
    assert Case.objects.count() == 0
    token = response.context["token"]
    response = client_a.post("/staff/dossiers/import/", {"confirm": "1", "token": token}, follow=True)
    assert "1 dossier(s) importé(s)" in response.content.decode()
    assert Case.objects.count() == 1


def test_staff_page_refuses_a_bad_file(client_a, officer):
    client_a.force_login(officer)
    upload = SimpleUploadedFile("export.json", b"<html>", "application/json")
    response = client_a.post("/staff/dossiers/import/", {"file": upload})
    assert response.status_code == 400
    assert "pas un export JSON lisible" in response.content.decode()


def test_staff_page_needs_cases_handle(client_a):
    client_a.force_login(UserFactory(role=User.Role.FINANCE))
    assert client_a.get("/staff/dossiers/import/").status_code == 403


def test_command_dry_run_then_apply(tmp_path, officer, capsys):
    member = MemberFactory()
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export(member.siren)))
    call_command("import_tickets", str(path), schema="alpha", by=officer.email)
    assert "1 to create" in capsys.readouterr().out
    assert Case.objects.count() == 0
    call_command("import_tickets", str(path), schema="alpha", by=officer.email, apply=True)
    assert Case.objects.count() == 1

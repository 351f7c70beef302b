"""The filing tracker's staff pages: list, forms and their errors, documents, the role matrix, firm isolation."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Perm
from core.models import AuditEntry
from mediation.compliance import tracker
from mediation.compliance.models import DOCUMENT_MAX_BYTES, Obligation, ObligationDocument
from tests.factories import UserFactory
from tests.roles import ROLES_AND_ANONYMOUS, allowed, assert_html_outcome, log_in_with_role, role_id

BASE = "/staff/conformite/obligations/"
Status = Obligation.Status


def pdf(name: str = "accuse-cecmc.pdf", size: int = 0) -> SimpleUploadedFile:
    content = b"%PDF-1.4 accuse de reception" + b"0" * size
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def admin(tenant_a):
    return UserFactory(role=User.Role.ADMIN)


@pytest.fixture
def logged_admin(admin, client_a):
    client_a.force_login(admin)
    return admin


def make(by: User, title: str = "Informer la CECMC", due_on: datetime.date | None = None, **kw) -> Obligation:
    due_on = due_on or timezone.localdate() + datetime.timedelta(days=10)
    return tracker.create_obligation(by=by, kind=kw.pop("kind", Obligation.Kind.OTHER), title=title, due_on=due_on)


# --- the list --------------------------------------------------------------------------------------------------


def test_the_list_shows_what_is_to_do_first_with_the_overdue_ones_in_words(logged_admin, client_a):
    today = timezone.localdate()
    make(logged_admin, "Plus tard", today + datetime.timedelta(days=40))
    make(logged_admin, "En retard", today - datetime.timedelta(days=3))
    done = make(logged_admin, "Déjà faite", today - datetime.timedelta(days=90))
    tracker.mark_done(by=logged_admin, obligation=done, done_on=today)

    page = client_a.get(BASE).content.decode()

    assert (
        page.index("En retard")
        < page.index("Plus tard")
        < page.index("Faites ou sans objet")
        < page.index("Déjà faite")
    )
    assert "En retard de 3 jours" in page
    assert "Dans 40 jours" in page


def test_the_list_filters_by_status_and_kind(logged_admin, client_a):
    make(logged_admin, "Une mise à jour", kind=Obligation.Kind.UPDATE_NOTICE)
    make(logged_admin, "Le dossier", kind=Obligation.Kind.LISTING_FILE)
    cancelled = make(logged_admin, "Annulée", kind=Obligation.Kind.UPDATE_NOTICE)
    tracker.cancel(by=logged_admin, obligation=cancelled)

    by_kind = client_a.get(BASE, {"kind": "update_notice"}).content.decode()
    by_status = client_a.get(BASE, {"status": "cancelled"}).content.decode()

    assert "Une mise à jour" in by_kind and "Annulée" in by_kind and "Le dossier" not in by_kind
    assert "Annulée" in by_status and "Une mise à jour" not in by_status


def test_a_bad_filter_is_said_and_lists_everything(logged_admin, client_a):
    make(logged_admin, "Le dossier")

    response = client_a.get(BASE, {"status": "nimporte", "kind": "<script>"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Filtre non valide" in page and "Le dossier" in page


# --- create and edit ---------------------------------------------------------------------------------------------


def test_create_an_obligation(logged_admin, client_a):
    response = client_a.post(
        f"{BASE}nouvelle/",
        {"kind": "listing_file", "title": "Dossier de référencement", "due_on": "2030-02-01", "notes": "À préparer"},
    )

    item = Obligation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}{item.pk}/"
    assert (item.kind, item.title, item.due_on, item.source_key) == (
        "listing_file",
        "Dossier de référencement",
        datetime.date(2030, 2, 1),
        "",
    )
    assert AuditEntry.objects.filter(action="compliance.obligation_created", actor_id=logged_admin.pk).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "listing_file", "title": "", "due_on": "2030-02-01"},
        {"kind": "listing_file", "title": "   ", "due_on": "2030-02-01"},
        {"kind": "listing_file", "title": "Dossier", "due_on": "31/02/2030x"},
        {"kind": "nope", "title": "Dossier", "due_on": "2030-02-01"},
        {"kind": "listing_file", "title": "x" * 201, "due_on": "2030-02-01"},
    ],
)
def test_a_bad_obligation_is_a_form_error(logged_admin, client_a, data):
    response = client_a.post(f"{BASE}nouvelle/", data)

    assert response.status_code == 400
    assert "corrigez les erreurs signalées" in response.content.decode()
    assert not Obligation.objects.exists()


def test_edit_an_obligation(logged_admin, client_a):
    item = make(logged_admin)

    response = client_a.post(
        f"{BASE}{item.pk}/modifier/", {"title": "Nouveau titre", "due_on": "2031-01-01", "notes": "n"}
    )

    item.refresh_from_db()
    assert response.status_code == 302
    assert (item.title, item.due_on, item.notes) == ("Nouveau titre", datetime.date(2031, 1, 1), "n")


def test_a_bad_edit_shows_the_page_with_the_error(logged_admin, client_a):
    item = make(logged_admin, "Titre")

    response = client_a.post(f"{BASE}{item.pk}/modifier/", {"title": "Autre", "due_on": ""})

    assert response.status_code == 400
    assert "n'a pas été modifiée" in response.content.decode()
    item.refresh_from_db()
    assert item.title == "Titre"


# --- status ------------------------------------------------------------------------------------------------------


def test_mark_done_then_reopen_then_cancel(logged_admin, client_a):
    item = make(logged_admin)

    assert client_a.post(f"{BASE}{item.pk}/faite/", {"done_on": "2026-01-05"}).status_code == 302
    item.refresh_from_db()
    assert (item.status, item.done_on) == (Status.DONE, datetime.date(2026, 1, 5))
    assert client_a.post(f"{BASE}{item.pk}/rouvrir/").status_code == 302
    item.refresh_from_db()
    assert (item.status, item.done_on) == (Status.TODO, None)
    assert client_a.post(f"{BASE}{item.pk}/sans-objet/").status_code == 302
    item.refresh_from_db()
    assert item.status == Status.CANCELLED


@pytest.mark.parametrize("done_on", ["", "demain", "2999-01-01"])
def test_a_bad_completion_date_is_a_form_error(logged_admin, client_a, done_on):
    item = make(logged_admin)

    response = client_a.post(f"{BASE}{item.pk}/faite/", {"done_on": done_on})

    assert response.status_code == 400
    item.refresh_from_db()
    assert item.status == Status.TODO


def test_a_forbidden_transition_is_a_conflict(logged_admin, client_a):
    item = tracker.cancel(by=logged_admin, obligation=make(logged_admin))

    response = client_a.post(f"{BASE}{item.pk}/sans-objet/")

    assert response.status_code == 409
    assert "ne peut pas passer à cet état" in response.content.decode()


def test_status_urls_refuse_get(logged_admin, client_a):
    item = make(logged_admin)
    assert client_a.get(f"{BASE}{item.pk}/sans-objet/").status_code == 405


# --- documents ---------------------------------------------------------------------------------------------------


def test_attach_and_download_a_document(logged_admin, client_a, media_root):
    item = make(logged_admin)

    response = client_a.post(f"{BASE}{item.pk}/documents/", {"file": pdf("Accusé CECMC.pdf")})

    assert response.status_code == 302
    document = ObligationDocument.objects.get()
    assert document.original_name == "Accusé CECMC.pdf"
    assert "Accusé" not in document.file.name  # stored under a generated name
    assert "Accusé CECMC.pdf" in client_a.get(f"{BASE}{item.pk}/").content.decode()
    download = client_a.get(f"{BASE}{item.pk}/documents/{document.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert "Accus" in download["Content-Disposition"]
    assert b"".join(download.streaming_content).startswith(b"%PDF-1.4")
    assert AuditEntry.objects.filter(action="compliance.document_added", object_id=str(item.pk)).exists()


def test_a_document_over_20_mb_is_refused(logged_admin, client_a, media_root):
    item = make(logged_admin)

    response = client_a.post(f"{BASE}{item.pk}/documents/", {"file": pdf(size=DOCUMENT_MAX_BYTES)})

    assert response.status_code == 400
    assert "ne doit pas dépasser 20 Mo" in response.content.decode()
    assert not ObligationDocument.objects.exists()


@pytest.mark.parametrize("name", ["script.exe", "page.html", "sans-extension", "image.svg"])
def test_a_document_of_another_type_is_refused(logged_admin, client_a, media_root, name):
    item = make(logged_admin)

    response = client_a.post(f"{BASE}{item.pk}/documents/", {"file": pdf(name)})

    assert response.status_code == 400
    assert "Formats acceptés" in response.content.decode()
    assert not ObligationDocument.objects.exists()


def test_a_document_is_only_reached_through_its_obligation(logged_admin, client_a, media_root):
    first, second = make(logged_admin), make(logged_admin)
    document = tracker.add_document(by=logged_admin, obligation=first, upload=pdf())

    assert client_a.get(f"{BASE}{second.pk}/documents/{document.pk}/").status_code == 404
    assert client_a.get(f"{BASE}{first.pk}/documents/{document.pk + 1}/").status_code == 404


# --- roles and firms ---------------------------------------------------------------------------------------------

# (method, URL with {pk}, {closed} (a done obligation) and {doc}, permission, success status, data)
PAGES = [
    ("get", "", Perm.REPORTS_VIEW, 200, None),
    ("get", "nouvelle/", Perm.REPORTS_EDIT, 200, None),
    ("post", "nouvelle/", Perm.REPORTS_EDIT, 302, {"kind": "other", "title": "T", "due_on": "2030-01-01"}),
    ("get", "{pk}/", Perm.REPORTS_VIEW, 200, None),
    ("post", "{pk}/modifier/", Perm.REPORTS_EDIT, 302, {"title": "T", "due_on": "2030-01-01", "notes": ""}),
    ("post", "{pk}/faite/", Perm.REPORTS_EDIT, 302, {"done_on": "2026-01-01"}),
    ("post", "{pk}/sans-objet/", Perm.REPORTS_EDIT, 302, {}),
    ("post", "{closed}/rouvrir/", Perm.REPORTS_EDIT, 302, {}),
    ("post", "{pk}/documents/", Perm.REPORTS_EDIT, 302, "file"),
    ("get", "{pk}/documents/{doc}/", Perm.REPORTS_VIEW, 200, None),
]


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=role_id)
@pytest.mark.parametrize(("method", "url", "perm", "success", "data"), PAGES, ids=[f"{p[0]} {p[1]}" for p in PAGES])
def test_tracker_pages_follow_the_role_table(admin, client_a, media_root, role, method, url, perm, success, data):
    item = make(admin, "Avant")
    closed = tracker.cancel(by=admin, obligation=make(admin))
    document = tracker.add_document(by=admin, obligation=item, upload=pdf())
    log_in_with_role(client_a, role)
    path = BASE + url.format(pk=item.pk, closed=closed.pk, doc=document.pk)

    response = getattr(client_a, method)(path, {"file": pdf()} if data == "file" else data or {})

    assert_html_outcome(response, role=role, perm=perm, success=success)
    if method == "post" and not allowed(role, perm):
        item.refresh_from_db()
        closed.refresh_from_db()
        assert (item.title, item.status, closed.status) == ("Avant", Status.TODO, Status.CANCELLED)
        assert Obligation.objects.count() == 2 and ObligationDocument.objects.count() == 1


def test_the_edit_controls_are_hidden_from_readers(admin, client_a):
    item = make(admin)
    client_a.force_login(UserFactory(role=User.Role.FINANCE))

    page = client_a.get(f"{BASE}{item.pk}/").content.decode()

    assert "Marquer comme faite" not in page and "Joindre le document" not in page
    assert "Nouvelle obligation" not in client_a.get(BASE).content.decode()


def test_another_firm_sees_none_of_the_obligations(admin, client_b, media_root, use_tenant):
    item = make(admin, "Obligation du cabinet A")
    document = tracker.add_document(by=admin, obligation=item, upload=pdf())
    use_tenant("beta")
    client_b.force_login(UserFactory(role=User.Role.ADMIN))

    assert "Obligation du cabinet A" not in client_b.get(BASE).content.decode()
    for method, path in [
        ("get", f"{BASE}{item.pk}/"),
        ("get", f"{BASE}{item.pk}/documents/{document.pk}/"),
        ("post", f"{BASE}{item.pk}/sans-objet/"),
        ("post", f"{BASE}{item.pk}/modifier/"),
    ]:
        assert getattr(client_b, method)(path).status_code == 404, path
    use_tenant("alpha")
    item.refresh_from_db()
    assert item.status == Status.TODO

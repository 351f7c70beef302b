"""The member import: reading CSV/XLSX, the dry run's errors row by row, the apply, its pages and permissions."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from stdnum import luhn

from core.models import AuditEntry
from mediation.members import bulk_import
from mediation.members.models import Contact, Member, MemberImport
from tests.factories import ContactFactory, GroupFactory, MemberFactory, UserFactory, valid_siren

FR_HEADER = [
    "Raison sociale",
    "Nom commercial",
    "SIREN",
    "SIRET",
    "Code postal",
    "Ville",
    "Secteur",
    "Effectif",
    "Sites internet",
    "ESS",
    "Groupement",
    "Contact nom",
    "Contact prénom",
    "Contact e-mail",
    "Contact rôle",
]


def siret_of(siren: str, establishment: int = 1) -> str:
    base = f"{siren}{establishment:04d}"
    return base + luhn.calc_check_digit(base)


def bad_checksum(siren: str) -> str:
    return siren[:-1] + str((int(siren[-1]) + 1) % 10)


def csv_bytes(rows: list[list[Any]], *, delimiter: str = ";", bom: bool = False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def officer(tenant_a, media_root):
    return UserFactory(role="case_officer", email="officer@example.fr")


def make_import(
    user: Any, content: bytes, *, name: str = "adherents.csv", on_duplicate: str = "update"
) -> MemberImport:
    return MemberImport.objects.create(
        file=ContentFile(content, name=name), original_name=name, on_duplicate=on_duplicate, created_by=user
    )


def run(user: Any, content: bytes, **kwargs: Any) -> MemberImport:
    member_import = bulk_import.check(make_import(user, content, **kwargs))
    assert member_import.status == MemberImport.Status.CHECKED, member_import.report
    return member_import


def errors_by_row(member_import: MemberImport) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for error in member_import.report["errors"]:
        found.setdefault(error["row"], set()).add(error["field"])
    return found


def member_row(siren: str, name: str = "Boulangerie Dupont SARL", **overrides: Any) -> list[Any]:
    values = {
        "Raison sociale": name,
        "Nom commercial": "",
        "SIREN": siren,
        "SIRET": "",
        "Code postal": "69001",
        "Ville": "Lyon",
        "Secteur": "Commerce de détail",
        "Effectif": "1 à 9 salariés",
        "Sites internet": "",
        "ESS": "non",
        "Groupement": "",
        "Contact nom": "",
        "Contact prénom": "",
        "Contact e-mail": "",
        "Contact rôle": "",
        **overrides,
    }
    return [values[column] for column in FR_HEADER]


# --- Reading -------------------------------------------------------------------


@pytest.mark.parametrize(("delimiter", "bom"), [(";", True), (";", False), (",", True), (",", False)])
def test_csv_with_either_delimiter_and_optional_bom_is_read(officer, delimiter, bom):
    content = csv_bytes(
        [FR_HEADER, member_row(valid_siren(1), Ville="Saint-Étienne, centre"), member_row(valid_siren(2))],
        delimiter=delimiter,
        bom=bom,
    )

    member_import = run(officer, content)

    assert member_import.report["errors"] == []
    assert (member_import.total_rows, member_import.report["to_create"]) == (2, 2)
    assert Member.objects.count() == 0


def test_french_headers_with_accents_and_model_field_names_are_recognised():
    columns, ignored = bulk_import.map_columns(
        ["Raison sociale", "NOM COMMERCIAL", "siren", "Complément d'adresse", "Code NAF/APE", "legal_form", "Statut"]
    )

    assert columns == {
        "legal_name": 0,
        "trade_name": 1,
        "siren": 2,
        "address_line2": 3,
        "naf_code": 4,
        "legal_form": 5,
    }
    assert ignored == ["Statut"]


def test_xlsx_is_read_and_numbers_get_their_leading_zeros_back(officer):
    siren = "0" + "1234567"
    siren += luhn.calc_check_digit(siren)
    content = xlsx_bytes(
        [
            ["Raison sociale", "SIREN", "Code postal", "Ville", "ESS"],
            ["Fromagerie de l'Ain", int(siren), 1000, "Bourg", True],
        ]
    )

    member_import = run(officer, content, name="adherents.xlsx")
    bulk_import.apply(member_import, by=officer)

    member = Member.objects.get()
    assert (member.siren, member.postcode, member.is_ess) == (siren, "01000", True)


def test_the_export_of_the_member_list_can_be_imported_again(officer, use_tenant):
    from mediation.members import exports

    MemberFactory(legal_name="Garage Central", siren=valid_siren(5), sector="automotive", headcount_band="10_49")
    content = b"".join(exports.csv_chunks(Member.objects.all()))
    Member.objects.all().delete()

    member_import = run(officer, content)
    bulk_import.apply(member_import, by=officer)

    member = Member.objects.get()
    assert (member.legal_name, member.sector, member.headcount_band) == ("Garage Central", "automotive", "10_49")


# --- The dry run's errors ------------------------------------------------------------


def test_every_kind_of_error_is_reported_with_its_row_and_column(officer):
    GroupFactory(name="Fédération des boulangers")
    on_file = MemberFactory(legal_name="Déjà adhérente", siren=valid_siren(90))
    good, other = valid_siren(10), valid_siren(11)
    content = csv_bytes(
        [
            FR_HEADER,
            member_row(bad_checksum(valid_siren(12))),  # 2: bad SIREN checksum
            member_row(good, SIRET=siret_of(other)),  # 3: SIRET of another SIREN
            member_row(valid_siren(13), **{"Code postal": "6900"}),  # 4: bad postcode
            member_row(valid_siren(14), Secteur="Boulangerie"),  # 5: unknown sector label
            member_row(valid_siren(15), Groupement="Fédération inconnue"),  # 6: unknown group
            member_row(valid_siren(16), Groupement="fédération des BOULANGERS"),  # 7: fine
            member_row(valid_siren(16), name="Autre nom"),  # 8: duplicate of row 7 inside the file
            member_row(on_file.siren),  # 9: already on file, refused
            member_row(valid_siren(17), ESS="peut-être", **{"Contact prénom": "Lucie"}),  # 10: two errors
        ]
    )

    member_import = run(officer, content, on_duplicate="refuse")

    assert errors_by_row(member_import) == {
        2: {"siren"},
        3: {"siret"},
        4: {"postcode"},
        5: {"sector"},
        6: {"group"},
        8: {"siren"},
        9: {"siren"},
        10: {"is_ess", "contact_last_name"},
    }
    messages = {(e["row"], e["column"]): e["message"] for e in member_import.report["errors"]}
    assert "clé de contrôle est fausse" in messages[(2, "SIREN")]
    assert f"ses 9 premiers chiffres doivent être {good}" in messages[(3, "SIRET")]
    assert messages[(4, "Code postal")] == "Un code postal français compte 5 chiffres."
    assert "« Boulangerie » n'est pas une valeur reconnue" in messages[(5, "Secteur")]
    assert "Commerce de détail" in messages[(5, "Secteur")]
    assert "Groupement inconnu : « Fédération inconnue »" in messages[(6, "Groupement")]
    assert "figure déjà à la ligne 7 du fichier" in messages[(8, "SIREN")]
    assert "« Déjà adhérente » : ligne refusée (doublon)" in messages[(9, "SIREN")]
    assert "oui" in messages[(10, "ESS")]
    report = member_import.report
    assert (report["to_create"], report["invalid_rows"], report["refused"]) == (1, 8, 1)


def test_a_missing_legal_name_for_a_new_member_is_reported(officer):
    content = csv_bytes([["SIREN", "Ville"], [valid_siren(1), "Lyon"]])

    member_import = run(officer, content)

    [error] = member_import.report["errors"]
    assert (error["row"], error["field"], error["column"]) == (2, "legal_name", "Raison sociale")


def test_the_dry_run_writes_nothing(officer):
    existing = MemberFactory(siren=valid_siren(1), city="Lyon")
    audit_rows = AuditEntry.objects.filter(object_type="members.member").count()
    content = csv_bytes(
        [
            FR_HEADER,
            member_row(valid_siren(1), Ville="Grenoble"),
            member_row(valid_siren(2), **{"Contact nom": "Moreau"}),
        ]
    )

    member_import = run(officer, content)

    assert (member_import.report["to_create"], member_import.report["to_update"]) == (1, 1)
    existing.refresh_from_db()
    assert existing.city == "Lyon"
    assert Member.objects.count() == 1 and Contact.objects.count() == 0
    assert AuditEntry.objects.filter(object_type="members.member").count() == audit_rows


# --- Apply -----------------------------------------------------------------------------


def test_apply_creates_members_with_their_contacts_and_audit_rows(officer):
    group = GroupFactory(name="Fédération des boulangers")
    siren = valid_siren(1)
    content = csv_bytes(
        [
            FR_HEADER,
            member_row(
                siren,
                SIRET=siret_of(siren),
                Groupement="Fédération des boulangers",
                ESS="oui",
                **{
                    "Sites internet": "boulangerie.fr | https://pain.fr",
                    "Contact nom": "Moreau",
                    "Contact prénom": "Lucie",
                    "Contact e-mail": "Lucie@Boulangerie.fr",
                    "Contact rôle": "Facturation, représentant légal",
                },
            ),
            member_row(bad_checksum(valid_siren(2))),
        ]
    )

    member_import = bulk_import.apply(run(officer, content), by=officer)

    assert member_import.status == MemberImport.Status.DONE
    report = member_import.report
    assert (report["created"], report["skipped"], report["contacts_added"]) == (1, 1, 1)
    assert [e["row"] for e in report["errors"]] == [3]
    member = Member.objects.get()
    assert (member.group, member.is_ess, member.sector, member.headcount_band) == (group, True, "retail", "1_9")
    assert member.websites == ["https://boulangerie.fr", "https://pain.fr"]
    contact = member.contacts.get()
    assert (contact.email, contact.roles) == ("lucie@boulangerie.fr", ["legal_representative", "billing"])
    actions = sorted(
        AuditEntry.objects.filter(object_type="members.member", object_id=str(member.pk)).values_list(
            "action", "actor_email"
        )
    )
    assert actions == [
        ("members.contact_added", "officer@example.fr"),
        ("members.member_created", "officer@example.fr"),
    ]
    created = AuditEntry.objects.get(action="members.member_created")
    assert created.changes["siren"] == [None, siren]
    assert "adherents.csv" in created.changes["import"][1]


def test_update_changes_only_the_columns_given(officer):
    member = MemberFactory(
        siren=valid_siren(1), legal_name="Maison Bio", trade_name="Bio & Co", city="Lyon", postcode="69001"
    )
    content = csv_bytes(
        [["SIREN", "Ville", "Code postal", "Nom commercial"], [valid_siren(1), "Grenoble", "38000", ""]]
    )

    member_import = bulk_import.apply(run(officer, content), by=officer)

    member.refresh_from_db()
    assert (member.city, member.postcode, member.trade_name, member.legal_name) == (
        "Grenoble",
        "38000",
        "Bio & Co",
        "Maison Bio",
    )
    assert member_import.report["updated"] == 1
    entry = AuditEntry.objects.get(action="members.member_updated", object_id=str(member.pk))
    assert entry.changes["city"] == ["Lyon", "Grenoble"]
    assert "trade_name" not in entry.changes


def test_refuse_leaves_members_on_file_untouched(officer):
    member = MemberFactory(siren=valid_siren(1), city="Lyon")
    content = csv_bytes([FR_HEADER, member_row(valid_siren(1), Ville="Grenoble"), member_row(valid_siren(2))])

    member_import = bulk_import.apply(run(officer, content, on_duplicate="refuse"), by=officer)

    member.refresh_from_db()
    assert member.city == "Lyon"
    assert (member_import.report["created"], member_import.report["refused"]) == (1, 1)


def test_importing_the_same_file_again_creates_nothing_twice(officer):
    content = csv_bytes(
        [
            FR_HEADER,
            member_row(valid_siren(1), **{"Contact nom": "Moreau", "Contact e-mail": "l.moreau@example.fr"}),
            member_row(valid_siren(2), **{"Contact nom": "Petit"}),
        ]
    )
    bulk_import.apply(run(officer, content), by=officer)

    again = bulk_import.apply(run(officer, content), by=officer)

    assert Member.objects.count() == 2 and Contact.objects.count() == 2
    assert (again.report["created"], again.report["updated"], again.report["unchanged"]) == (0, 0, 2)


def test_a_contact_already_on_file_is_not_added_again(officer):
    member = MemberFactory(siren=valid_siren(1))
    ContactFactory(member=member, last_name="Moreau", email="lucie@example.fr")
    content = csv_bytes([["SIREN", "Contact nom", "Contact e-mail"], [valid_siren(1), "Moreau", "LUCIE@example.fr"]])

    member_import = bulk_import.apply(run(officer, content), by=officer)

    assert member.contacts.count() == 1
    assert member_import.report["unchanged"] == 1


def test_a_member_created_between_the_check_and_the_apply_is_not_doubled(officer):
    content = csv_bytes([FR_HEADER, member_row(valid_siren(1), Ville="Grenoble")])
    checked = run(officer, content, on_duplicate="refuse")
    MemberFactory(siren=valid_siren(1), city="Lyon")  # someone was faster

    member_import = bulk_import.apply(checked, by=officer)

    assert Member.objects.filter(siren=valid_siren(1)).count() == 1
    assert member_import.report["created"] == 0
    assert [e["row"] for e in member_import.report["errors"]] == [2]


def test_progress_is_saved_every_batch(officer, monkeypatch):
    saved: list[int] = []
    original = bulk_import._progress
    monkeypatch.setattr(bulk_import, "BATCH", 2)
    monkeypatch.setattr(bulk_import, "_progress", lambda imp, n: (saved.append(n), original(imp, n)))
    content = csv_bytes([FR_HEADER, *[member_row(valid_siren(n)) for n in range(5)]])
    checked = run(officer, content)
    saved.clear()

    member_import = bulk_import.apply(checked, by=officer)

    assert saved == [2, 4, 5]
    assert (member_import.processed_rows, member_import.total_rows) == (5, 5)
    assert Member.objects.count() == 5


def test_blank_rows_are_skipped_and_rows_past_the_limit_are_refused(officer, monkeypatch):
    monkeypatch.setattr(bulk_import, "MAX_ROWS", 3)
    blank = [""] * len(FR_HEADER)
    fits = csv_bytes([FR_HEADER, member_row(valid_siren(1)), blank, member_row(valid_siren(2)), blank])
    assert run(officer, fits).total_rows == 2

    too_long = csv_bytes([FR_HEADER, *[member_row(valid_siren(n)) for n in range(4)]])
    member_import = bulk_import.check(make_import(officer, too_long))

    assert member_import.status == MemberImport.Status.FAILED
    assert "plus de 3 lignes" in member_import.report["message"]


# --- Bad files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("rapport.pdf", b"%PDF-1.4\n", "n'est pas un fichier CSV ou XLSX"),
        ("ancien.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel 97-2003"),
        ("faux.xlsx", b"Raison sociale;SIREN\n", "n'est pas un classeur Excel lisible"),
        ("casse.xlsx", b"PK\x03\x04 not really a zip", "illisible"),
        ("latin1.csv", "Raison sociale;SIREN\nCafé;732829320\n".encode("latin-1"), "UTF-8"),
        ("binaire.csv", b"\x00\x01\x02SIREN", "n'est pas un fichier CSV ou XLSX"),
        ("vide.csv", b"", "vide"),
        ("sans-siren.csv", b"Raison sociale;Ville\nBoulangerie;Lyon\n", "SIREN"),
        ("double.csv", b"SIREN;Siren\n732829320;732829320\n", "apparaît deux fois"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_form_error(officer, client_a, name, content, expected):
    client_a.force_login(officer)

    response = client_a.post(
        "/staff/adherents/import/nouveau/",
        {"file": SimpleUploadedFile(name, content), "on_duplicate": "update"},
    )

    assert response.status_code == 400
    assert expected in " ".join(response.context["form"].errors["file"])
    assert 'role="alert"' in response.content.decode()
    assert MemberImport.objects.count() == 0


def test_a_file_over_10_mb_is_refused(officer, client_a):
    client_a.force_login(officer)
    content = b"SIREN\n" + b"732829320\n" * (bulk_import.MAX_BYTES // 10 + 1)

    response = client_a.post(
        "/staff/adherents/import/nouveau/", {"file": SimpleUploadedFile("gros.csv", content), "on_duplicate": "update"}
    )

    assert response.status_code == 400
    assert "plus de 10 Mo" in response.context["form"].errors["file"][0]


def test_a_csv_over_the_row_limit_is_refused_by_the_form(officer, client_a, monkeypatch):
    monkeypatch.setattr(bulk_import, "MAX_ROWS", 2)
    client_a.force_login(officer)
    content = csv_bytes([["SIREN"], *[[valid_siren(n)] for n in range(3)]])

    response = client_a.post(
        "/staff/adherents/import/nouveau/", {"file": SimpleUploadedFile("a.csv", content), "on_duplicate": "update"}
    )

    assert response.status_code == 400
    assert "plus de 2 lignes" in response.context["form"].errors["file"][0]


# --- Pages -----------------------------------------------------------------------------


def test_upload_check_confirm_and_report_through_the_pages(
    officer, client_a, use_tenant, eager_celery, django_capture_on_commit_callbacks
):
    client_a.force_login(officer)
    content = csv_bytes([FR_HEADER, member_row(valid_siren(1)), member_row(bad_checksum(valid_siren(2)))], bom=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            "/staff/adherents/import/nouveau/",
            {"file": SimpleUploadedFile("adherents.csv", content), "on_duplicate": "update"},
        )
    body = client_a.get(response["Location"]).content.decode()
    assert "Résultat de la vérification" in body and "Confirmer l'import" in body
    assert "Adhérents à créer : 1" in body and "clé de contrôle est fausse" in body
    use_tenant("alpha")
    member_import = MemberImport.objects.get()
    assert member_import.status == MemberImport.Status.CHECKED and Member.objects.count() == 0

    errors = client_a.get(f"/staff/adherents/import/{member_import.pk}/erreurs.csv")
    rows = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Ligne", "Colonne", "Valeur", "Erreur"]
    assert rows[1][:2] == ["3", "SIREN"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/staff/adherents/import/{member_import.pk}/confirmer/")
    body = client_a.get(response["Location"]).content.decode()
    assert "Résultat de l'import" in body and "Adhérents créés : 1" in body
    use_tenant("alpha")
    assert Member.objects.count() == 1
    assert "adherents.csv" in client_a.get("/staff/adherents/import/").content.decode()


def test_confirming_twice_applies_once(officer, client_a, use_tenant, eager_celery, django_capture_on_commit_callbacks):
    client_a.force_login(officer)
    member_import = run(officer, csv_bytes([FR_HEADER, member_row(valid_siren(1))]))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client_a.post(f"/staff/adherents/import/{member_import.pk}/confirmer/")
        second = client_a.post(f"/staff/adherents/import/{member_import.pk}/confirmer/", follow=True)

    assert len(callbacks) == 1
    assert "n&#x27;attend pas de confirmation" in second.content.decode()
    use_tenant("alpha")
    assert Member.objects.count() == 1


def test_the_status_page_refreshes_itself_while_the_import_runs(officer, client_a):
    client_a.force_login(officer)
    member_import = make_import(officer, b"SIREN\n")
    MemberImport.objects.filter(pk=member_import.pk).update(
        status=MemberImport.Status.IMPORTING, total_rows=1000, processed_rows=500
    )

    body = client_a.get(f"/staff/adherents/import/{member_import.pk}/").content.decode()
    progress = client_a.get(f"/staff/adherents/import/{member_import.pk}/progression/").json()

    assert 'aria-live="polite"' in body and 'http-equiv="refresh" content="2"' in body
    assert "progress.js" in body and "500 lignes traitées sur 1000" in body
    assert progress == {
        "status": "importing",
        "status_label": "Import en cours",
        "processed": 500,
        "total": 1000,
        "running": True,
    }


def test_the_model_file_lists_every_recognised_column(officer, client_a):
    client_a.force_login(officer)

    response = client_a.get("/staff/adherents/import/modele.csv")

    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert header[:3] == ["Raison sociale", "Nom commercial", "SIREN"]
    assert bulk_import.map_columns(header)[1] == []


@pytest.mark.parametrize(
    "url",
    [
        "/staff/adherents/import/",
        "/staff/adherents/import/nouveau/",
        "/staff/adherents/import/modele.csv",
        "/staff/adherents/import/{pk}/",
        "/staff/adherents/import/{pk}/progression/",
        "/staff/adherents/import/{pk}/erreurs.csv",
        "/staff/adherents/import/sirene/732829320/",
    ],
)
def test_members_view_cannot_import(tenant_a, media_root, client_a, url):
    member_import = make_import(UserFactory(role="case_officer"), b"SIREN\n")
    url = url.format(pk=member_import.pk)
    client_a.force_login(UserFactory(role="mediator"))  # members.view only

    assert client_a.get(url).status_code == 403
    assert client_a.post(url).status_code == 403
    client_a.logout()
    assert client_a.get(url).status_code == 302


def test_members_view_cannot_confirm(tenant_a, media_root, client_a):
    member_import = run(UserFactory(role="case_officer"), csv_bytes([FR_HEADER, member_row(valid_siren(1))]))
    client_a.force_login(UserFactory(role="mediator"))

    assert client_a.post(f"/staff/adherents/import/{member_import.pk}/confirmer/").status_code == 403
    member_import.refresh_from_db()
    assert member_import.status == MemberImport.Status.CHECKED


def test_an_import_of_another_firm_is_not_found(officer, client_b, tenant_b, use_tenant, media_root):
    use_tenant("alpha")
    member_import = make_import(officer, b"SIREN\n")
    use_tenant("beta")
    client_b.force_login(UserFactory(role="case_officer"))

    assert client_b.get(f"/staff/adherents/import/{member_import.pk + 1000}/").status_code == 404
    assert client_b.get(f"/staff/adherents/import/{member_import.pk}/").status_code == 404


def test_the_upload_form_and_the_empty_list_render(officer, client_a):
    client_a.force_login(officer)

    form = client_a.get("/staff/adherents/import/nouveau/")
    listing = client_a.get("/staff/adherents/import/")

    body = form.content.decode()
    assert form.status_code == 200
    assert 'type="file"' in body and 'enctype="multipart/form-data"' in body
    assert "<legend>Entreprises déjà enregistrées (même SIREN)</legend>" in body
    assert 'value="update"' in body and "checked" in body
    assert listing.status_code == 200 and "Aucun import pour le moment." in listing.content.decode()


def test_a_failed_check_says_why_on_the_status_page(officer, client_a, monkeypatch):
    monkeypatch.setattr(bulk_import, "MAX_ROWS", 1)
    client_a.force_login(officer)
    member_import = bulk_import.check(make_import(officer, csv_bytes([["SIREN"], ["732829320"], ["552100554"]])))

    body = client_a.get(f"/staff/adherents/import/{member_import.pk}/").content.decode()

    assert member_import.status == MemberImport.Status.FAILED
    assert 'role="alert"' in body and "plus de 1 lignes" in body
    assert "Confirmer l&#x27;import" not in body and "Confirmer l'import" not in body


def test_a_task_that_breaks_marks_the_import_failed(officer, monkeypatch):
    from mediation.members import import_tasks

    member_import = run(officer, csv_bytes([FR_HEADER, member_row(valid_siren(1))]))
    MemberImport.objects.filter(pk=member_import.pk).update(status=MemberImport.Status.IMPORTING)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk_import, "apply", broken)
    assert import_tasks.apply_member_import(member_import.pk, "fr", officer.pk) == "failed"
    member_import.refresh_from_db()
    assert member_import.status == MemberImport.Status.FAILED
    assert "erreur inattendue" in member_import.report["message"]


def test_the_apply_task_refuses_a_user_without_members_edit(officer):
    from mediation.members import import_tasks

    member_import = run(officer, csv_bytes([FR_HEADER, member_row(valid_siren(1))]))
    MemberImport.objects.filter(pk=member_import.pk).update(status=MemberImport.Status.IMPORTING)
    reader = UserFactory(role="read_only")

    assert import_tasks.apply_member_import(member_import.pk, "fr", reader.pk) == "failed"
    assert Member.objects.count() == 0

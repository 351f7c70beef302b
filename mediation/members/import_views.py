"""Staff pages of the member import (/staff/adherents/import/) and the SIRENE lookup endpoint: members.edit only."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm
from core.exports import safe_cell
from firm import validators as identifiers
from mediation.members import bulk_import, sirene
from mediation.members.import_forms import ImportForm
from mediation.members.models import MemberImport
from mediation.members.validators import derive_vat_number

ERRORS_SHOWN = 500
IMPORTS_SHOWN = 50
RUNNING = (MemberImport.Status.CHECKING, MemberImport.Status.IMPORTING)


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _get_import(pk: int, *, with_report: bool = True) -> MemberImport:
    queryset = MemberImport.objects.select_related("created_by")
    if not with_report:
        queryset = queryset.defer("report")
    member_import = queryset.filter(pk=pk).first()
    if member_import is None:
        raise Http404
    return member_import


@require_perm(Perm.MEMBERS_EDIT)
def import_list(request: HttpRequest) -> HttpResponse:
    return render(request, "members/import/import_list.html", {"imports": bulk_import.imports()[:IMPORTS_SHOWN]})


@require_perm(Perm.MEMBERS_EDIT)
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        member_import = bulk_import.start_import(
            by=_acting_user(request), upload=form.cleaned_data["file"], on_duplicate=form.cleaned_data["on_duplicate"]
        )
        return redirect("members-import:detail", pk=member_import.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "members/import/import_form.html", {"form": form}, status=status)


def _progress(member_import: MemberImport) -> dict[str, Any]:
    total = member_import.total_rows
    return {
        "status": member_import.status,
        "status_label": member_import.get_status_display(),
        "processed": member_import.processed_rows,
        "total": total,
        "running": member_import.status in RUNNING,
    }


@require_perm(Perm.MEMBERS_EDIT)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member_import = _get_import(pk)
    report = member_import.report or {}
    errors = report.get("errors") or []
    context = {
        "import": member_import,
        "report": report,
        "progress": _progress(member_import),
        "errors": errors[:ERRORS_SHOWN],
        "error_count": len(errors),
        "errors_truncated": len(errors) > ERRORS_SHOWN,
        "can_confirm": member_import.status == MemberImport.Status.CHECKED
        and (report.get("to_create", 0) + report.get("to_update", 0)) > 0,
    }
    return render(request, "members/import/import_detail.html", context)


@require_perm(Perm.MEMBERS_EDIT)
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled every 2 s by the status page while the import runs."""
    response = JsonResponse(_progress(_get_import(pk, with_report=False)))
    response["Cache-Control"] = "no-store"
    return response


@require_perm(Perm.MEMBERS_EDIT)
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    member_import = _get_import(pk, with_report=False)
    if bulk_import.confirm_import(by=_acting_user(request), member_import=member_import):
        messages.success(request, _("L'import est lancé : cette page suit sa progression."))
    else:
        messages.error(request, _("Cet import n'attend pas de confirmation (il est déjà lancé ou terminé)."))
    return redirect("members-import:detail", pk=member_import.pk)


def _csv_response(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    # For French Excel: UTF-8 with a BOM, semicolons (as the member export).
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[safe_cell(value) for value in row] for row in rows])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_perm(Perm.MEMBERS_EDIT)
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    member_import = _get_import(pk)
    errors = (member_import.report or {}).get("errors") or []
    return _csv_response(
        f"import-{member_import.pk}-erreurs.csv",
        [_("Ligne"), _("Colonne"), _("Valeur"), _("Erreur")],
        [[error.get("row"), error.get("column"), error.get("value"), error.get("message")] for error in errors],
    )


@require_perm(Perm.MEMBERS_EDIT)
@require_GET
def import_model_csv(request: HttpRequest) -> HttpResponse:
    """An empty file with every recognised column, to fill in."""
    return _csv_response("modele-import-adherents.csv", bulk_import.model_file_header(), [])


@require_perm(Perm.MEMBERS_EDIT)
@require_GET
def sirene_lookup(request: HttpRequest, siren: str) -> HttpResponse:
    """JSON for the member form's "Remplir depuis le répertoire SIRENE" button."""
    if not sirene.is_enabled():
        return JsonResponse(
            {"code": "disabled", "message": _("La recherche dans le répertoire SIRENE n'est pas configurée.")},
            status=404,
        )
    siren = identifiers.normalize_siren(siren)
    try:
        identifiers.validate_siren(siren)
    except ValidationError as exc:
        return JsonResponse({"code": "invalid_siren", "message": " ".join(exc.messages)}, status=400)
    info = sirene.lookup(siren)
    if info is None:
        return JsonResponse(
            {
                "code": "not_found",
                "message": _(
                    "Aucune entreprise trouvée pour ce SIREN, ou le répertoire SIRENE ne répond pas : "
                    "saisissez les informations à la main."
                ),
            },
            status=404,
        )
    fields = info.as_dict()
    fields["vat_number"] = derive_vat_number(siren)
    return JsonResponse({"code": "found", "fields": fields})

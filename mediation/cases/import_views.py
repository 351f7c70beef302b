"""Staff page to import a helpdesk export (Zendesk tickets JSON): upload, dry run, confirm."""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.permissions import Perm, require_perm
from mediation.cases import imports

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
SESSION_KEY = "cases_import_file"


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Export JSON des tickets"),
        help_text=gettext_lazy(
            'Export de l\'API ({"tickets": […], "users": […]}) ou export du compte (un ticket par ligne).'
        ),
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("Le fichier dépasse 100 Mo : découpez l'export."))
        return bytes(upload.read())


def _path(token: str) -> str:
    return f"imports/zendesk/{token}.json"


@require_perm(Perm.CASES_HANDLE)
def import_tickets(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST with a file: the dry run. POST `confirm`: the import of the file of the dry run."""
    user = request.user
    assert isinstance(user, User)
    if request.method == "POST" and "confirm" in request.POST:
        token = request.session.get(SESSION_KEY, "")
        if not token or request.POST.get("token") != token or not default_storage.exists(_path(token)):
            messages.error(request, _("Le fichier à importer n'est plus disponible : déposez-le à nouveau."))
            return redirect("cases-import:tickets")
        with default_storage.open(_path(token), "rb") as handle:
            raw = handle.read()
        result = imports.apply(raw=raw, by=user)
        default_storage.delete(_path(token))
        del request.session[SESSION_KEY]
        messages.success(
            request,
            _(
                "%(created)s dossier(s) importé(s), %(skipped)s déjà présent(s), "
                "%(errors)s ticket(s) en erreur non importé(s)."
            )
            % {"created": len(result.created), "skipped": result.skipped, "errors": len(result.errors)},
        )
        return redirect("cases-import:tickets")
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["file"]
        try:
            plan = imports.plan(raw)
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            token = secrets.token_urlsafe(16)
            default_storage.save(_path(token), ContentFile(raw))
            request.session[SESSION_KEY] = token
            context.update({"plan": plan, "token": token})
    return render(request, "cases/import/tickets.html", context, status=400 if form.errors else 200)

"""The letters' texts (/staff/courriers/): cases.view reads them, firm.settings edits and resets them."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Perm, require_perm, user_has_perm
from mediation.cases import letter_texts, letters
from mediation.cases.letter_forms import LetterTemplateForm
from mediation.cases.models import LetterTemplate


def _kind(kind: str) -> letter_texts.LetterText:
    text = letter_texts.DEFAULTS.get(kind)
    if text is None:
        raise Http404
    return text


def _variables() -> list[tuple[str, str]]:
    return [(name, str(label)) for name, label in letter_texts.VARIABLES.items()]


@require_perm(Perm.CASES_VIEW)
def letter_list(request: HttpRequest) -> HttpResponse:
    custom = set(LetterTemplate.objects.values_list("kind", flat=True))
    rows = [
        {"kind": kind, "label": text.label, "customised": kind in custom}
        for kind, text in letter_texts.DEFAULTS.items()
    ]
    context = {"rows": rows, "can_edit": user_has_perm(request.user, Perm.FIRM_SETTINGS)}
    return render(request, "cases/letters/list.html", context)


@require_perm(Perm.CASES_VIEW)
def letter_detail(request: HttpRequest, kind: str) -> HttpResponse:
    text = _kind(kind)
    subject, body, customised = letters.texts_for(kind)
    context = letter_texts.sample_context()
    try:
        preview = {
            "subject": " ".join(letter_texts.render_text(subject, context).split()),
            "body": letter_texts.render_text(body, context),
        }
    except Exception:  # a text saved before a rule changed: shown, never a 500
        preview = None
    return render(
        request,
        "cases/letters/detail.html",
        {
            "kind": kind,
            "text": text,
            "subject": subject,
            "body": body,
            "customised": customised,
            "preview": preview,
            "can_edit": user_has_perm(request.user, Perm.FIRM_SETTINGS),
        },
    )


@require_perm(Perm.FIRM_SETTINGS)
def letter_edit(request: HttpRequest, kind: str) -> HttpResponse:
    text = _kind(kind)
    subject, body, customised = letters.texts_for(kind)
    form = LetterTemplateForm(request.POST or None, kind=kind, initial={"subject": subject, "body": body})
    if request.method == "POST" and form.is_valid() and "preview" not in request.POST:
        data = form.cleaned_data
        letters.save_template(kind=kind, subject=data["subject"], body=data["body"], by=request.user)
        messages.success(request, _("Le courrier « %(label)s » est enregistré.") % {"label": text.label})
        return redirect("letters:detail", kind=kind)
    context = {
        "kind": kind,
        "text": text,
        "form": form,
        "customised": customised,
        "preview": form.preview if form.is_bound else None,
        "variables": _variables(),
    }
    return render(request, "cases/letters/edit.html", context, status=400 if form.is_bound and form.errors else 200)


@require_POST
@require_perm(Perm.FIRM_SETTINGS)
def letter_reset(request: HttpRequest, kind: str) -> HttpResponse:
    text = _kind(kind)
    if letters.reset_template(kind=kind, by=request.user):
        messages.success(request, _("Le courrier « %(label)s » reprend le texte par défaut.") % {"label": text.label})
    return redirect("letters:detail", kind=kind)

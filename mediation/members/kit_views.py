"""The staff page of a member's shop-window and website kit (/staff/adherents/kit/<pk>/) and its downloads."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm, user_has_perm
from mediation.members import kit
from mediation.members.coverage import coverage_of
from mediation.members.models import Member


def _member(pk: int) -> Member:
    member = Member.objects.filter(pk=pk).first()
    if member is None:
        raise Http404
    return member


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@require_perm(Perm.MEMBERS_VIEW)
def kit_page(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member(member_pk)
    token = kit.badge_token(member=member).token
    context = {
        "member": member,
        "coverage": coverage_of(member=member, today=timezone.localdate()),
        "cgv_clause": kit.cgv_clause(member=member),
        "website_text": kit.website_text(member=member),
        "snippet": kit.badge_snippet(member=member),
        # Relative, so that the preview loads from the host the staff member is on.
        "badge_preview": reverse("badge:svg", kwargs={"token": token}),
        "verification_url": kit.verification_url(token),
        "badge_width": kit.BADGE_WIDTH,
        "badge_height": kit.BADGE_HEIGHT,
        "can_edit": user_has_perm(request.user, Perm.MEMBERS_EDIT),
    }
    return render(request, "members/kit/kit_page.html", context)


@require_GET
@require_perm(Perm.MEMBERS_VIEW)
def certificate(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member(member_pk)
    today = timezone.localdate()
    try:
        content = kit.certificate_pdf(member=member, today=today)
    except kit.NotCovered as exc:
        messages.error(request, str(exc))
        return redirect("kit:page", member_pk=member.pk)
    return _pdf(content, f"certificat-adhesion-{slugify(member.legal_name)}-{today.year}.pdf")


@require_GET
@require_perm(Perm.MEMBERS_VIEW)
def poster(request: HttpRequest, member_pk: int, size: kit.PosterSize) -> HttpResponse:
    member = _member(member_pk)
    return _pdf(
        kit.poster_pdf(member=member, size=size), f"affiche-mediation-{size.lower()}-{slugify(member.legal_name)}.pdf"
    )


@require_POST
@require_perm(Perm.MEMBERS_EDIT)
def revoke(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = _member(member_pk)
    assert isinstance(request.user, User)  # require_perm let only staff users through
    kit.revoke_badge(member=member, by=request.user)
    messages.success(
        request,
        _("L'ancien badge de %(name)s n'est plus valable : donnez-lui le nouveau code à coller sur son site.")
        % {"name": member},
    )
    return redirect("kit:page", member_pk=member.pk)

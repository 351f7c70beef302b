"""Staff pages of the member businesses (/staff/adherents/): members.view reads, members.edit writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm, user_has_perm
from mediation.members import exports, news, selectors, services, sirene
from mediation.members.forms import ContactForm, GroupForm, MemberFilterForm, MemberForm
from mediation.members.models import Contact, Member

PAGE_SIZE = 50
MEMBER_CASES_SHOWN = 20
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _changes(form: BaseForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data}


def _get_member(pk: int) -> Member:
    member = selectors.member(pk=pk)
    if member is None:
        raise Http404
    return member


def _filtered(request: HttpRequest) -> tuple[MemberFilterForm, Any]:
    form = MemberFilterForm(request.GET)
    form.is_valid()  # an invalid filter is ignored, the others still apply
    return form, selectors.members(form.filters())


@dataclass(frozen=True)
class _Row:
    """A member as the list shows it: labels and link prepared once per page rather than per cell."""

    member: Member
    url: str
    sector: str
    headcount_band: str
    status: str


_PK_MARK = 987654321  # reversed once, then replaced by each row's pk


def _rows(members: list[Member]) -> list[_Row]:
    # get_FOO_display() rebuilds a dict of lazy labels at each call: a third of the page's time at 50 rows.
    labels = {
        name: {str(value): str(label) for value, label in Member._meta.get_field(name).flatchoices}  # type: ignore[union-attr]
        for name in ("sector", "headcount_band", "status")
    }
    prefix, suffix = reverse("members:detail", args=[_PK_MARK]).split(str(_PK_MARK))
    return [
        _Row(
            member=member,
            url=f"{prefix}{member.pk}{suffix}",
            sector=labels["sector"].get(member.sector, member.sector),
            headcount_band=labels["headcount_band"].get(member.headcount_band, ""),
            status=labels["status"].get(member.status, member.status),
        )
        for member in members
    ]


@require_perm(Perm.MEMBERS_VIEW)
def member_list(request: HttpRequest) -> HttpResponse:
    form = MemberFilterForm(request.GET)
    form.is_valid()  # an invalid filter is ignored, the others still apply
    filters = form.filters()
    page = selectors.member_page(
        filters, cursor=request.GET.get("cursor", ""), page=request.GET.get("page"), size=PAGE_SIZE
    )
    count, more = selectors.member_count(filters)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("cursor", None)
    context = {
        "form": form,
        "page": page,
        "rows": _rows(page.object_list),
        "count": count,
        "count_more": more,
        "query": query.urlencode(),
        "can_edit": user_has_perm(request.user, Perm.MEMBERS_EDIT),
    }
    return render(request, "members/member_list.html", context)


def _export_name(extension: str) -> str:
    return f"adherents-{timezone.localdate().isoformat()}.{extension}"


@require_perm(Perm.MEMBERS_VIEW)
def member_export_csv(request: HttpRequest) -> HttpResponse:
    _form, queryset = _filtered(request)
    response = StreamingHttpResponse(exports.csv_chunks(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
    return cast(HttpResponse, response)  # require_perm is typed for HttpResponse; Django serves both alike


@require_perm(Perm.MEMBERS_VIEW)
def member_export_xlsx(request: HttpRequest) -> HttpResponse:
    _form, queryset = _filtered(request)
    response = FileResponse(
        exports.xlsx_file(queryset), as_attachment=True, filename=_export_name("xlsx"), content_type=XLSX_TYPE
    )
    return cast(HttpResponse, response)  # see member_export_csv


@require_perm(Perm.MEMBERS_VIEW)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = _get_member(pk)
    context = {
        "member": member,
        "contacts": member.contacts.all(),
        "history": selectors.member_history(member=member),
        "can_edit": user_has_perm(request.user, Perm.MEMBERS_EDIT),
        "news_deliveries": news.news_for_member(member),
    }
    if user_has_perm(request.user, Perm.CASES_VIEW):
        context["cases"] = selectors.member_cases(member=member, limit=MEMBER_CASES_SHOWN)
    return render(request, "members/member_detail.html", context)


def _render_form(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    form = context["form"]
    return render(request, template, context, status=400 if form.is_bound and form.errors else 200)


@require_perm(Perm.MEMBERS_EDIT)
def member_create(request: HttpRequest) -> HttpResponse:
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.create_member(by=_acting_user(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("L'adhérent %(name)s est enregistré.") % {"name": member})
            return redirect("members:detail", pk=member.pk)
    return _render_form(
        request, "members/member_form.html", {"form": form, "member": None, "sirene_enabled": sirene.is_enabled()}
    )


@require_perm(Perm.MEMBERS_EDIT)
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = _get_member(pk)
    form = MemberForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member(by=_acting_user(request), member=member, **_changes(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("La fiche de %(name)s est enregistrée.") % {"name": member})
            return redirect("members:detail", pk=member.pk)
    return _render_form(
        request, "members/member_form.html", {"form": form, "member": member, "sirene_enabled": sirene.is_enabled()}
    )


def _get_contact(member: Member, contact_pk: int) -> Contact:
    contact = selectors.contact(member=member, pk=contact_pk)
    if contact is None:
        raise Http404
    return contact


@require_perm(Perm.MEMBERS_EDIT)
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    member = _get_member(pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.add_contact(by=_acting_user(request), member=member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Le contact %(name)s est ajouté.") % {"name": contact})
            return redirect("members:detail", pk=member.pk)
    return _render_form(request, "members/contact_form.html", {"form": form, "member": member, "contact": None})


@require_perm(Perm.MEMBERS_EDIT)
def contact_edit(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    member = _get_member(pk)
    contact = _get_contact(member, contact_pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contact(by=_acting_user(request), contact=contact, **_changes(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Le contact %(name)s est enregistré.") % {"name": contact})
            return redirect("members:detail", pk=member.pk)
    return _render_form(request, "members/contact_form.html", {"form": form, "member": member, "contact": contact})


@require_perm(Perm.MEMBERS_EDIT)
@require_POST
def contact_remove(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    member = _get_member(pk)
    contact = _get_contact(member, contact_pk)
    services.remove_contact(by=_acting_user(request), contact=contact)
    messages.success(request, _("Le contact %(name)s est supprimé.") % {"name": contact})
    return redirect("members:detail", pk=member.pk)


@require_perm(Perm.MEMBERS_VIEW)
def group_list(request: HttpRequest) -> HttpResponse:
    context = {"groups": selectors.groups(), "can_edit": user_has_perm(request.user, Perm.MEMBERS_EDIT)}
    return render(request, "members/group_list.html", context)


@require_perm(Perm.MEMBERS_EDIT)
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.create_group(by=_acting_user(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Le groupement %(name)s est enregistré.") % {"name": group})
            return redirect("members:groups")
    return _render_form(request, "members/group_form.html", {"form": form, "group": None})


@require_perm(Perm.MEMBERS_EDIT)
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.group(pk=pk)
    if group is None:
        raise Http404
    form = GroupForm(request.POST or None, instance=group)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_group(by=_acting_user(request), group=group, **_changes(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Le groupement %(name)s est enregistré.") % {"name": group})
            return redirect("members:groups")
    return _render_form(request, "members/group_form.html", {"form": form, "group": group})

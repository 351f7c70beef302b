"""Support access in the operator console: the "open" action on firms and the list of grants.

Kept apart from tenants/admin.py, which only adds the action to TenantAdmin.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from core.admin import ReadOnlyAdmin
from tenants import support
from tenants.models import SupportGrant, Tenant


class SupportGrantForm(forms.Form):
    # Bounds and required reason are checked by the service, whose French messages the form shows.
    reason = forms.CharField(
        label=_("Motif"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Écrit dans le journal d'audit du cabinet."),
    )
    level = forms.ChoiceField(
        label=_("Niveau d'accès"), choices=SupportGrant.Level.choices, initial=SupportGrant.Level.READ_ONLY
    )
    minutes = forms.IntegerField(
        label=_("Durée (minutes)"),
        initial=60,
        help_text=_("Entre %(min)d et %(max)d minutes.") % {"min": support.MIN_MINUTES, "max": support.MAX_MINUTES},
    )


FIELD_OF_REFUSAL = {"reason": "reason", "duration": "minutes", "level": "level"}


def _operator(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only staff users in
    return request.user


def _render(request: HttpRequest, modeladmin: admin.ModelAdmin[Any], template: str, **context: Any) -> HttpResponse:
    return TemplateResponse(
        request,
        f"tenants/admin/{template}",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            **context,
        },
    )


@admin.action(description=_("Ouvrir un accès support"))
def open_support_access(
    modeladmin: admin.ModelAdmin[Tenant], request: HttpRequest, queryset: QuerySet[Tenant]
) -> HttpResponse | None:
    """Asks for a reason, a level and a duration, then shows the single-use link once."""
    tenants = list(queryset[:2])
    if len(tenants) != 1:
        modeladmin.message_user(
            request, _("Sélectionnez un seul cabinet pour ouvrir un accès support."), messages.ERROR
        )
        return None
    tenant = tenants[0]
    try:
        support.ensure_firm_accepts_support(tenant=tenant)
    except support.SupportAccessError as exc:
        modeladmin.message_user(request, f"{tenant} : {exc.message}", messages.ERROR)
        return None

    form = SupportGrantForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            grant, token = support.grant_support_access(
                tenant=tenant,
                by=_operator(request),
                reason=form.cleaned_data["reason"],
                level=form.cleaned_data["level"],
                minutes=form.cleaned_data["minutes"],
            )
        except support.SupportAccessError as exc:
            form.add_error(FIELD_OF_REFUSAL.get(exc.reason), str(exc.message))
        else:
            # The console's own scheme and port: a link that works from where the operator is.
            port = split_domain_port(request.get_host())[1] or None
            link = support.support_link(grant=grant, token=token, scheme=request.scheme or "http", port=port)
            return _render(
                request,
                modeladmin,
                "support_grant_link.html",
                title=_("Accès support ouvert"),
                tenant=tenant,
                grant=grant,
                link=link,
            )
    return _render(
        request,
        modeladmin,
        "support_grant_form.html",
        title=_("Ouvrir un accès support"),
        tenant=tenant,
        form=form,
    )


@admin.register(SupportGrant)
class SupportGrantAdmin(ReadOnlyAdmin):
    """Grants are read-only here: created by the firm action, ended by "Révoquer" (both audited)."""

    list_display = ("tenant", "operator_email", "level", "reason", "created_at", "expires_at", "used_at", "revoked_at")
    list_select_related = ("tenant",)
    list_filter = ("level",)
    search_fields = ("tenant__name", "operator_email", "reason")
    exclude = ("token_hash",)
    actions = ["revoke"]

    # The grants of every firm live in the public schema: never show them on a firm's host.

    @admin.action(description=_("Révoquer"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[SupportGrant]) -> None:
        live = queryset.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
        done = [support.revoke_support_access(grant=grant, by=_operator(request)) for grant in live]
        self.message_user(
            request,
            ngettext("%(count)d accès support révoqué.", "%(count)d accès support révoqués.", len(done))
            % {"count": len(done)},
            messages.SUCCESS,
        )

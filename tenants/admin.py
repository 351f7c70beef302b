from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tenants.utils import get_public_schema_name

from tenants import closure, services
from tenants.models import Domain, DomainRequest, Plan, Signup, Tenant
from tenants.selectors import firm_figures
from tenants.support_admin import open_support_access  # also registers SupportGrantAdmin


class FirmChangeList(ChangeList):
    """The console's firm list: figures read inside each firm's schema, one query per page."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        public = get_public_schema_name()
        rows = [
            t
            for t in self.result_list
            if t.kind == Tenant.Kind.FIRM and t.dropped_at is None and t.schema_name != public
        ]
        figures = firm_figures(t.schema_name for t in rows)
        for tenant in rows:
            tenant.figures = figures.get(tenant.schema_name)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "schema_name",
        "kind",
        "plan",
        "is_active",
        "staff_count",
        "member_count",
        "case_count",
        "invoice_count",
        "last_activity_at",
        "suspended_at",
        "closed_at",
        "created_at",
    )
    list_select_related = ("plan",)
    search_fields = ("name", "schema_name", "siren", "domains__domain")
    list_filter = ("kind", "is_active", "plan")
    readonly_fields = (
        "schema_name",
        "kind",
        "suspended_at",
        "suspension_reason",
        "closed_at",
        "drop_after",
        "dropped_at",
        "export_link",
        "created_at",
    )
    exclude = ("export_file", "export_sha256")
    inlines = [DomainInline]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return FirmChangeList

    @admin.display(description=_("équipe active"))
    def staff_count(self, tenant: Tenant) -> int | str:
        return self._figure(tenant, "staff")

    @admin.display(description=_("adhérents (actifs)"))
    def member_count(self, tenant: Tenant) -> str:
        members, active = self._figure(tenant, "members"), self._figure(tenant, "active_members")
        return f"{members} ({active})"

    @admin.display(description=_("dossiers en cours (reçus cette année)"))
    def case_count(self, tenant: Tenant) -> str:
        running, this_year = self._figure(tenant, "open_cases"), self._figure(tenant, "cases_this_year")
        return f"{running} ({this_year})"

    @admin.display(description=_("factures émises cette année"))
    def invoice_count(self, tenant: Tenant) -> int | str:
        return self._figure(tenant, "invoices_this_year")

    @staticmethod
    def _figure(tenant: Tenant, name: str) -> int | str:
        figures = getattr(tenant, "figures", None)
        return figures[name] if figures else "—"

    actions = ["suspend", "reactivate", "close", "reopen", open_support_access]

    @admin.action(description=_("Suspendre les cabinets sélectionnés"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        done = [
            services.suspend_firm(tenant=t, by=request.user, reason=str(_("Suspendu par l'opérateur")))
            for t in queryset.filter(kind=Tenant.Kind.FIRM, is_active=True)
        ]
        self.message_user(
            request,
            ngettext("%(count)d cabinet suspendu.", "%(count)d cabinets suspendus.", len(done)) % {"count": len(done)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Réactiver les cabinets sélectionnés"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        done = [
            services.reactivate_firm(tenant=t, by=request.user)
            for t in queryset.filter(kind=Tenant.Kind.FIRM, is_active=False)
        ]
        self.message_user(
            request,
            ngettext("%(count)d cabinet réactivé.", "%(count)d cabinets réactivés.", len(done)) % {"count": len(done)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Fermer les cabinets sélectionnés (export, puis suppression après le délai de grâce)"))
    def close(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        done = [
            closure.close_firm(tenant=t, by=request.user)
            for t in Tenant.objects.firms().filter(pk__in=queryset, closed_at__isnull=True)
        ]
        self.message_user(
            request,
            ngettext(
                "%(count)d cabinet fermé : l'export de ses données est en cours.",
                "%(count)d cabinets fermés : l'export de leurs données est en cours.",
                len(done),
            )
            % {"count": len(done)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Rouvrir les cabinets fermés sélectionnés (pendant le délai de grâce)"))
    def reopen(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        done = [
            closure.reopen_firm(tenant=t, by=request.user)
            for t in Tenant.objects.firms().filter(pk__in=queryset, closed_at__isnull=False, dropped_at__isnull=True)
        ]
        self.message_user(
            request,
            ngettext("%(count)d cabinet rouvert.", "%(count)d cabinets rouverts.", len(done)) % {"count": len(done)},
            messages.SUCCESS,
        )

    @admin.display(description=_("Export des données"))
    def export_link(self, tenant: Tenant) -> str:
        if not tenant.export_file:
            return "—"
        url = reverse("console-export", kwargs={"tenant_id": tenant.pk})
        return format_html(
            '<a href="{}">{}</a> <span class="muted">SHA-256 {}</span>', url, tenant.export_file, tenant.export_sha256
        )


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    list_select_related = ("tenant",)
    search_fields = ("domain",)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "monthly_price_cents", "max_active_members", "max_staff_seats", "is_public")


@admin.register(Signup)
class SignupAdmin(admin.ModelAdmin):
    list_display = ("legal_name", "slug", "admin_email", "plan", "status", "attempts", "created_at", "ready_at")
    list_filter = ("status", "plan")
    search_fields = ("legal_name", "slug", "admin_email", "siren")
    readonly_fields = [f.name for f in Signup._meta.fields if f.name != "token_hash"]
    exclude = ("token_hash",)


@admin.register(DomainRequest)
class DomainRequestAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("status",)
    list_select_related = ("tenant",)
    search_fields = ("domain", "tenant__name")
    readonly_fields = ("tenant", "domain", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    actions = ["approve", "reject"]

    def _decide(self, request: HttpRequest, queryset: QuerySet[DomainRequest], *, approve: bool) -> None:
        decided = 0
        for domain_request in queryset.filter(status=DomainRequest.Status.REQUESTED):
            try:
                services.decide_custom_domain(request=domain_request, by=request.user, approve=approve)
                decided += 1
            except services.SignupError as exc:
                self.message_user(request, f"{domain_request.domain} : {exc}", messages.ERROR)
        self.message_user(
            request,
            ngettext("%(count)d demande traitée.", "%(count)d demandes traitées.", decided) % {"count": decided},
            messages.SUCCESS,
        )

    @admin.action(description=_("Approuver les domaines sélectionnés"))
    def approve(self, request: HttpRequest, queryset: QuerySet[DomainRequest]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Refuser les domaines sélectionnés"))
    def reject(self, request: HttpRequest, queryset: QuerySet[DomainRequest]) -> None:
        self._decide(request, queryset, approve=False)

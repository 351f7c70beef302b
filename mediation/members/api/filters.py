"""Filters of GET /api/v1/memberships/ and /api/v1/members/{id}/memberships/ (django-filter), and their querysets.

A membership (one term) has no status column: its `status` is derived in SQL
from its dates and its termination, so that the list can be filtered and
sorted by it in one query.
"""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import InvoiceLine
from mediation.members.models import Contact, Membership, Tariff

# A choice rather than a BooleanFilter, whose widget silently reads an unknown value as "not given".
YES_NO = [("true", _("oui")), ("false", _("non"))]


class TermStatus:
    """The derived status of a term on a day (`listed_memberships`)."""

    UPCOMING = "upcoming"
    CURRENT = "current"
    ENDED = "ended"
    TERMINATED = "terminated"
    CHOICES = [
        (UPCOMING, _("À venir")),
        (CURRENT, _("En cours")),
        (ENDED, _("Terminée")),
        (TERMINATED, _("Résiliée")),
    ]
    VALUES = [value for value, _label in CHOICES]


def listed_memberships(today: datetime.date | None = None) -> QuerySet[Membership]:
    """Every term with its member and convention joined and its derived `term_status`, in one query."""
    today = today or timezone.localdate()
    return Membership.objects.select_related("member", "acceptance__convention").annotate(
        term_status=Case(
            When(terminated_at__isnull=False, then=Value(TermStatus.TERMINATED)),
            When(starts_on__gt=today, then=Value(TermStatus.UPCOMING)),
            When(ends_on__lt=today, then=Value(TermStatus.ENDED)),
            default=Value(TermStatus.CURRENT),
            output_field=CharField(),
        )
    )


class MembershipFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        field_name="term_status",
        choices=TermStatus.CHOICES,
        help_text=_(
            "upcoming : pas encore commencée ; current : en cours aujourd'hui ; ended : terminée ; "
            "terminated : résiliée. Répétez le paramètre pour plusieurs statuts."
        ),
    )
    member = django_filters.NumberFilter(field_name="member_id", min_value=1, help_text=_("Identifiant de l'adhérent."))
    term_years = django_filters.TypedChoiceFilter(
        choices=Tariff.Term.choices, coerce=int, help_text=_("Engagement en années (1 ou 3).")
    )
    ends_from = django_filters.DateFilter(
        field_name="ends_on", lookup_expr="gte", help_text=_("Période se terminant ce jour ou après.")
    )
    ends_to = django_filters.DateFilter(
        field_name="ends_on", lookup_expr="lte", help_text=_("Période se terminant ce jour ou avant.")
    )
    starts_from = django_filters.DateFilter(
        field_name="starts_on", lookup_expr="gte", help_text=_("Période commençant ce jour ou après.")
    )
    starts_to = django_filters.DateFilter(
        field_name="starts_on", lookup_expr="lte", help_text=_("Période commençant ce jour ou avant.")
    )
    paid = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_paid", help_text=_("true : période payée ; false : en attente de paiement.")
    )
    suspended = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_suspended", help_text=_("true : couverture suspendue pour impayé.")
    )
    product = django_filters.NumberFilter(
        method="filter_product",
        min_value=1,
        help_text=_("Identifiant d'un produit du catalogue : les périodes facturées avec ce produit."),
    )

    class Meta:
        model = Membership
        fields: list[str] = []

    def filter_paid(self, queryset: QuerySet[Membership], name: str, value: str) -> QuerySet[Membership]:
        return queryset.filter(paid_at__isnull=value != "true")

    def filter_suspended(self, queryset: QuerySet[Membership], name: str, value: str) -> QuerySet[Membership]:
        return queryset.filter(suspended_at__isnull=value != "true")

    def filter_product(self, queryset: QuerySet[Membership], name: str, value: int) -> QuerySet[Membership]:
        # An EXISTS rather than a join: one row per term whatever the number of lines (cursor pages need it).
        lines = InvoiceLine.objects.filter(invoice__membership=OuterRef("pk"), product_id=value)
        return queryset.filter(Exists(lines))

    def is_valid(self) -> bool:
        if not super().is_valid():
            return False
        data = self.form.cleaned_data
        for low, high in (("ends_from", "ends_to"), ("starts_from", "starts_to")):
            if data.get(low) and data.get(high) and data[low] > data[high]:
                self.form.add_error(high, _("Cette date doit suivre la date de début."))
        return not self.form.errors


class ContactFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(
        choices=Contact.Role.choices, method="filter_role", help_text=_("Les contacts qui ont ce rôle.")
    )
    is_active = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_active", help_text=_("true : contacts actifs ; false : anciens contacts.")
    )

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_role(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return queryset.filter(roles__contains=[value])

    def filter_active(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return queryset.filter(is_active=value == "true")

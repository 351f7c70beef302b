"""Filters of GET /api/v1/cases/ (django-filter), over submitted cases only (drafts are never listed)."""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mediation.cases.models import Case, Status, Subject

LISTED_STATUSES = [(value, label) for value, label in Status.choices if value != Status.DRAFT]
# Cases without a deadline (finished ones) sort after every dated one when ordered by deadline.
NO_DEADLINE = datetime.date(9999, 12, 31)
# The fields `search` looks into; every word of the query must match one of them.
SEARCH_FIELDS = (
    "reference",
    "consumer_first_name",
    "consumer_last_name",
    "consumer_email",
    "business_name",
    "member__legal_name",
    "member__trade_name",
)


def listed_cases() -> QuerySet[Case]:
    """Every submitted case with what a row of the list shows, in one query (member and assignee joined)."""
    return (
        Case.objects.exclude(status=Status.DRAFT)
        .select_related("member", "assignee")
        .annotate(due_key=Coalesce("next_due_on", NO_DEADLINE))
    )


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=LISTED_STATUSES, help_text=_("Un ou plusieurs statuts (répétez le paramètre).")
    )
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        help_text=_("Identifiant d'un membre de l'équipe, « me » pour soi-même ou « none » pour les non attribués."),
    )
    member = django_filters.NumberFilter(field_name="member_id", min_value=1, help_text=_("Identifiant de l'adhérent."))
    subject = django_filters.ChoiceFilter(choices=Subject.choices)
    # A choice rather than a BooleanFilter, whose widget silently reads an unknown value as "not given".
    overdue = django_filters.ChoiceFilter(
        choices=[("true", _("oui")), ("false", _("non"))],
        method="filter_overdue",
        help_text=_("true : échéance dépassée ; false : dans les temps ou sans échéance."),
    )
    due_before = django_filters.DateFilter(
        field_name="next_due_on", lookup_expr="lte", help_text=_("Prochaine échéance au plus tard ce jour.")
    )
    received_after = django_filters.DateFilter(
        field_name="received_at", lookup_expr="date__gte", help_text=_("Reçu ce jour ou après.")
    )
    received_before = django_filters.DateFilter(
        field_name="received_at", lookup_expr="date__lte", help_text=_("Reçu ce jour ou avant.")
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text=_("Référence, nom ou e-mail du consommateur, professionnel.")
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def filter_assignee(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        value = value.strip().lower()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=getattr(user, "pk", None))
        if value.isdigit():
            return queryset.filter(assignee_id=int(value))
        # Reached only through the form's validation below, kept as a guard.
        return queryset.none()

    def filter_overdue(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        today = timezone.localdate()
        if value == "true":
            return queryset.filter(next_due_on__lt=today)
        return queryset.filter(Q(next_due_on__isnull=True) | Q(next_due_on__gte=today))

    def filter_search(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        for word in value.split()[:8]:
            condition = Q()
            for field in SEARCH_FIELDS:
                condition |= Q(**{f"{field}__icontains": word})
            queryset = queryset.filter(condition)
        return queryset

    def is_valid(self) -> bool:
        valid = super().is_valid()
        assignee = (self.form.cleaned_data.get("assignee") or "").strip().lower() if valid else ""
        if assignee and assignee not in {"me", "none"} and not assignee.isdigit():
            self.form.add_error("assignee", _("Indiquez un identifiant, « me » ou « none »."))
            return False
        return valid

"""Serializers of the memberships API: a term (read only) and the input of its actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api import ModelSerializer
from mediation.members.api.filters import TermStatus
from mediation.members.models import Member, Membership, Tariff


class MemberRefSerializer(ModelSerializer):
    class Meta:
        model = Member
        fields = ["id", "legal_name", "siren", "status"]
        read_only_fields = fields


class MembershipSerializer(ModelSerializer):
    """One term of membership, with its derived status on the day of the request."""

    member = MemberRefSerializer()
    status = serializers.ChoiceField(
        source="term_status",
        choices=TermStatus.CHOICES,
        help_text="upcoming, current, ended or terminated (derived from the dates and the termination).",
    )
    convention_version = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = [
            "id",
            "member",
            "status",
            "term_years",
            "starts_on",
            "ends_on",
            "paid_at",
            "suspended_at",
            "terminated_at",
            "termination_reason",
            "convention_version",
            "created_at",
        ]
        read_only_fields = fields

    def get_convention_version(self, membership: Membership) -> int | None:
        acceptance = membership.acceptance
        return acceptance.convention.version if acceptance is not None else None


class RenewInputSerializer(serializers.Serializer):
    term_years = serializers.ChoiceField(
        choices=Tariff.Term.choices, default=1, help_text="Length of the new term in years (1 or 3)."
    )


class TerminateInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000,
        trim_whitespace=True,
        error_messages={"blank": _("Indiquez le motif de la résiliation.")},
        help_text="Why the membership ends (kept on every term ended and in the status history).",
    )


class EmptyInputSerializer(serializers.Serializer):
    """An action that takes no input."""

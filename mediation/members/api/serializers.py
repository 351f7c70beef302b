from typing import Any

from rest_framework import serializers

from core.api import ModelSerializer
from mediation.members.models import Contact, Group, Member
from mediation.members.services import MEMBER_FIELDS


class GroupSummarySerializer(ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class ContactSerializer(ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "roles", "first_name", "last_name", "email", "phone", "is_active"]
        read_only_fields = fields


class MemberListSerializer(ModelSerializer):
    """A row of GET /api/v1/members/."""

    group = GroupSummarySerializer(allow_null=True)

    class Meta:
        model = Member
        fields = [
            "id",
            "legal_name",
            "trade_name",
            "siren",
            "postcode",
            "city",
            "sector",
            "headcount_band",
            "group",
            "status",
            "updated_at",
        ]
        read_only_fields = fields


class MemberSerializer(ModelSerializer):
    """GET /api/v1/members/{id}/: the whole record with its contacts."""

    group = GroupSummarySerializer(allow_null=True)
    contacts = ContactSerializer(many=True)

    class Meta:
        model = Member
        fields = ["id", *MEMBER_FIELDS, "status", "contacts", "created_at", "updated_at"]
        read_only_fields = fields


class MemberInputSerializer(ModelSerializer):
    """What POST accepts (legal_name and siren required) and PATCH accepts (any subset).

    Identifiers may be sent with spaces: the model compacts them, then checks
    them (python-stdnum) and checks that the SIREN is not already on file, with
    the same French messages as the staff pages.
    """

    group = serializers.PrimaryKeyRelatedField(queryset=Group.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Member
        fields = list(MEMBER_FIELDS)
        extra_kwargs: dict[str, dict[str, Any]] = {
            "siren": {"max_length": None, "validators": []},
            "siret": {"max_length": None, "validators": []},
            "vat_number": {"max_length": None, "validators": []},
            "naf_code": {"max_length": None, "validators": []},
        }

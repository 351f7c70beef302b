"""Serializers of /api/v1/members/{id}/contacts/: the contact as read, and what POST and PATCH accept."""

from __future__ import annotations

from rest_framework import serializers

from core.api import ModelSerializer
from mediation.members.models import Contact


class ContactDetailSerializer(ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "member",
            "roles",
            "first_name",
            "last_name",
            "email",
            "phone",
            "is_active",
            "news_opt_out_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactInputSerializer(serializers.Serializer):
    """POST needs `last_name`; PATCH takes any subset. Roles are listed once each, in any order."""

    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Contact.Role.choices),
        max_length=len(Contact.Role.values) * 2,
        required=False,
    )
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=30, allow_blank=True, required=False)
    is_active = serializers.BooleanField(required=False)

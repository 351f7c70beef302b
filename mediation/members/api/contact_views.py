"""/api/v1/members/{id}/contacts/: a member's contacts; members.view reads, members.edit writes.

Every write goes through `mediation.members.services` (add_contact,
update_contact, remove_contact), which validates the row and leaves an audit
entry on the member. A contact is reached only through its own member: the id
of another member's contact (or another firm's) is a 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import CursorPages, FilterBackend
from mediation.members import selectors, services
from mediation.members.api.common import (
    MEMBER_PARAMETER,
    MembersAPIView,
    acting_user,
    errors,
    id_parameter,
    member_or_404,
)
from mediation.members.api.contact_serializers import ContactDetailSerializer, ContactInputSerializer
from mediation.members.api.filters import ContactFilter
from mediation.members.models import Contact, Member

CONTACT_PARAMETER = id_parameter("id", "The contact.")


@contextmanager
def _validation_errors() -> Iterator[None]:
    """A model's full_clean as a 400 with the fields' French messages."""
    try:
        yield
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        raise serializers.ValidationError(detail) from exc


class ContactPagination(CursorPages):
    ordering = ("last_name", "first_name", "id")


def _contact(member: Member, pk: int) -> Contact:
    contact = selectors.contact(member=member, pk=pk)
    if contact is None:
        raise Http404
    return contact


class ContactListView(MembersAPIView):
    serializer_class = ContactDetailSerializer
    pagination_class = ContactPagination
    filter_backends = [FilterBackend]
    filterset_class = ContactFilter

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.all()

    @extend_schema(
        parameters=[MEMBER_PARAMETER],
        responses={200: ContactDetailSerializer(many=True), **errors(400, 404)},
        operation_id="members_contacts_list",
        description="The member's contacts by name, in cursor pages of 50 (page_size up to 200).",
    )
    def get(self, request: Request, member_id: int) -> Response:
        member = member_or_404(member_id)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset().filter(member=member)))
        return self.get_paginated_response(ContactDetailSerializer(page, many=True).data)

    @extend_schema(
        parameters=[MEMBER_PARAMETER],
        request=ContactInputSerializer,
        responses={201: ContactDetailSerializer, **errors(400, 404)},
        operation_id="members_contacts_create",
        description="Adds a contact to the member (members.edit); `last_name` is required.",
    )
    def post(self, request: Request, member_id: int) -> Response:
        member = member_or_404(member_id)
        data = ContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _validation_errors():
            contact = services.add_contact(by=acting_user(request), member=member, **data.validated_data)
        return Response(ContactDetailSerializer(contact).data, status=status.HTTP_201_CREATED)


class ContactDetailView(MembersAPIView):
    serializer_class = ContactDetailSerializer

    @extend_schema(
        parameters=[MEMBER_PARAMETER, CONTACT_PARAMETER],
        responses={200: ContactDetailSerializer, **errors(404)},
        operation_id="members_contacts_retrieve",
    )
    def get(self, request: Request, member_id: int, pk: int) -> Response:
        return Response(ContactDetailSerializer(_contact(member_or_404(member_id), pk)).data)

    @extend_schema(
        parameters=[MEMBER_PARAMETER, CONTACT_PARAMETER],
        request=ContactInputSerializer,
        responses={200: ContactDetailSerializer, **errors(400, 404)},
        operation_id="members_contacts_partial_update",
        description="Changes some of the contact's fields (members.edit).",
    )
    def patch(self, request: Request, member_id: int, pk: int) -> Response:
        contact = _contact(member_or_404(member_id), pk)
        data = ContactInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with _validation_errors():
            contact = services.update_contact(by=acting_user(request), contact=contact, **data.validated_data)
        return Response(ContactDetailSerializer(contact).data)

    @extend_schema(
        parameters=[MEMBER_PARAMETER, CONTACT_PARAMETER],
        request=None,
        responses={204: None, **errors(404)},
        operation_id="members_contacts_destroy",
        description="Removes the contact (members.edit); the member's history keeps what it was.",
    )
    def delete(self, request: Request, member_id: int, pk: int) -> Response:
        contact = _contact(member_or_404(member_id), pk)
        services.remove_contact(by=acting_user(request), contact=contact)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""/api/v1/memberships/ and /api/v1/members/{id}/memberships/: the terms of membership and their actions.

members.view reads, members.edit acts. Every action goes through
`mediation.members.membership` (the service checks members.edit again); a
refused one (`MembershipError`) keeps its stable `code`: 409 when the member's
or the term's state forbids it, 400 for invalid input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import CursorPages, FilterBackend, InvalidFilter
from mediation.members import membership as ms
from mediation.members.api import membership_serializers as s
from mediation.members.api.common import (
    MEMBER_PARAMETER,
    TERM_PARAMETER,
    MembersAPIView,
    acting_user,
    errors,
    member_or_404,
)
from mediation.members.api.filters import MembershipFilter, listed_memberships
from mediation.members.models import Membership

# The codes of a refused action that are about the input, not the state (400); any other is 409.
INPUT_CODES = frozenset({"invalid_term", "reason_missing", "unknown_status"})


def _membership_error(exc: ms.MembershipError) -> APIException:
    error = APIException(detail=exc.message, code=exc.code)
    error.status_code = status.HTTP_400_BAD_REQUEST if exc.code in INPUT_CODES else status.HTTP_409_CONFLICT
    return error


@contextmanager
def _service_errors() -> Iterator[None]:
    try:
        yield
    except ms.MembershipError as exc:
        raise _membership_error(exc) from exc


def _membership(pk: int) -> Membership:
    membership = listed_memberships().filter(pk=pk).first()
    if membership is None:
        raise Http404
    return membership


class MembershipPagination(CursorPages):
    """Cursor pages: stable under inserts, constant cost however deep the page."""

    ordering = ("-starts_on", "-id")
    ORDERINGS: dict[str, tuple[str, ...]] = {
        "-starts_on": ("-starts_on", "-id"),
        "ends_on": ("ends_on", "id"),
        "-ends_on": ("-ends_on", "-id"),
    }

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView | None) -> tuple[str, ...]:
        return self.ORDERINGS.get(request.query_params.get("ordering") or "-starts_on", self.ordering)


ORDERING_PARAMETER = OpenApiParameter(
    "ordering",
    OpenApiTypes.STR,
    enum=list(MembershipPagination.ORDERINGS),
    description="-starts_on (default): latest terms first; ends_on: the nearest end first (renewals to come).",
)


class _MembershipListBase(MembersAPIView):
    serializer_class = s.MembershipSerializer
    pagination_class = MembershipPagination
    filter_backends = [FilterBackend]
    filterset_class = MembershipFilter

    def get_queryset(self) -> QuerySet[Membership]:
        return listed_memberships()

    def _list(self, request: Request, queryset: QuerySet[Membership]) -> Response:
        ordering = request.query_params.get("ordering")
        if ordering and ordering not in MembershipPagination.ORDERINGS:
            raise InvalidFilter({"ordering": [f"{ordering!r}: {', '.join(MembershipPagination.ORDERINGS)}."]})
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(s.MembershipSerializer(page, many=True).data)


class MembershipListView(_MembershipListBase):
    @extend_schema(
        parameters=[ORDERING_PARAMETER],
        responses={200: s.MembershipSerializer(many=True), **errors(400)},
        operation_id="memberships_list",
        description="Every term of membership of the firm's members, filtered, in cursor pages of 50 "
        "(page_size up to 200).",
    )
    def get(self, request: Request) -> Response:
        return self._list(request, self.get_queryset())


class MemberMembershipListView(_MembershipListBase):
    @extend_schema(
        parameters=[MEMBER_PARAMETER, ORDERING_PARAMETER],
        responses={200: s.MembershipSerializer(many=True), **errors(400, 404)},
        operation_id="members_memberships_list",
        description="The terms of one member, filtered like /api/v1/memberships/, in cursor pages.",
    )
    def get(self, request: Request, member_id: int) -> Response:
        member = member_or_404(member_id)
        return self._list(request, self.get_queryset().filter(member=member))


class MembershipDetailView(MembersAPIView):
    @extend_schema(
        parameters=[TERM_PARAMETER],
        responses={200: s.MembershipSerializer, **errors(404)},
        operation_id="memberships_retrieve",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.MembershipSerializer(_membership(pk)).data)


class MembershipMarkPaidView(MembersAPIView):
    @extend_schema(
        parameters=[TERM_PARAMETER],
        request=s.EmptyInputSerializer,
        responses={200: s.MembershipSerializer, **errors(404, 409)},
        operation_id="memberships_mark_paid",
        description=(
            "Records that a term is paid outside Billing (members.edit), as the staff page does; a current term "
            "makes the member active. 409 already_paid, terminated, transition_not_allowed or "
            "plan_active_members_full. A payment recorded on the term's invoice marks it paid by itself."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        membership = _membership(pk)
        with _service_errors():
            ms.mark_paid(by=acting_user(request), membership=membership)
        return Response(s.MembershipSerializer(_membership(pk)).data)


class MemberRenewView(MembersAPIView):
    @extend_schema(
        parameters=[MEMBER_PARAMETER],
        request=s.RenewInputSerializer,
        responses={201: s.MembershipSerializer, **errors(400, 404, 409)},
        operation_id="members_memberships_renew",
        description=(
            "Adds a new term starting the day after the current one ends (members.edit); the member becomes "
            "active again. 409 transition_not_allowed (not active nor due for renewal), no_membership or "
            "already_renewed."
        ),
    )
    def post(self, request: Request, member_id: int) -> Response:
        member = member_or_404(member_id)
        data = s.RenewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            term = ms.renew(by=acting_user(request), member=member, term_years=int(data.validated_data["term_years"]))
        return Response(s.MembershipSerializer(_membership(term.pk)).data, status=status.HTTP_201_CREATED)


class MemberTerminateView(MembersAPIView):
    @extend_schema(
        parameters=[MEMBER_PARAMETER],
        request=s.TerminateInputSerializer,
        responses={200: s.MembershipSerializer(many=True), **errors(400, 404, 409)},
        operation_id="members_memberships_terminate",
        description=(
            "Ends the membership now (members.edit): every term not yet over is terminated with the reason and "
            "the member's status becomes terminated. Answers the member's terms, latest first. "
            "409 transition_not_allowed when the member's status does not allow it."
        ),
    )
    def post(self, request: Request, member_id: int) -> Response:
        member = member_or_404(member_id)
        data = s.TerminateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            ms.terminate(by=acting_user(request), member=member, reason=data.validated_data["reason"])
        terms = listed_memberships().filter(member=member).order_by("-starts_on", "-pk")
        return Response(s.MembershipSerializer(terms, many=True).data)

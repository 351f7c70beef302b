"""GET/POST /api/v1/members/, GET/PATCH /api/v1/members/{id}/: members.view reads, members.edit writes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import pagination, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts.api.views import ErrorSerializer
from accounts.models import User
from accounts.permissions import HasPerm, Perm
from core.api import CursorPages, InvalidFilter
from mediation.members import selectors, services
from mediation.members.api.serializers import MemberInputSerializer, MemberListSerializer, MemberSerializer
from mediation.members.forms import MemberFilterForm
from mediation.members.models import Member


class DuplicateSiren(serializers.ValidationError):
    default_code = "duplicate_siren"


def _validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model's ValidationError as a 400; a SIREN already on file gets its own code."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    codes = {error.code for error in getattr(exc, "error_dict", {}).get("siren", [])}
    if "duplicate_siren" in codes:
        return DuplicateSiren(detail)
    return serializers.ValidationError(detail)


class MemberPagination(pagination.BasePagination):
    """Cursor pages of the members list, served by the staff list's keyset pager (`selectors.member_page`).

    `{"next", "previous", "results"}`: the links are absolute URLs keeping the other query parameters, with a
    signed cursor bound to the `sort`; one that does not decode (or was made for another sort) is a 400
    `invalid_filter`. `page_size` up to 200 (default 50), a wrong one gives the default like the other lists.
    """

    cursor_query_param = CursorPages.cursor_query_param
    page_size_query_param = CursorPages.page_size_query_param
    page_size = CursorPages.page_size
    max_page_size = CursorPages.max_page_size

    def __init__(self) -> None:
        self.page: selectors.MemberPage | None = None
        self.base_url = ""

    def paginate_members(self, request: Request, filters: selectors.MemberFilters) -> list[Member]:
        cursor = request.query_params.get(self.cursor_query_param, "")
        if cursor and not selectors.cursor_is_valid(cursor, sort=filters.sort):
            raise InvalidFilter({self.cursor_query_param: [str(CursorPages.invalid_cursor_message)]})
        self.base_url = request.build_absolute_uri()
        size = CursorPages().get_page_size(request) or CursorPages.page_size
        self.page = selectors.member_page(filters, cursor=cursor, size=size, fall_back=False)
        return self.page.object_list

    def _link(self, cursor: str) -> str | None:
        return replace_query_param(self.base_url, self.cursor_query_param, cursor) if cursor else None

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None  # paginate_members ran first
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return CursorPages().get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return CursorPages().get_schema_operation_parameters(view)


def _permissions(request: Request) -> list[Any]:
    perm = Perm.MEMBERS_VIEW if request.method in ("GET", "HEAD", "OPTIONS") else Perm.MEMBERS_EDIT
    return [IsAuthenticated(), HasPerm(perm)()]


def _acting_user(request: Request) -> User:
    assert isinstance(request.user, User)  # HasPerm ran first
    return request.user


FILTER_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description="Legal name, trade name, SIREN or city."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=Member.Status.values),
    OpenApiParameter("sector", OpenApiTypes.STR, enum=Member.Sector.values),
    OpenApiParameter("group", OpenApiTypes.INT, description="Id of a group or federation."),
    OpenApiParameter("headcount_band", OpenApiTypes.STR, enum=Member.HeadcountBand.values),
    OpenApiParameter(
        "renewal_from",
        OpenApiTypes.DATE,
        description="Members whose renewal date (end of their last term not terminated) is on or after this day.",
    ),
    OpenApiParameter("renewal_to", OpenApiTypes.DATE, description="… and on or before this day."),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(selectors.SORTS)),
]


class MemberListView(APIView):
    pagination_class = MemberPagination  # read by drf-spectacular: the 200 is a page, not a bare array

    def get_permissions(self) -> list[Any]:
        return _permissions(self.request)

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: MemberListSerializer(many=True), 400: ErrorSerializer, 403: ErrorSerializer},
        operation_id="members_list",
        description=(
            "Members, filtered and sorted, in cursor pages of 50 (page_size up to 200): follow `next` as it is; "
            "a cursor is bound to its `sort`."
        ),
    )
    def get(self, request: Request) -> Response:
        params = request.query_params.copy()
        params["q"] = params.get("search", "")
        form = MemberFilterForm(params)
        if not form.is_valid():
            raise InvalidFilter(form.errors.get_json_data())
        paginator = self.pagination_class()
        page = paginator.paginate_members(request, form.filters())
        return paginator.get_paginated_response(MemberListSerializer(page, many=True).data)

    @extend_schema(
        request=MemberInputSerializer,
        responses={201: MemberSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
        operation_id="members_create",
    )
    def post(self, request: Request) -> Response:
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            member = services.create_member(by=_acting_user(request), **data.validated_data)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        return Response(MemberSerializer(selectors.member(pk=member.pk)).data, status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    def get_permissions(self) -> list[Any]:
        return _permissions(self.request)

    def _member(self, pk: int) -> Member:
        member = selectors.member(pk=pk)
        if member is None:
            raise Http404
        return member

    @extend_schema(
        responses={200: MemberSerializer, 403: ErrorSerializer, 404: ErrorSerializer}, operation_id="members_retrieve"
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(MemberSerializer(self._member(pk)).data)

    @extend_schema(
        request=MemberInputSerializer,
        responses={200: MemberSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
        operation_id="members_partial_update",
    )
    def patch(self, request: Request, pk: int) -> Response:
        member = self._member(pk)
        data = MemberInputSerializer(member, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            services.update_member(by=_acting_user(request), member=member, **data.validated_data)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        return Response(MemberSerializer(self._member(pk)).data)

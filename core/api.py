"""API helpers shared by every app: errors are JSON with a stable `code`."""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import MutableMapping
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import pagination, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer, whose read-only fields keep `allow_blank` when their model field is blank=True.

    DRF drops `allow_blank` from read-only fields, so the schema of an answer would say that an e-mail, a URL
    or a choice is never "" although the record may hold "" (a contact without e-mail, a member without
    headcount band). Kept, drf-spectacular documents the blank value (`oneOf` with an empty string, or "" in
    the enum). Every ModelSerializer of the API derives from this one.
    """

    def include_extra_kwargs(
        self, kwargs: MutableMapping[str, Any], extra_kwargs: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        allow_blank = kwargs.get("allow_blank", False)
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if allow_blank and kwargs.get("read_only") and "allow_blank" not in extra_kwargs:
            kwargs["allow_blank"] = True
        return kwargs


class InvalidFilter(serializers.ValidationError):
    """A refused query parameter of a list: 400 `invalid_filter`."""

    default_code = "invalid_filter"


class FilterBackend(DjangoFilterBackend):
    """django-filter, with a refused filter value as a 400 `invalid_filter` (every list of the API)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: APIView) -> QuerySet[Any]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise InvalidFilter({name: [str(error) for error in errors] for name, errors in filterset.errors.items()})
        return filterset.qs


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        message = detail["detail"]
        response.data = {"code": getattr(message, "code", code), "detail": str(message)}
    else:
        response.data = {"code": code, "detail": detail}
    return response


class CursorPages(pagination.CursorPagination):
    """Cursor pages of 50 (page_size up to 200): stable under inserts, constant cost however deep.

    A cursor that does not decode is a bad parameter (400 `invalid_filter`), not DRF's 404, which would
    read as "no such resource" and which the lists do not document.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise InvalidFilter({self.cursor_query_param: [str(exc.detail)]}) from exc


def _key_value(value: Any) -> Any:
    """A sort key's value as JSON keeps it exactly (all the microseconds of a time, every digit of a decimal)."""
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, decimal.Decimal | float):
        return str(value)
    return value


class KeysetPages(CursorPages):
    """Cursor pages whose position is the row's whole sort key (every field of the ordering, id last).

    DRF's cursor remembers the first ordering field's value plus an offset among the rows sharing it: with
    many rows on one value (the invoices of a renewal day, one amount, the drafts) the offset grows with the
    depth, and past DRF's cap of 1000 a walk repeats rows. Here the next page is the rows strictly after the
    last one's key, compared field by field in each field's direction: no offset, every row once.

    Every field of the ordering must be non-null (annotate a `Coalesce` for a nullable one) and the last one
    unique (`pk`). `orderings` maps the values of the `ordering` query parameter to their ordering, with
    `default_ordering` when it is absent; without `orderings`, `ordering` is the only one.
    """

    orderings: dict[str, tuple[str, ...]] = {}
    default_ordering = ""
    ordering_query_param = "ordering"

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView | None) -> tuple[str, ...]:
        if not self.orderings:
            return tuple(self.ordering) if not isinstance(self.ordering, str) else (self.ordering,)
        name = request.query_params.get(self.ordering_query_param) or self.default_ordering
        if name not in self.orderings:
            raise InvalidFilter({self.ordering_query_param: [f"{name!r}: {', '.join(self.orderings)}."]})
        return self.orderings[name]

    def _get_position_from_instance(self, instance: Any, ordering: Any) -> str:
        values = [_key_value(getattr(instance, name.lstrip("-"))) for name in ordering]
        return json.dumps(values, separators=(",", ":"))

    def _invalid(self) -> InvalidFilter:
        return InvalidFilter({self.cursor_query_param: [str(self.invalid_cursor_message)]})

    def _after(self, position: str, *, reverse: bool) -> Q:
        """The rows after `position` in the walking direction (before it when reading backwards)."""
        try:
            values = json.loads(position)
        except ValueError as exc:
            raise self._invalid() from exc
        if (
            not isinstance(values, list)
            or len(values) != len(self.ordering)
            or not all(isinstance(value, str | int | float) and not isinstance(value, bool) for value in values)
            or any(isinstance(value, str) and "\x00" in value for value in values)  # PostgreSQL refuses NUL
        ):
            raise self._invalid()
        clauses = []
        same = Q()
        for name, value in zip(self.ordering, values, strict=True):
            field = name.lstrip("-")
            lookup = "lt" if name.startswith("-") != reverse else "gt"
            clauses.append(same & Q(**{f"{field}__{lookup}": value}))
            same &= Q(**{field: value})
        return reduce(or_, clauses)

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        """DRF's `CursorPagination.paginate_queryset` with the keyset filter instead of its first-field filter."""
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        self.page_size = page_size
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        offset, reverse = (0, False) if self.cursor is None else (self.cursor.offset, self.cursor.reverse)
        # A str at run time (DRF's stubs say int): the position as `_get_position_from_instance` wrote it.
        position = None if self.cursor is None or self.cursor.position is None else str(self.cursor.position)
        queryset = queryset.order_by(*(pagination._reverse_ordering(self.ordering) if reverse else self.ordering))
        if position is not None:
            try:
                queryset = queryset.filter(self._after(position, reverse=reverse))
            except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:  # a value of the wrong type
                raise self._invalid() from exc
        results = list(queryset[offset : offset + page_size + 1])
        self.page = list(results[:page_size])
        following = None
        if len(results) > page_size:
            following = self._get_position_from_instance(results[-1], self.ordering)
        if reverse:
            self.page.reverse()
            self.has_next = position is not None or offset > 0
            self.has_previous = following is not None
            self.next_position, self.previous_position = position, following
        else:
            self.has_next = following is not None
            self.has_previous = position is not None or offset > 0
            self.next_position, self.previous_position = following, position
        self.display_page_controls = self.has_previous or self.has_next
        return self.page


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """The 404 of a path under /api/ that no route matches: JSON like every API error; HTML elsewhere."""
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def api_server_error(request: HttpRequest) -> Any:
    """The answer to an unhandled error (every host's handler500; the error itself goes to the logs and Sentry).

    The database unreachable (a connection that cannot be opened or was lost) is a 503 with Retry-After, not a
    500: nothing was written (each write is one transaction, rolled back), and trying again later will work.
    The API answers JSON with a stable code; pages a short page that needs neither the database nor a layout.
    """
    import sys

    from django.db import InterfaceError, OperationalError
    from django.template.loader import render_to_string
    from django.views.defaults import server_error

    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        if _wants_json(request):
            response: Any = JsonResponse(
                {"code": "service_unavailable", "detail": "The service is briefly unavailable: try again shortly."},
                status=503,
            )
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
        return response
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "server_error", "detail": "Internal server error."}, status=500)
    return server_error(request)


# Seconds a client is told to wait when the database is unreachable (a restart or a failover takes about this).
UNAVAILABLE_RETRY_AFTER = 30

"""API helpers shared by every app: errors are JSON with a stable `code`."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
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


class NumberedPages(pagination.PageNumberPagination):
    """Numbered pages of 50 (page_size up to 200); a page that does not exist is a 400 `invalid_filter`."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise InvalidFilter({self.page_query_param: [str(exc.detail)]}) from exc


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """The 404 of a path under /api/ that no route matches: JSON like every API error; HTML elsewhere."""
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def api_server_error(request: HttpRequest) -> Any:
    """The 500 of a path under /api/: JSON with a stable code (the error itself goes to the logs and Sentry)."""
    from django.views.defaults import server_error

    if request.path.startswith("/api/"):
        return JsonResponse({"code": "server_error", "detail": "Internal server error."}, status=500)
    return server_error(request)

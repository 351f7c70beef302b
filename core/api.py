"""API helpers shared by every app: errors are JSON with a stable `code`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


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

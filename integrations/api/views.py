"""/api/v1/webhooks/: the firm's webhook endpoints and their delivery log (firm.settings, as on the staff pages).

Every write goes through `integrations.services`; a refused one (`WebhookError`)
keeps its stable `code`: 400 for invalid input (invalid_url, scheme_not_allowed,
private_address, unresolvable_host, no_events), 409 when the object's state
forbids it (endpoint_disabled, delivery_pending).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.views import ErrorSerializer
from accounts.models import User
from accounts.permissions import HasPerm, Perm
from core.api import CursorPages, FilterBackend
from integrations import selectors, services
from integrations.api import serializers as s
from integrations.api.filters import DeliveryFilter
from integrations.errors import WebhookError
from integrations.models import WebhookDelivery, WebhookEndpoint


class WebhookAPIError(APIException):
    def __init__(self, exc: WebhookError) -> None:
        detail: Any = {exc.field: [exc.message]} if exc.field else exc.message
        super().__init__(detail=detail, code=exc.code)
        self.status_code = exc.status_code
        self.default_code = exc.code  # core.api.exception_handler reads a field-keyed detail's code here


@contextmanager
def _service_errors() -> Iterator[None]:
    try:
        yield
    except WebhookError as exc:
        raise WebhookAPIError(exc) from exc
    except (WebhookEndpoint.DoesNotExist, WebhookDelivery.DoesNotExist) as exc:
        # Deleted by a concurrent request between the lookup and the service's lock: gone, as a 404.
        raise Http404 from exc


def _acting_user(request: Request) -> User:
    assert isinstance(request.user, User)  # IsAuthenticated and HasPerm ran first
    return request.user


MAX_ID = 2**63 - 1  # a larger id in the URL would overflow PostgreSQL's bigint: no such object


def _endpoint(pk: int) -> WebhookEndpoint:
    found = selectors.endpoints().filter(pk=pk).first() if pk <= MAX_ID else None
    if found is None:
        raise Http404
    return found


def _delivery(pk: int) -> WebhookDelivery:
    found = selectors.delivery(pk) if pk <= MAX_ID else None
    if found is None:
        raise Http404
    return found


ERRORS: dict[int, Any] = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="Invalid input (`code` invalid, invalid_url, scheme_not_allowed, private_address, "
        "unresolvable_host, no_events, invalid_filter…).",
    ),
    403: OpenApiResponse(ErrorSerializer, description="Not authenticated or the role does not allow it."),
    404: OpenApiResponse(ErrorSerializer, description="No such object in this firm."),
    409: OpenApiResponse(
        ErrorSerializer, description="The object's state forbids it (`code` endpoint_disabled, delivery_pending)."
    ),
}


def _errors(*codes: int) -> dict[int, Any]:
    return {code: ERRORS[code] for code in codes}


ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The object's id.")


class WebhookAPIView(GenericAPIView):
    """firm.settings for everything: endpoints carry a signing secret, and the log shows what the firm sends."""

    parser_classes = [JSONParser]

    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated(), HasPerm(Perm.FIRM_SETTINGS)()]


class WebhookPagination(CursorPages):
    ordering = ("-created_at", "-id")


# --- Endpoints ---------------------------------------------------------------------------------------


class EndpointListView(WebhookAPIView):
    serializer_class = s.EndpointSerializer
    pagination_class = WebhookPagination

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoints()

    @extend_schema(
        responses={200: s.EndpointSerializer(many=True), **_errors(400, 403)},
        operation_id="webhooks_endpoints_list",
        description="The firm's webhook endpoints with their last delivery, newest first, in cursor pages of 50.",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.EndpointSerializer(page, many=True).data)

    @extend_schema(
        request=s.EndpointInputSerializer,
        responses={201: s.EndpointDetailSerializer, **_errors(400, 403)},
        operation_id="webhooks_endpoints_create",
        description=(
            "Registers a URL for the chosen events. The answer holds the signing `secret` (whsec_…) the "
            "receiver verifies each request with (Standard Webhooks)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = s.EndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            endpoint = services.create_endpoint(by=_acting_user(request), **data.validated_data)
        return Response(s.EndpointDetailSerializer(_endpoint(endpoint.pk)).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(WebhookAPIView):
    @extend_schema(
        parameters=[ID_PARAMETER],
        responses={200: s.EndpointDetailSerializer, **_errors(403, 404)},
        operation_id="webhooks_endpoints_retrieve",
        description="The endpoint with its signing secret.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.EndpointDetailSerializer(_endpoint(pk)).data)

    @extend_schema(
        parameters=[ID_PARAMETER],
        request=s.EndpointInputSerializer(partial=True),
        responses={200: s.EndpointDetailSerializer, **_errors(400, 403, 404)},
        operation_id="webhooks_endpoints_partial_update",
        description="Changes the fields sent; `is_active: true` switches a disabled endpoint back on.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint(pk)
        data = s.EndpointInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with _service_errors():
            services.update_endpoint(by=_acting_user(request), endpoint=endpoint, **data.validated_data)
        return Response(s.EndpointDetailSerializer(_endpoint(pk)).data)

    @extend_schema(
        parameters=[ID_PARAMETER],
        request=None,
        responses={204: None, **_errors(403, 404)},
        operation_id="webhooks_endpoints_destroy",
        description="Deletes the endpoint and its delivery log; nothing more is sent to it.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        with _service_errors():
            services.delete_endpoint(by=_acting_user(request), endpoint=_endpoint(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointPingView(WebhookAPIView):
    @extend_schema(
        parameters=[ID_PARAMETER],
        request=None,
        responses={202: s.DeliveryDetailSerializer, **_errors(403, 404, 409)},
        operation_id="webhooks_endpoints_ping",
        description="Sends a test event (`ping`) to this endpoint now; follow it in the answered delivery.",
    )
    def post(self, request: Request, pk: int) -> Response:
        with _service_errors():
            delivery = services.send_ping(by=_acting_user(request), endpoint=_endpoint(pk))
        return Response(s.DeliveryDetailSerializer(_delivery(delivery.pk)).data, status=status.HTTP_202_ACCEPTED)


# --- Deliveries --------------------------------------------------------------------------------------


class DeliveryListView(WebhookAPIView):
    serializer_class = s.DeliverySerializer
    pagination_class = WebhookPagination
    filter_backends = [FilterBackend]
    filterset_class = DeliveryFilter

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return selectors.deliveries()

    @extend_schema(
        responses={200: s.DeliverySerializer(many=True), **_errors(400, 403)},
        operation_id="webhooks_deliveries_list",
        description="The delivery log, newest first, in cursor pages of 50 (page_size up to 200).",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.DeliverySerializer(page, many=True).data)


class DeliveryDetailView(WebhookAPIView):
    @extend_schema(
        parameters=[ID_PARAMETER],
        responses={200: s.DeliveryDetailSerializer, **_errors(403, 404)},
        operation_id="webhooks_deliveries_retrieve",
        description="A delivery with its payload, the endpoint's last answer (code, first 2 KB) and error.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.DeliveryDetailSerializer(_delivery(pk)).data)


class DeliveryRedeliverView(WebhookAPIView):
    @extend_schema(
        parameters=[ID_PARAMETER],
        request=None,
        responses={202: s.DeliveryDetailSerializer, **_errors(403, 404, 409)},
        operation_id="webhooks_deliveries_redeliver",
        description=(
            "Sends the same event again (same webhook-id and payload) as a new delivery, answered here. "
            "409 delivery_pending while the original is still being tried, endpoint_disabled when it is off."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        with _service_errors():
            copy = services.redeliver(by=_acting_user(request), delivery=_delivery(pk))
        return Response(s.DeliveryDetailSerializer(_delivery(copy.pk)).data, status=status.HTTP_202_ACCEPTED)

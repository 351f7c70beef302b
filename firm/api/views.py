from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ErrorSerializer
from accounts.models import User
from accounts.permissions import HasPerm, Perm
from firm import selectors, services
from firm.api.serializers import FirmProfileSerializer, FirmProfileUpdateSerializer


class FirmProfileView(APIView):
    """The firm's profile: any staff member reads it, admins change it (firm.settings)."""

    def get_permissions(self) -> list[Any]:
        if self.request.method == "PATCH":
            return [IsAuthenticated(), HasPerm(Perm.FIRM_SETTINGS)()]
        return [IsAuthenticated()]

    def _output(self, request: Request) -> Response:
        return Response(FirmProfileSerializer(selectors.firm_profile(), context={"request": request}).data)

    @extend_schema(responses={200: FirmProfileSerializer, 403: ErrorSerializer}, operation_id="firm_retrieve")
    def get(self, request: Request) -> Response:
        return self._output(request)

    @extend_schema(
        request=FirmProfileUpdateSerializer,
        responses={200: FirmProfileSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
        operation_id="firm_partial_update",
    )
    def patch(self, request: Request) -> Response:
        data = FirmProfileUpdateSerializer(selectors.firm_profile(), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        assert isinstance(request.user, User)  # HasPerm ran first
        try:
            services.update_firm_profile(by=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return self._output(request)

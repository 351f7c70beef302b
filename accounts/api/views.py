from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.tenancy import current_schema


class FirmSerializer(serializers.Serializer):
    name = serializers.CharField()
    schema_name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.CharField()
    firm = FirmSerializer()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class MeView(APIView):
    """The authenticated user and the firm whose host answered."""

    @extend_schema(responses={200: MeSerializer, 403: ErrorSerializer}, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated ran first
        tenant = request._request.tenant  # type: ignore[attr-defined]
        data = {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": user.role,
            "firm": {"name": tenant.name, "schema_name": current_schema()},
        }
        return Response(MeSerializer(data).data)

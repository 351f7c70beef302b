from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors
from accounts.models import ApiToken, User
from accounts.permissions import HasPerm, Perm, permissions_of
from core.tenancy import current_schema


class FirmSerializer(serializers.Serializer):
    name = serializers.CharField()
    schema_name = serializers.CharField()


class TokenInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, as shown in the staff area.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiToken.Scope.choices))
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.CharField()
    firm = FirmSerializer()
    permissions = serializers.ListField(
        child=serializers.CharField(), help_text="What this request may do: the role's rights, narrowed by the token."
    )
    token = TokenInfoSerializer(allow_null=True, help_text="The API token of this request; null with a session.")


class ErrorSerializer(serializers.Serializer):
    """Every error of the API: a stable `code`, and a message or, for a validation error, the messages by field."""

    code = serializers.CharField()
    detail = serializers.JSONField(
        help_text="A message; for a validation error (400), an object mapping each field to its list of messages."
    )


class MeView(APIView):
    """The authenticated user and the firm whose host answered."""

    @extend_schema(
        responses={200: MeSerializer, 401: ErrorSerializer, 403: ErrorSerializer}, operation_id="me_retrieve"
    )
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
            "permissions": sorted(permissions_of(user)),
            "token": request.auth if isinstance(request.auth, ApiToken) else None,
        }
        return Response(MeSerializer(data).data)


class StaffMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.ChoiceField(choices=User.Role.choices)
    is_active = serializers.BooleanField()
    has_totp = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)


class StaffListView(APIView):
    """The firm's staff accounts, with their role and status (staff.manage)."""

    permission_classes = [HasPerm(Perm.STAFF_MANAGE)]

    @extend_schema(responses={200: StaffMemberSerializer(many=True), 403: ErrorSerializer}, operation_id="staff_list")
    def get(self, request: Request) -> Response:
        return Response(StaffMemberSerializer(selectors.staff_members(), many=True).data)

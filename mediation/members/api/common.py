"""Pieces shared by the memberships and contacts endpoints: permissions, error responses, the acting user."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request

from accounts.api.views import ErrorSerializer
from accounts.models import User
from accounts.permissions import HasPerm, Perm
from mediation.members.models import Member

ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input (`code` invalid, invalid_filter…)."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated (`code` not_authenticated)."),
    403: OpenApiResponse(
        ErrorSerializer, description="The role, or the token's scopes, do not allow it (`code` permission_denied)."
    ),
    404: OpenApiResponse(ErrorSerializer, description="No such object in this firm."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="The member's or the term's state forbids it (`code` transition_not_allowed, already_paid, "
        "terminated, already_renewed, no_membership, plan_active_members_full).",
    ),
}


def errors(*codes: int) -> dict[int, Any]:
    """The error responses of an endpoint; 401 and 403 always (anonymous callers, roles without the permission)."""
    return {code: ERRORS[code] for code in sorted({401, 403, *codes})}


def id_parameter(name: str, description: str) -> OpenApiParameter:
    """A numeric id in the path: `<int:…>` routes only digits, so a negative number is not a route (HTML 404)."""
    return OpenApiParameter(name, {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description=description)


MEMBER_PARAMETER = id_parameter("member_id", "The member.")
TERM_PARAMETER = id_parameter("id", "The term of membership.")


class MembersAPIView(GenericAPIView):
    """members.view reads, members.edit writes (the services check it again)."""

    parser_classes = [JSONParser]

    def get_permissions(self) -> list[BasePermission]:
        perm = Perm.MEMBERS_VIEW if self.request.method in SAFE_METHODS else Perm.MEMBERS_EDIT
        return [IsAuthenticated(), HasPerm(perm)()]


def acting_user(request: Request) -> User:
    assert isinstance(request.user, User)  # IsAuthenticated and HasPerm ran first
    return request.user


def member_or_404(pk: int) -> Member:
    member = Member.objects.filter(pk=pk).first()
    if member is None:
        raise Http404
    return member

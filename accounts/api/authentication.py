"""`Authorization: Bearer <token>`: a staff user's personal API token, valid on its own firm's host only.

Tokens live in the firm's schema, so another firm's token is simply unknown here: 401, like a wrong one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.models import ApiToken, User


class InvalidToken(exceptions.AuthenticationFailed):
    default_code = "invalid_token"
    default_detail = _("Jeton d'API inconnu, expiré ou révoqué.")


class ApiTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise InvalidToken(_("En-tête Authorization invalide : attendu « Bearer <jeton> »."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidToken from exc
        # Imported here: DRF loads this class while `accounts.permissions` (which needs DRF) is importing.
        from accounts import token_services
        from accounts.permissions import scope_permissions

        token = token_services.authenticate_key(key, ip=request._request.META.get("REMOTE_ADDR"))
        if token is None:
            raise InvalidToken
        user = token.user
        # permissions_of() reads this mark: the request holds only what the role AND the scopes grant.
        user.api_token_perms = scope_permissions(token.scopes)  # type: ignore[attr-defined]
        user.api_token = token  # type: ignore[attr-defined]
        return user, token

    def authenticate_header(self, request: Request) -> str:
        # Present, so an unauthenticated call gets 401 with this challenge rather than a 403.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (`mdp_…`), created in the staff area under « Jetons d'API ».",
        }

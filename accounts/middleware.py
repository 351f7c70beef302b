from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts import selectors
from core.tenancy import on_public_schema

# The firm's data: the staff area, its Django admin and the API. The allauth
# pages (/accounts/..., where TOTP is activated, and logout) stay reachable.
REDIRECT_PREFIXES = ("/staff/", "/admin/")
API_PREFIX = "/api/v1/"


class RequireMfaMiddleware:
    """When the firm requires MFA, a staff user without TOTP must activate it before anything else.

    Placed after allauth's AccountMiddleware (it needs the session user and messages).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        is_api = path.startswith(API_PREFIX)
        if (is_api or path.startswith(REDIRECT_PREFIXES)) and self._must_enrol(request):
            if is_api:
                return JsonResponse(
                    {"code": "mfa_required", "detail": _("Activez la double authentification pour utiliser l'API.")},
                    status=403,
                )
            messages.warning(
                request,
                _(
                    "Votre cabinet exige la double authentification : activez une application d'authentification "
                    "(TOTP) pour accéder à l'espace équipe."
                ),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    @staticmethod
    def _must_enrol(request: HttpRequest) -> bool:
        if on_public_schema() or not request.user.is_authenticated:
            return False
        # The setting lives in the firm app, which builds on accounts: import late.
        from firm.selectors import mfa_required

        return mfa_required() and not selectors.has_active_totp(request.user)

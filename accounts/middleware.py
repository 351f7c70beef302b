from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors, services
from accounts.models import User
from core.tenancy import may_be_logged_in, on_public_schema
from tenants import support

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
        # The platform's support account enters through a single-use, time-limited link
        # opened from the console; it cannot enrol a TOTP device of its own.
        if getattr(request.user, "is_platform_support", False):
            return False
        # A member business's portal user has no staff access to protect (every staff page refuses it).
        if getattr(request.user, "role", None) == User.Role.MEMBER:
            return False
        # The setting lives in the firm app, which builds on accounts: import late.
        from firm.selectors import mfa_required

        return mfa_required() and not selectors.has_active_totp(request.user)


# What a support session keeps in the firm's session (accounts.views.support_session).
SUPPORT_GRANT_KEY = "support_grant_id"
# The session outlives the grant by a few minutes so that the request arriving
# after the grant's end still carries it: this middleware then ends the session
# itself and writes "support.session_ended". Access stops at the grant's end
# regardless, since every request checks the grant.
SUPPORT_SESSION_GRACE = timedelta(minutes=5)

SUPPORT_ENDED_MESSAGES = {
    "revoked": gettext_lazy("La session d'assistance de la plateforme est terminée : l'accès a été révoqué."),
    "expired": gettext_lazy("La session d'assistance de la plateforme est terminée : la durée accordée est écoulée."),
    "no_grant": gettext_lazy("Le compte d'assistance de la plateforme ne s'ouvre que par un lien d'accès support."),
}


class SupportSessionMiddleware:
    """Ends a support session as soon as its grant expires or is revoked (one query per support request).

    A support account without a grant in its session (logged in any other
    way, e.g. by e-mail code) is logged out too. Placed after
    RequireMfaMiddleware. Sets `request.support_session_ends_at` for the
    banner of base.html.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not on_public_schema() and may_be_logged_in(request) and request.user.is_authenticated:
            grant_id = request.session.get(SUPPORT_GRANT_KEY)
            if grant_id is not None or getattr(request.user, "is_platform_support", False):
                ends_at = (
                    support.live_grant_ends_at(grant_id=grant_id, tenant=request.tenant)  # type: ignore[attr-defined]
                    if grant_id is not None
                    else None
                )
                if ends_at is None:
                    return self._end(request, grant_id)
                request.support_session_ends_at = ends_at  # type: ignore[attr-defined]
        return self.get_response(request)

    @staticmethod
    def _end(request: HttpRequest, grant_id: int | None) -> HttpResponse:
        assert isinstance(request.user, User)
        reason = services.end_support_session(user=request.user, grant_id=grant_id)
        logout(request)
        message = SUPPORT_ENDED_MESSAGES[reason]
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse({"code": "support_session_ended", "detail": str(message)}, status=401)
        messages.warning(request, message)
        return redirect("account_login")

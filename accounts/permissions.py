"""What each role may do in a firm: one table, read by views, the API and templates.

`ROLE_PERMISSIONS` is the single source of truth. A user has a permission when
they are authenticated, active, and their role's row holds it. Being a Django
superuser grants nothing here: only the role counts. A request made with an API
token holds only what both the role and the token's scopes (`SCOPE_PERMISSIONS`)
grant, in views and in the services they call alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import ApiToken, User

Role = User.Role


class Perm(StrEnum):
    FIRM_SETTINGS = "firm.settings"
    STAFF_MANAGE = "staff.manage"
    MEMBERS_VIEW = "members.view"
    MEMBERS_EDIT = "members.edit"
    CASES_VIEW = "cases.view"
    CASES_HANDLE = "cases.handle"
    CASES_DECIDE = "cases.decide"
    BILLING_VIEW = "billing.view"
    BILLING_EDIT = "billing.edit"
    BILLING_EXPORT = "billing.export"
    REPORTS_VIEW = "reports.view"
    REPORTS_EDIT = "reports.edit"
    AUDIT_VIEW = "audit.view"


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.MEDIATOR: frozenset(
        {Perm.CASES_VIEW, Perm.CASES_HANDLE, Perm.CASES_DECIDE, Perm.MEMBERS_VIEW, Perm.REPORTS_VIEW, Perm.REPORTS_EDIT}
    ),
    Role.CASE_OFFICER: frozenset({Perm.CASES_VIEW, Perm.CASES_HANDLE, Perm.MEMBERS_VIEW, Perm.MEMBERS_EDIT}),
    Role.FINANCE: frozenset(
        {Perm.BILLING_VIEW, Perm.BILLING_EDIT, Perm.BILLING_EXPORT, Perm.MEMBERS_VIEW, Perm.REPORTS_VIEW}
    ),
    Role.READ_ONLY: frozenset(perm for perm in Perm if perm.endswith(".view")),
    Role.MEMBER: frozenset(),
}
# The roles of the firm's team; a member business's user (Role.MEMBER) is not one of them.
STAFF_ROLES = tuple(role for role in Role if role != Role.MEMBER)


Scope = ApiToken.Scope

# What each API token scope lets through. A write scope includes the area's reads.
SCOPE_PERMISSIONS: dict[Scope, frozenset[Perm]] = {
    Scope.MEMBERS_READ: frozenset({Perm.MEMBERS_VIEW}),
    Scope.MEMBERS_WRITE: frozenset({Perm.MEMBERS_VIEW, Perm.MEMBERS_EDIT}),
    Scope.CASES_READ: frozenset({Perm.CASES_VIEW}),
    Scope.CASES_WRITE: frozenset({Perm.CASES_VIEW, Perm.CASES_HANDLE, Perm.CASES_DECIDE}),
    Scope.BILLING_READ: frozenset({Perm.BILLING_VIEW, Perm.BILLING_EXPORT}),
    Scope.BILLING_WRITE: frozenset({Perm.BILLING_VIEW, Perm.BILLING_EDIT, Perm.BILLING_EXPORT}),
    Scope.REPORTS_READ: frozenset({Perm.REPORTS_VIEW}),
    Scope.FIRM_READ: frozenset({Perm.AUDIT_VIEW}),
    Scope.FIRM_WRITE: frozenset({Perm.AUDIT_VIEW, Perm.FIRM_SETTINGS, Perm.STAFF_MANAGE}),
}


def scope_permissions(scopes: Iterable[str]) -> frozenset[Perm]:
    """What a token with `scopes` may reach (before its user's role narrows it); unknown scopes grant nothing."""
    granted: set[Perm] = set()
    for scope in scopes:
        if scope in Scope.values:
            granted |= SCOPE_PERMISSIONS[Scope(scope)]
    return frozenset(granted)


def scopes_for_role(role: str) -> list[Scope]:
    """The scopes worth offering to a user of `role`: those that would grant them something."""
    held = ROLE_PERMISSIONS.get(Role(role), frozenset()) if role in Role.values else frozenset()
    return [scope for scope in Scope if SCOPE_PERMISSIONS[scope] & held]


def permissions_of(user: Any) -> frozenset[Perm]:
    """Every permission `user` holds now (none when anonymous or inactive).

    The API's token authentication marks the user it returns with `api_token_perms`: the request then
    holds only what the token's scopes allow too.
    """
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return frozenset()
    try:
        held = ROLE_PERMISSIONS[Role(user.role)]
    except ValueError:  # a role the table does not know grants nothing
        return frozenset()
    token_perms: frozenset[Perm] | None = getattr(user, "api_token_perms", None)
    return held if token_perms is None else held & token_perms


def user_has_perm(user: Any, perm: Perm | str) -> bool:
    """Whether `user` holds `perm`. An unknown permission name is a programming error."""
    return Perm(perm) in permissions_of(user)


def ensure_perm(user: Any, perm: Perm) -> None:
    """Raises PermissionDenied unless `user` holds `perm`.

    Services call it too, not only views: no other caller (API, shell, task)
    can then skip the check.
    """
    if not user_has_perm(user, perm):
        raise PermissionDenied


def forbidden(request: HttpRequest) -> HttpResponse:
    """The 403 page of the staff area, in the firm's layout."""
    return render(request, "accounts/forbidden.html", status=403)


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def require_perm(perm: Perm) -> Callable[[ViewFunc], ViewFunc]:
    """View decorator: anonymous users go to the login page, others without `perm` get a 403 page."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_perm(request.user, perm):
                return forbidden(request)
            return view(request, *args, **kwargs)

        wrapper.required_perm = perm  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


class RequirePermMixin:
    """The class-based form of `require_perm`: set `required_perm` on the view."""

    required_perm: Perm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_has_perm(request.user, self.required_perm):
            return forbidden(request)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def HasPerm(perm: Perm) -> type[BasePermission]:  # used like a class: permission_classes = [HasPerm(...)]
    """A DRF permission class requiring `perm`; a refusal is 403 with the code `permission_denied`."""

    class _HasPerm(BasePermission):
        message = _("Votre rôle ne vous permet pas d'effectuer cette action.")
        code = "permission_denied"

        def has_permission(self, request: Request, view: APIView) -> bool:
            return user_has_perm(request.user, perm)

    _HasPerm.__name__ = _HasPerm.__qualname__ = f"HasPerm_{perm.name}"
    return _HasPerm

"""/staff/jetons-api/: each staff user's personal API tokens; whoever manages the staff sees and revokes all."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts import token_services
from accounts.models import ApiToken, User
from accounts.permissions import Perm, Role, forbidden, user_has_perm
from accounts.token_forms import ApiTokenForm


def _staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not isinstance(user, User) or user.role == Role.MEMBER or user.is_platform_support:
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _visible_token(request: HttpRequest, pk: int) -> ApiToken:
    """The user's own token, or any of the firm's for whoever manages the staff; else 404."""
    tokens = ApiToken.objects.select_related("user")
    if not user_has_perm(request.user, Perm.STAFF_MANAGE):
        tokens = tokens.filter(user=_user(request))
    token = tokens.filter(pk=pk).first()
    if token is None:
        raise Http404
    return token


@_staff_only
def token_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    manages = user_has_perm(user, Perm.STAFF_MANAGE)
    firm_tokens = (
        ApiToken.objects.select_related("user").exclude(user=user).filter(revoked_at__isnull=True) if manages else None
    )
    return render(
        request,
        "accounts/api_tokens.html",
        {"tokens": ApiToken.objects.filter(user=user), "firm_tokens": firm_tokens, "manages": manages},
    )


@never_cache
@_staff_only
def token_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ApiTokenForm(request.POST or None, role=user.role)
    if request.method == "POST" and form.is_valid():
        try:
            token, key = token_services.create_token(
                user=user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # Shown in this answer only (never_cache: no-store): the database keeps its SHA-256.
            return render(request, "accounts/api_token_created.html", {"token": token, "key": key})
    return render(request, "accounts/api_token_form.html", {"form": form})


@_staff_only
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = _visible_token(request, pk)
    if request.method == "POST":
        token_services.revoke_token(by=_user(request), token=token)
        messages.success(
            request, _("Le jeton « %(name)s » est révoqué : il ne donne plus accès à l'API.") % {"name": token.name}
        )
        return redirect("api-tokens:list")
    return render(request, "accounts/api_token_revoke.html", {"token": token})

"""Personal API tokens: creation (the clear key is returned once), revocation, use. Each write is audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, User, new_api_key
from accounts.permissions import Perm, Role, scopes_for_role, user_has_perm
from core import audit
from core.tokens import hash_token

# How often the last use is written: a busy integration must not turn every read into a write.
LAST_USE_RESOLUTION = timedelta(minutes=1)
MAX_ACTIVE_TOKENS_PER_USER = 20


def _ensure_can_hold_tokens(user: User) -> None:
    if not user.is_active or user.role == Role.MEMBER or user.is_platform_support:
        raise ValidationError(_("Seuls les membres actifs de l'équipe du cabinet peuvent créer un jeton d'API."))


@transaction.atomic
def create_token(*, user: User, name: str, scopes: Iterable[str], expires_at: datetime | None) -> tuple[ApiToken, str]:
    """A new token for `user` (who creates it for themself); returns it with the clear key, never stored."""
    _ensure_can_hold_tokens(user)
    User.objects.select_for_update().get(pk=user.pk)  # serialises the count below per user
    allowed = set(scopes_for_role(user.role))
    chosen = sorted(set(scopes))
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Donnez un nom au jeton.")]
    if not chosen:
        errors["scopes"] = [_("Choisissez au moins un droit.")]
    elif not set(chosen) <= allowed:
        errors["scopes"] = [
            _("Votre rôle ne permet pas ces droits : %(scopes)s.")
            % {"scopes": ", ".join(sorted(set(chosen) - allowed))}
        ]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("La date d'expiration doit être dans le futur.")]
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).exclude(expires_at__lte=timezone.now())
    if active.count() >= MAX_ACTIVE_TOKENS_PER_USER:
        errors.setdefault("name", []).append(
            _("Vous avez déjà %(count)s jetons actifs : révoquez-en un d'abord.")
            % {"count": MAX_ACTIVE_TOKENS_PER_USER}
        )
    if errors:
        raise ValidationError(errors)
    key = new_api_key()
    token = ApiToken.objects.create(
        user=user, name=name.strip(), prefix=key[:12], key_hash=hash_token(key), scopes=chosen, expires_at=expires_at
    )
    audit.record(
        actor=user,
        action="api_token.created",
        obj=token,
        changes={"name": [None, token.name], "scopes": [None, chosen], "expires_at": [None, expires_at]},
    )
    return token, key


@transaction.atomic
def revoke_token(*, by: User, token: ApiToken) -> ApiToken:
    """Revokes `token`: its owner may, and so may whoever manages the firm's staff. Revoking twice is a no-op."""
    if token.user_id != by.pk and not user_has_perm(by, Perm.STAFF_MANAGE):
        raise PermissionDenied
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = by
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(actor=by, action="api_token.revoked", obj=token, changes={"revoked_at": [None, token.revoked_at]})
    return token


def authenticate_key(key: str, *, ip: str | None) -> ApiToken | None:
    """The usable token whose key is `key` (with its user), its last use noted; None when unknown or dead."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None or not token.is_usable or not token.user.is_active or token.user.role == Role.MEMBER:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION or token.last_used_ip != ip:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token

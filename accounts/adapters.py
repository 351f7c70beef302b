from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.shortcuts import resolve_url

from accounts.models import User
from core.tenancy import on_public_schema


class AccountAdapter(DefaultAccountAdapter):
    """A firm's staff are created by its admin (invitations), never by open signup."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """A member business's user lands on the member portal; the firm's staff on the staff area."""
        if getattr(request.user, "role", None) == User.Role.MEMBER:
            return resolve_url("portal:home")
        return super().get_login_redirect_url(request)

    def render_mail(self, template_prefix: str, email: str, context: dict[str, Any], headers: Any = None) -> Any:
        """Login codes and password resets leave under the firm's name, replies go to the firm."""
        message = super().render_mail(template_prefix, email, context, headers=headers)
        if not on_public_schema():
            from firm.selectors import email_identity  # the firm app builds on accounts

            message.from_email, message.reply_to = email_identity()
        return message

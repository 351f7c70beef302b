from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from core.tenancy import on_public_schema


class AccountAdapter(DefaultAccountAdapter):
    """A firm's staff are created by its admin (invitations), never by open signup."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def render_mail(self, template_prefix: str, email: str, context: dict[str, Any], headers: Any = None) -> Any:
        """Login codes and password resets leave under the firm's name, replies go to the firm."""
        message = super().render_mail(template_prefix, email, context, headers=headers)
        if not on_public_schema():
            from firm.selectors import email_identity  # the firm app builds on accounts

            message.from_email, message.reply_to = email_identity()
        return message

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """A firm's staff are created by its admin (invitations), never by open signup."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

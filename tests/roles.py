"""The role matrix, for tests: who should get what from a view or an endpoint guarded by a permission."""

from __future__ import annotations

from typing import Any

from django.test import Client

from accounts.models import User
from accounts.permissions import ROLE_PERMISSIONS, Perm
from tests.factories import UserFactory

# Every role of the table, plus an anonymous visitor (None).
ROLES_AND_ANONYMOUS: list[User.Role | None] = [*User.Role, None]


def role_id(role: User.Role | None) -> str:
    return role.value if role else "anonymous"


def allowed(role: User.Role | None, perm: Perm | None) -> bool:
    """perm None means "any logged-in staff member"."""
    if role is None:
        return False
    return perm is None or perm in ROLE_PERMISSIONS[role]


def log_in_with_role(client: Client, role: User.Role | None) -> User | None:
    """A user of the connection's firm with `role`, logged in on `client` (nobody for None)."""
    if role is None:
        return None
    user = UserFactory(role=role)
    client.force_login(user)
    return user


def assert_html_outcome(response: Any, *, role: User.Role | None, perm: Perm | None, success: int) -> None:
    if role is None:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    elif allowed(role, perm):
        assert response.status_code == success, response.content[:500]
    else:
        assert response.status_code == 403
        assert "Accès refusé" in response.content.decode()


def assert_api_outcome(response: Any, *, role: User.Role | None, perm: Perm | None, success: int = 200) -> None:
    if role is None:
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    elif allowed(role, perm):
        assert response.status_code == success, response.content[:500]
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"

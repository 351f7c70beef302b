"""Shared set-up of the member portal's tests: a business, its contact, and a portal user for it."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail

from mediation.members import portal
from tests.factories import AdminFactory, ContactFactory, MemberFactory

CODE_RE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.M)


def staff_admin(email: str = "admin@cabinet.fr") -> Any:
    return AdminFactory(email=email)


def member_with_user(*, by: Any, email: str, legal_name: str = "Boulangerie Dupont SARL", **fields: Any) -> Any:
    """A member, its active contact with `email`, and the portal user the staff opened for it (MemberUser)."""
    member = MemberFactory(legal_name=legal_name, **fields)
    contact = ContactFactory(member=member, email=email, roles=["mediation_correspondent"])
    link = portal.grant_access(by=by, member=member, contact=contact)
    mail.outbox.clear()
    return link


def login_by_code(client: Any, email: str) -> Any:
    """The allauth flow: ask a code for `email`, read it from the mail sent, confirm it. Returns the response."""
    mail.outbox.clear()
    client.post("/accounts/login/code/", {"email": email})
    assert mail.outbox, "no login code was sent"
    found = CODE_RE.search(mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return client.post("/accounts/login/code/confirm/", {"code": found.group(1)})

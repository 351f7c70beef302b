"""The parties' personal space: one-time login codes and the cases each person may see.

No password: a party types an e-mail, receives a 6-digit code (only its HMAC
is stored in `PartyAccess`), and types it back within 15 minutes, in at most
5 attempts. Whether the e-mail is known never shows in the answers (no
account enumeration): `request_code` returns nothing and sends a code only
when the e-mail has a case.

Who sees what (L612-3): a consumer sees the cases filed with their e-mail
(never a draft); a business correspondent sees the cases of the member(s)
whose active contact has that e-mail, and only from the notice of seizure
on (before it the business is no party to the case).
"""

from __future__ import annotations

import datetime
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.tenancy import current_schema
from mediation.cases.errors import CaseError
from mediation.cases.models import FINAL_STATUSES, IN_PROGRESS, Case, Party, PartyAccess, Status

CODE_TTL = datetime.timedelta(minutes=15)
MAX_ATTEMPTS = 5
CODE_DIGITS = 6
# Codes sent to one e-mail per hour: with 5 attempts each, guessing stays hopeless.
MAX_CODES_PER_HOUR = 5
PARTIES = (Party.CONSUMER, Party.BUSINESS)


class CodeRejected(CaseError):
    """The code typed is wrong, expired or locked; `code` says which (the message says what to do)."""

    code = "code_rejected"
    status_code = 400


@dataclass(frozen=True)
class PartyIdentity:
    """Who is logged in to the personal space."""

    email: str
    party: str


# The parties' space keeps who is logged in under this session key, bound to the firm's schema.
SESSION_KEY = "party_space"


def open_session(session: Any, *, identity: PartyIdentity) -> None:
    """Records a proven identity in the session (after a code, or a member portal login)."""
    session[SESSION_KEY] = {"email": identity.email, "party": identity.party, "schema": current_schema()}


def session_identity(session: Any) -> PartyIdentity | None:
    """The identity the session holds on this firm's host, or None (none, malformed, or another firm's)."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("schema") != current_schema():
        return None
    if data.get("party") not in PARTIES or not data.get("email"):
        return None
    return PartyIdentity(email=str(data["email"]), party=str(data["party"]))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _hash_code(email: str, party: str, code: str) -> str:
    return salted_hmac("mediation.cases.party", f"{party}:{email}:{code}", algorithm="sha256").hexdigest()


# --- Which cases a person sees ---------------------------------------------------------


def consumer_cases(*, email: str) -> QuerySet[Case]:
    """The cases a consumer filed with this e-mail (never a draft)."""
    email = normalize_email(email)
    if not email:
        return Case.objects.none()
    return Case.objects.filter(consumer_email__iexact=email).exclude(status=Status.DRAFT)


def business_cases(*, email: str) -> QuerySet[Case]:
    """The cases of the members whose active contact has this e-mail, from the notice of seizure on."""
    email = normalize_email(email)
    if not email:
        return Case.objects.none()
    seized = Q(status__in=IN_PROGRESS) | Q(status__in=FINAL_STATUSES, opened_at__isnull=False)
    return Case.objects.filter(
        seized,
        member__contacts__email__iexact=email,
        member__contacts__is_active=True,
    ).distinct()


def cases_for(*, identity: PartyIdentity) -> QuerySet[Case]:
    """The cases `identity` may open, newest first."""
    if identity.party == Party.CONSUMER:
        queryset = consumer_cases(email=identity.email)
    elif identity.party == Party.BUSINESS:
        queryset = business_cases(email=identity.email)
    else:
        return Case.objects.none()
    return queryset.select_related("member").order_by("-received_at", "-pk")


def case_for(*, identity: PartyIdentity, reference: str) -> Case | None:
    """The case with this reference if `identity` may open it, else None (the view answers 404)."""
    return cases_for(identity=identity).filter(reference=reference).first()


def has_cases(*, email: str, party: str) -> bool:
    return cases_for(identity=PartyIdentity(email=normalize_email(email), party=party)).exists()


# --- Login codes -------------------------------------------------------------------------


def request_code(*, email: str, party: str) -> None:
    """Sends a login code to `email` when it has a case as `party`; says nothing either way."""
    email = normalize_email(email)
    if party not in PARTIES or not email or not has_cases(email=email, party=party):
        return
    issued = issue_code(email=email, party=party)
    if issued is None:
        return
    _access, code = issued
    transaction.on_commit(lambda: _send_code(email=email, code=code))


@transaction.atomic
def issue_code(*, email: str, party: str) -> tuple[PartyAccess, str] | None:
    """A new code for (email, party); earlier unused codes stop working. None past the hourly limit."""
    email = normalize_email(email)
    now = timezone.now()
    recent = PartyAccess.objects.filter(
        email=email, party=party, created_at__gte=now - datetime.timedelta(hours=1)
    ).count()
    if recent >= MAX_CODES_PER_HOUR:
        return None
    PartyAccess.objects.filter(email=email, party=party, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    access = PartyAccess.objects.create(
        email=email,
        party=party,
        code_hash=_hash_code(email, party, code),
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    return access, code


def _send_code(*, email: str, code: str) -> None:
    from firm.selectors import email_identity

    from_email, reply_to = email_identity()
    minutes = int(CODE_TTL.total_seconds() // 60)
    subject = _("Votre code de connexion : %(code)s") % {"code": code}
    body = _(
        "Bonjour,\n\n"
        "Voici votre code pour accéder à votre espace de suivi de médiation : %(code)s\n\n"
        "Il est valable %(minutes)s minutes et ne peut servir qu'une fois. "
        "Si vous n'avez pas demandé ce code, ignorez ce message.\n"
    ) % {"code": code, "minutes": minutes}
    EmailMessage(subject, body, from_email, [email], reply_to=reply_to).send()


def verify_code(*, email: str, party: str, code: str) -> PartyIdentity:
    """The identity the code proves, or `CodeRejected` (code `code_invalid`, `code_expired`, `code_locked`)."""
    email = normalize_email(email)
    # Decided in a transaction that commits, so that a failed attempt counts; the refusal is raised after.
    outcome = _check_code(email=email, party=party, code=(code or "").strip().replace(" ", ""))
    if outcome == "ok":
        return PartyIdentity(email=email, party=party)
    messages = {
        "code_invalid": _("Ce code n'est pas le bon. Vérifiez-le ou demandez-en un nouveau."),
        "code_expired": _("Ce code a expiré. Demandez un nouveau code."),
        "code_locked": _("Trop d'essais : ce code est bloqué. Demandez un nouveau code."),
    }
    raise CodeRejected(messages[outcome], code=outcome)


@transaction.atomic
def _check_code(*, email: str, party: str, code: str) -> str:
    access = (
        PartyAccess.objects.select_for_update()
        .filter(email=email, party=party, used_at__isnull=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    if access is None:
        return "code_invalid"
    if access.attempts >= MAX_ATTEMPTS:
        return "code_locked"
    if timezone.now() >= access.expires_at:
        return "code_expired"
    if not hmac.compare_digest(access.code_hash, _hash_code(email, party, code)):
        access.attempts += 1
        access.save(update_fields=["attempts"])
        return "code_locked" if access.attempts >= MAX_ATTEMPTS else "code_invalid"
    access.used_at = timezone.now()
    access.save(update_fields=["used_at"])
    return "ok"

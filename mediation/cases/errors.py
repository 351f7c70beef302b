"""What the case services refuse, each with a stable code (the API's `code`, 409 for a refused transition)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class CaseError(Exception):
    """A refused operation on a case; `message` is for the person who asked, in their language."""

    code = "case_error"
    status_code = 409

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.params = params

    def __str__(self) -> str:
        return self.message


class TransitionNotAllowed(CaseError):
    code = "transition_not_allowed"

    def __init__(self, current: str, target: str) -> None:
        from mediation.cases.models import Status

        super().__init__(
            _("Impossible de passer un dossier « %(current)s » à « %(target)s ».")
            % {"current": Status(current).label, "target": Status(target).label},
            current=current,
            target=target,
        )


class PreconditionFailed(CaseError):
    """The transition exists but a legal or practical condition is missing (the message says which)."""

    code = "precondition_failed"


class ConflictOfInterest(CaseError):
    """R613-1: a mediator who declared a link with the business cannot handle its cases."""

    code = "conflict_of_interest"


class InvalidDocument(CaseError):
    code = "invalid_document"
    status_code = 400


class NotAllowedForParty(CaseError):
    """A party tried something only another party or the staff may do (post on another channel…)."""

    code = "not_allowed_for_party"
    status_code = 403

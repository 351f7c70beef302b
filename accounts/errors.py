"""Refusals of the staff services, each with a French message for the user and a stable code."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class StaffError(Exception):
    code = "staff_error"
    message: str | Promise = _("Cette opération n'est pas possible.")

    def __init__(self, message: str | Promise | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class AlreadyStaff(StaffError):
    code = "already_staff"
    message = _("Un membre actif de l'équipe utilise déjà cette adresse e-mail.")


class MemberPortalEmail(StaffError):
    code = "member_portal_email"
    message = _(
        "Cette adresse e-mail est celle d'un utilisateur du portail d'un adhérent : "
        "utilisez une autre adresse pour le compte de l'équipe."
    )


class InactiveStaff(StaffError):
    code = "inactive_staff"
    message = _(
        "Un compte désactivé utilise déjà cette adresse e-mail : réactivez-le depuis la liste de l'équipe "
        "plutôt que de l'inviter à nouveau."
    )


class StaffSeatsFull(StaffError):
    """The firm's plan caps its staff accounts; the message names the way out."""

    code = "plan_staff_seats_full"

    def __init__(self, *, limit: int, plan: str) -> None:
        super().__init__(
            _(
                "Votre formule %(plan)s comprend %(limit)d comptes équipe, tous utilisés (invitations en attente "
                "comprises). Désactivez un compte, annulez une invitation ou passez à une formule supérieure."
            )
            % {"plan": plan, "limit": limit}
        )


class LastActiveAdmin(StaffError):
    code = "last_active_admin"
    message = _("Le cabinet doit garder au moins un administrateur actif.")


class CannotDeactivateSelf(StaffError):
    code = "cannot_deactivate_self"
    message = _("Vous ne pouvez pas désactiver votre propre compte.")


class InvitationUnusable(StaffError):
    """The invitation link cannot be used: unknown, expired, revoked or already used."""

    code = "invitation_unusable"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(INVITATION_REASONS.get(reason, INVITATION_REASONS["unknown"]))


INVITATION_REASONS: dict[str, str | Promise] = {
    "unknown": _("Ce lien d'invitation n'est pas valable pour ce cabinet."),
    "expired": _("Cette invitation a expiré. Demandez à un administrateur du cabinet de vous inviter à nouveau."),
    "revoked": _("Cette invitation a été annulée par un administrateur du cabinet."),
    "accepted": _(
        "Cette invitation a déjà été utilisée. Connectez-vous avec votre adresse e-mail et votre mot de passe."
    ),
    "taken": _(
        "Un compte utilise déjà cette adresse e-mail. Connectez-vous ou demandez de l'aide à un administrateur."
    ),
}

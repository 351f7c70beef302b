"""What can go wrong with the platform's billing; messages are for the firm's admin."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class BillingError(Exception):
    """A billing step that cannot go on; `message` is shown to the firm's admin, `code` to API callers."""

    code = "billing_error"
    default_message = _("Le service de paiement est momentanément indisponible. Réessayez dans quelques minutes.")

    def __init__(self, message: str | None = None) -> None:
        self.message = str(message or self.default_message)
        super().__init__(self.message)


class StripeNotConfigured(BillingError):
    code = "stripe_not_configured"
    default_message = _(
        "Le paiement en ligne n'est pas encore configuré sur la plateforme. "
        "Contactez l'opérateur de la plateforme pour changer de formule."
    )


class PlanNotForSale(BillingError):
    code = "plan_not_for_sale"
    default_message = _("Cette formule ne peut pas être souscrite en ligne pour le moment.")


class AlreadySubscribed(BillingError):
    code = "already_subscribed"
    default_message = _(
        "Votre cabinet a déjà un abonnement en cours : changez de formule depuis « Gérer la facturation »."
    )


class NoCustomer(BillingError):
    code = "no_customer"
    default_message = _("Votre cabinet n'a pas encore d'abonnement : choisissez d'abord une formule.")


class WebhookRejected(Exception):
    """A webhook call that is not a genuine Stripe event; `code` goes back in the 400 answer."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class EventNotApplicable(Exception):
    """A genuine event the platform cannot apply (unknown customer, price of no plan): the event fails."""

"""The firm's online payment settings (/staff/facturation/stripe/): connect its own Stripe account.

The firm's administrator (firm.settings) connects the account once; Stripe's
onboarding form comes back to `onboarding_return`, which re-reads the account
(Stripe's `account.updated` events keep it in step afterwards).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Perm, require_perm
from billing import payments
from billing.errors import BillingError


def _onboarding_url(request: HttpRequest) -> str:
    """A fresh Account Link (they are single-use and short-lived)."""
    return payments.start_onboarding(
        by=request.user,
        refresh_url=request.build_absolute_uri(reverse("billing-stripe:refresh")),
        return_url=request.build_absolute_uri(reverse("billing-stripe:return")),
    )


@require_perm(Perm.FIRM_SETTINGS)
def status(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/stripe/connect.html", {"status": payments.connect_status()})


def _to_onboarding(request: HttpRequest) -> HttpResponse:
    try:
        url = _onboarding_url(request)
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing-stripe:status")
    return redirect(url)


@require_perm(Perm.FIRM_SETTINGS)
@require_POST
def connect(request: HttpRequest) -> HttpResponse:
    """« Connecter mon compte Stripe » / « Reprendre l'inscription »: the account (created once), then Stripe's form."""
    return _to_onboarding(request)


@require_perm(Perm.FIRM_SETTINGS)
def onboarding_refresh(request: HttpRequest) -> HttpResponse:
    """Stripe sends the firm here when its onboarding link expired: a new link, straight back to Stripe."""
    return _to_onboarding(request)


@require_perm(Perm.FIRM_SETTINGS)
def onboarding_return(request: HttpRequest) -> HttpResponse:
    """Back from Stripe's form (completed or not): the account's state is read again from Stripe."""
    return _refresh(request)


@require_perm(Perm.FIRM_SETTINGS)
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    return _refresh(request)


def _refresh(request: HttpRequest) -> HttpResponse:
    try:
        current = payments.refresh_account(by=request.user)
    except BillingError as exc:
        messages.error(request, exc.message)
    else:
        if current.can_take_payments:
            messages.success(request, _("Votre compte Stripe est connecté : vos adhérents peuvent payer en ligne."))
        else:
            messages.info(
                request, _("Stripe attend encore des informations avant d'activer les paiements de votre compte.")
            )
    return redirect("billing-stripe:status")

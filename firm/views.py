"""The firm's settings pages (/staff/cabinet/): profile and mediators. Admins only (firm.settings)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm
from firm import selectors, services
from firm.forms import CustomDomainForm, FirmProfileForm, MediatorForm


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _changes(form: BaseForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data}


@require_perm(Perm.FIRM_SETTINGS)
def profile_edit(request: HttpRequest) -> HttpResponse:
    form = FirmProfileForm(request.POST or None, request.FILES or None, instance=selectors.firm_profile())
    if request.method == "POST" and form.is_valid():
        try:
            services.update_firm_profile(by=_acting_user(request), **_changes(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Les informations du cabinet sont enregistrées."))
            return redirect("firm:profile")
    return render(request, "firm/profile_form.html", {"form": form})


@require_perm(Perm.FIRM_SETTINGS)
def mediator_list(request: HttpRequest) -> HttpResponse:
    return render(request, "firm/mediator_list.html", {"mediators": selectors.mediators()})


@require_perm(Perm.FIRM_SETTINGS)
def mediator_create(request: HttpRequest) -> HttpResponse:
    form = MediatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mediator = services.create_mediator(by=_acting_user(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Le médiateur %(name)s est ajouté.") % {"name": mediator})
            return redirect("firm:mediators")
    return render(request, "firm/mediator_form.html", {"form": form, "mediator": None})


@require_perm(Perm.FIRM_SETTINGS)
def mediator_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mediator = selectors.mediator(pk=pk)
    if mediator is None:
        raise Http404
    form = MediatorForm(request.POST or None, instance=mediator)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_mediator(by=_acting_user(request), mediator=mediator, **_changes(form))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Les informations de %(name)s sont enregistrées.") % {"name": mediator})
            return redirect("firm:mediators")
    return render(request, "firm/mediator_form.html", {"form": form, "mediator": mediator})


@require_perm(Perm.FIRM_SETTINGS)
def domains(request: HttpRequest) -> HttpResponse:
    """The firm's host names, and its requests for a custom domain (approved by the platform operator)."""
    from tenants import services as platform
    from tenants.models import Domain, DomainRequest

    tenant = request.tenant  # type: ignore[attr-defined]
    form = CustomDomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            platform.request_custom_domain(
                tenant=tenant, domain=form.cleaned_data["domain"], by_email=_acting_user(request).email
            )
        except platform.SignupError as exc:
            form.add_error("domain", str(exc))
        else:
            messages.success(request, _("Votre demande est transmise à l'opérateur de la plateforme."))
            return redirect("firm:domains")
    context = {
        "form": form,
        "domains": Domain.objects.filter(tenant=tenant).order_by("-is_primary", "domain"),
        "requests": DomainRequest.objects.filter(tenant=tenant),
    }
    return render(request, "firm/domains.html", context, status=400 if form.errors else 200)


# --- The firm's subscription to the platform (tenants.saas) -------------------


@require_perm(Perm.FIRM_SETTINGS)
def subscription(request: HttpRequest) -> HttpResponse:
    """Plan, status, renewal, seats; a Checkout button per plan and the billing portal."""
    from tenants.saas import selectors as saas
    from tenants.saas.services import status_message
    from tenants.saas.stripe_client import is_configured

    tenant = request.tenant  # type: ignore[attr-defined]
    current = saas.subscription_of(tenant)
    checkout = request.GET.get("checkout")
    if checkout == "success":
        messages.info(request, _("Merci ! Stripe confirme le paiement : votre abonnement s'affiche dans un instant."))
    elif checkout == "cancel":
        messages.info(request, _("Le paiement a été abandonné : rien n'a changé."))
    context = {
        "plan": tenant.plan,
        "subscription": current,
        "status_message": status_message(current),
        "seats_used": saas.staff_seats_used(),
        "offers": saas.plan_offers(),
        "stripe_configured": is_configured(),
        "can_subscribe": current is None or not current.is_live,
    }
    return render(request, "firm/subscription.html", context)


@require_perm(Perm.FIRM_SETTINGS)
@require_POST
def subscription_checkout(request: HttpRequest) -> HttpResponse:
    from tenants.models import Plan
    from tenants.saas import services as saas
    from tenants.saas.errors import BillingError

    plan = Plan.objects.filter(code=request.POST.get("plan", ""), is_public=True).first()
    if plan is None:
        messages.error(request, _("Choisissez une des formules proposées."))
        return redirect("firm:subscription")
    page = request.build_absolute_uri(reverse("firm:subscription"))
    try:
        url = saas.start_checkout(
            tenant=request.tenant,  # type: ignore[attr-defined]
            plan=plan,
            interval=request.POST.get("interval", "month"),
            success_url=f"{page}?checkout=success",
            cancel_url=f"{page}?checkout=cancel",
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("firm:subscription")
    return redirect(url)


@require_perm(Perm.FIRM_SETTINGS)
@require_POST
def subscription_portal(request: HttpRequest) -> HttpResponse:
    from tenants.saas import services as saas
    from tenants.saas.errors import BillingError

    try:
        url = saas.portal_url(
            tenant=request.tenant,  # type: ignore[attr-defined]
            return_url=request.build_absolute_uri(reverse("firm:subscription")),
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("firm:subscription")
    return redirect(url)


# --- Public branding assets of the firm's host (no login: shown on every page) ---


def theme_stylesheet(request: HttpRequest) -> HttpResponse:
    """The firm's colours as CSS variables, with a readable text colour computed for each."""
    from firm import branding

    css = branding.theme_css(selectors.firm_profile())
    etag = branding.etag_for(css)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"
    return response


def logo(request: HttpRequest) -> HttpResponseBase:
    """The firm's logo, or 404 when it has none."""
    from django.http import FileResponse

    profile = selectors.firm_profile()
    if not profile.logo:
        raise Http404
    try:
        handle = profile.logo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle)
    response["Cache-Control"] = "public, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response

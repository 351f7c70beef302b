"""The staff pages of webhooks (/staff/cabinet/webhooks/): thin, every write through `integrations.services`."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm
from integrations import selectors, services
from integrations.errors import WebhookError
from integrations.events import label
from integrations.forms import DeliveryFilterForm, EndpointForm
from integrations.models import WebhookDelivery, WebhookEndpoint

LOG_PAGE_SIZE = 25
MAX_ID = 2**63 - 1


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _endpoint(pk: int) -> WebhookEndpoint:
    found = selectors.endpoint(pk) if pk <= MAX_ID else None
    if found is None:
        raise Http404
    return found


def _delivery(pk: int) -> WebhookDelivery:
    found = selectors.delivery(pk) if pk <= MAX_ID else None
    if found is None:
        raise Http404
    return found


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"integrations/{template}", context)


@require_perm(Perm.FIRM_SETTINGS)
def endpoint_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "endpoint_list.html", {"endpoints": selectors.endpoints()})


def _save_form(request: HttpRequest, form: EndpointForm, endpoint: WebhookEndpoint | None) -> WebhookEndpoint | None:
    """Calls the service with the valid form; None after putting its refusal on the form."""
    values = form.cleaned_data
    try:
        if endpoint is None:
            return services.create_endpoint(by=_acting_user(request), **values)
        return services.update_endpoint(by=_acting_user(request), endpoint=endpoint, **values)
    except WebhookError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@require_perm(Perm.FIRM_SETTINGS)
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        endpoint = _save_form(request, form, None)
        if endpoint is not None:
            messages.success(
                request,
                _(
                    "Le point de terminaison est créé. Copiez son secret de signature dans votre outil, "
                    "puis envoyez un événement de test."
                ),
            )
            return redirect("webhooks:detail", endpoint.pk)
    return _render(request, "endpoint_form.html", {"form": form, "endpoint": None})


@require_perm(Perm.FIRM_SETTINGS)
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    form = EndpointForm(request.POST or None, initial=EndpointForm.initial_from(endpoint))
    if request.method == "POST" and form.is_valid() and _save_form(request, form, endpoint) is not None:
        messages.success(request, _("Les modifications sont enregistrées."))
        return redirect("webhooks:detail", endpoint.pk)
    return _render(request, "endpoint_form.html", {"form": form, "endpoint": endpoint})


@require_perm(Perm.FIRM_SETTINGS)
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    form = DeliveryFilterForm(request.GET)
    log = selectors.deliveries(endpoint=endpoint, **form.filters())
    page = Paginator(log, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return _render(
        request,
        "endpoint_detail.html",
        {
            "endpoint": endpoint,
            "events": [(event, label(event)) for event in endpoint.events],
            "form": form,
            "page": page,
            "query": params.urlencode(),
            "filtered": bool(form.filters()),
        },
    )


def _confirm(request: HttpRequest, *, title: str, question: str, button: str, cancel_url: str) -> HttpResponse:
    return _render(
        request,
        "confirm.html",
        {"title": title, "question": question, "button": button, "cancel_url": cancel_url},
    )


@require_perm(Perm.FIRM_SETTINGS)
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    if request.method == "POST":
        services.delete_endpoint(by=_acting_user(request), endpoint=endpoint)
        messages.success(request, _("Le point de terminaison et son journal de livraisons sont supprimés."))
        return redirect("webhooks:list")
    return _confirm(
        request,
        title=_("Supprimer ce point de terminaison"),
        question=_("%(url)s ne recevra plus aucun événement et son journal de livraisons sera effacé. Continuer ?")
        % {"url": endpoint.url},
        button=_("Supprimer"),
        cancel_url=reverse("webhooks:detail", args=[endpoint.pk]),
    )


@require_perm(Perm.FIRM_SETTINGS)
def endpoint_regenerate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    if request.method == "POST":
        services.regenerate_secret(by=_acting_user(request), endpoint=endpoint)
        messages.success(request, _("Un nouveau secret est créé : mettez-le à jour dans votre outil."))
        return redirect("webhooks:detail", endpoint.pk)
    return _confirm(
        request,
        title=_("Régénérer le secret de signature"),
        question=_(
            "L'ancien secret cessera aussitôt de fonctionner : votre outil refusera les événements tant que vous "
            "n'y aurez pas saisi le nouveau. Continuer ?"
        ),
        button=_("Régénérer le secret"),
        cancel_url=reverse("webhooks:detail", args=[endpoint.pk]),
    )


@require_POST
@require_perm(Perm.FIRM_SETTINGS)
def endpoint_ping(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    try:
        delivery = services.send_ping(by=_acting_user(request), endpoint=endpoint)
    except WebhookError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:detail", endpoint.pk)
    messages.success(request, _("Un événement de test est envoyé : son résultat s'affiche ci-dessous."))
    return redirect("webhooks:delivery", delivery.pk)


@require_perm(Perm.FIRM_SETTINGS)
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery(pk)
    return _render(
        request,
        "delivery_detail.html",
        {
            "delivery": delivery,
            "endpoint": delivery.endpoint,
            "event_label": label(delivery.event_type),
            "body": json.dumps(delivery.payload, indent=2, ensure_ascii=False),
        },
    )


@require_POST
@require_perm(Perm.FIRM_SETTINGS)
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery(pk)
    try:
        copy = services.redeliver(by=_acting_user(request), delivery=delivery)
    except WebhookError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:delivery", delivery.pk)
    messages.success(request, _("L'événement est renvoyé : voici la nouvelle livraison."))
    return redirect("webhooks:delivery", copy.pk)

"""The Stripe webhook endpoint of the platform host."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tenants.saas import services
from tenants.saas.errors import WebhookRejected
from tenants.saas.models import StripeEvent


@csrf_exempt  # Stripe signs the body instead (Stripe-Signature)
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        event = services.handle_webhook(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except WebhookRejected as exc:
        return JsonResponse({"code": exc.code, "detail": str(exc)}, status=400)
    if event.status == StripeEvent.Status.FAILED:
        # An error makes Stripe deliver it again later (with backoff, for three days).
        return JsonResponse({"code": "processing_failed", "id": event.stripe_id}, status=500)
    return JsonResponse({"id": event.stripe_id, "status": event.status})

"""The Stripe Connect webhook of the platform host: events of the firms' connected accounts."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import payments


@csrf_exempt  # Stripe signs the body instead (Stripe-Signature)
@require_POST
def connect_webhook(request: HttpRequest) -> JsonResponse:
    try:
        result = payments.handle_webhook(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except payments.WebhookRejected as exc:
        return JsonResponse({"code": exc.code, "detail": str(exc)}, status=400)
    if result.failed:
        # An error makes Stripe deliver it again later (with backoff, for three days).
        return JsonResponse({"code": "processing_failed", "id": result.event_id}, status=500)
    return JsonResponse({"id": result.event_id, "status": result.status})

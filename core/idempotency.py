"""`Idempotency-Key` on the API's POSTs: a retried create does not create twice.

The first request with a key runs and its answer is kept (24 hours); the same key sent again by the same
client with the same request gets that answer back, marked `Idempotent-Replayed: true`, without running
anything. The same key with another request is a 422; while the first is still running, a 409.

Answers that say nothing final are not kept, so a retry runs for real: 5xx, 401, 403, 429 and streamed
files. A multipart upload is compared on its size and type rather than read whole here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
API_PREFIX = "/api/v1/"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# A request still "processing" after this long died with its process: the key may be used again.
ABANDONED_AFTER = timedelta(minutes=5)
NOT_KEPT = {401, 403, 429}
REPLAYED_HEADERS = ("Location", "Content-Language")


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def _principal(request: HttpRequest) -> str | None:
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization[:7].lower() == "bearer ":
        return "token:" + hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/"):
        # Reading an upload here would hold it in memory (and trip DATA_UPLOAD_MAX_MEMORY_SIZE).
        digest.update(f"{content_type.split(';')[0]} {request.META.get('CONTENT_LENGTH', '')}".encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.response_body), status=row.response_status or 200, content_type=row.response_content_type
    )
    for name, value in row.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(*, principal: str, key: str, request: HttpRequest, request_hash: str) -> IdempotencyKey | HttpResponse:
    """The new row this request owns, or the answer to give instead of running it."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    principal=principal,
                    key=key,
                    method=request.method or "POST",
                    path=request.path[:1000],
                    request_hash=request_hash,
                )
        except IntegrityError:
            row = IdempotencyKey.objects.filter(principal=principal, key=key).first()
            if row is None:  # deleted meanwhile (the first request failed): try again
                continue
            now = timezone.now()
            if row.created_at < now - RETENTION or (
                row.state == IdempotencyKey.State.PROCESSING and row.created_at < now - ABANDONED_AFTER
            ):
                IdempotencyKey.objects.filter(pk=row.pk).delete()
                continue
            if row.request_hash != request_hash:
                return _error(
                    422,
                    "idempotency_key_reused",
                    _("Cette clé d'idempotence a déjà servi pour une autre requête : utilisez-en une nouvelle."),
                )
            if row.state == IdempotencyKey.State.PROCESSING:
                response = _error(
                    409,
                    "idempotency_in_progress",
                    _("Une requête avec cette clé d'idempotence est en cours : réessayez dans un instant."),
                )
                response["Retry-After"] = "1"
                return response
            return _replay(row)
    return _error(409, "idempotency_in_progress", _("Réessayez dans un instant."))


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        principal = _principal(request)
        if principal is None:  # anonymous: the view answers 401, nothing to remember
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _error(
                400,
                "invalid_idempotency_key",
                _("L'en-tête Idempotency-Key doit faire de 1 à %(max)s caractères imprimables.")
                % {"max": MAX_KEY_LENGTH},
            )
        claimed = _claim(principal=principal, key=key, request=request, request_hash=_request_hash(request))
        if isinstance(claimed, HttpResponse):
            return claimed
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
            raise
        if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
            return response
        IdempotencyKey.objects.filter(pk=claimed.pk).update(
            state=IdempotencyKey.State.DONE,
            response_status=response.status_code,
            response_content_type=response.get("Content-Type", ""),
            response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
            response_body=response.content,
        )
        return response


def purge_expired() -> int:
    """Forgets the keys older than the retention; returns how many."""
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted

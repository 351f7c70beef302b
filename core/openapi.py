"""What every operation of the API v1 shares, added to the OpenAPI schema in one place.

- 401 (no or bad credentials) and 429 (throttled, with Retry-After) can answer any call;
- 414: the HTTP server (gunicorn, or the proxy in front) refuses a request line longer than it reads (4 KB for
  gunicorn), before the application: its body is the server's own page, not part of the API;
- every POST takes an optional `Idempotency-Key` (core.idempotency) and may answer 400 (a key that is empty, too
  long or not printable), 409 or 422 for it.
"""

from __future__ import annotations

from typing import Any

API_PREFIX = "/api/v1/"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    "description": (
        "Makes a retried POST safe: the same key with the same request within 24 hours replays the first "
        "answer (header `Idempotent-Replayed: true`) instead of running again."
    ),
}
SHARED_RESPONSES = {
    "401": "Missing, unknown, expired or revoked credentials (`invalid_token`, `not_authenticated`).",
    "429": "Too many requests (`throttled`); the `Retry-After` header says when to try again.",
}
SERVER_RESPONSES = {
    "414": {"description": "The URL is longer than the HTTP server accepts (its own page, not an API error)."},
}
IDEMPOTENCY_RESPONSES = {
    "400": "The Idempotency-Key header is empty, longer than 255 characters or not printable "
    "(`invalid_idempotency_key`).",
    "409": "A request with this Idempotency-Key is still running (`idempotency_in_progress`).",
    "422": "This Idempotency-Key was used for another request (`idempotency_key_reused`).",
}


def _json_error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def add_shared_api_behaviour(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {"code": {"type": "string"}, "detail": {}},
            "required": ["code", "detail"],
        },
    )
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in SHARED_RESPONSES.items():
                responses.setdefault(status, _json_error(description))
            for status, response in SERVER_RESPONSES.items():
                responses.setdefault(status, dict(response))
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_PARAMETER)
                for status, description in IDEMPOTENCY_RESPONSES.items():
                    if status in responses:  # the operation's own 400/409: say that the key may cause it too
                        own = responses[status].get("description", "")
                        if description not in own:
                            responses[status]["description"] = f"{own} Also: {description}".strip()
                    else:
                        responses[status] = _json_error(description)
    return result

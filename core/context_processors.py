from django.http import HttpRequest

from core.tenancy import on_public_schema


def tenant(request: HttpRequest) -> dict[str, object]:
    """The firm whose host serves this request (None on the platform host)."""
    return {"current_tenant": None if on_public_schema() else getattr(request, "tenant", None)}

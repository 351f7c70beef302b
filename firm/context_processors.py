from django.http import HttpRequest

from core.tenancy import on_public_schema
from firm.models import FirmProfile


def branding(request: HttpRequest) -> dict[str, object]:
    """Whether the firm of this host has a logo to show in the header (one small query)."""
    if on_public_schema():
        return {}
    logo = FirmProfile.objects.filter(pk=FirmProfile.SINGLETON_PK).values_list("logo", flat=True).first()
    return {"firm_has_logo": bool(logo)}

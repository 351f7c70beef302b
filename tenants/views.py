from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.models import Tenant


def platform_home(request: HttpRequest) -> HttpResponse:
    """The platform host's home: what the product does, for firms and operators."""
    active_firms = Tenant.objects.exclude(schema_name="public").filter(is_active=True).count()
    return render(request, "platform/home.html", {"active_firms": active_firms})

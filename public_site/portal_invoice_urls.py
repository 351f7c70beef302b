"""URLs of portal-invoices (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "portal-invoices"
urlpatterns: list[URLPattern] = []

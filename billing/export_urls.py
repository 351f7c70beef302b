"""URLs of billing-exports (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "billing-exports"
urlpatterns: list[URLPattern] = []

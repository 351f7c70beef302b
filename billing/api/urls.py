"""URLs of billing-api (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "billing-api"
urlpatterns: list[URLPattern] = []

"""URLs of billing-webhook (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "billing-webhook"
urlpatterns: list[URLPattern] = []

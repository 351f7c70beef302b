"""URLs of billing-stripe (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "billing-stripe"
urlpatterns: list[URLPattern] = []

"""URLs of billing-bank (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "billing-bank"
urlpatterns: list[URLPattern] = []

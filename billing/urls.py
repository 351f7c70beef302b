"""URLs of billing (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "billing"
urlpatterns: list[URLPattern] = []

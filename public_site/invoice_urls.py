"""URLs of invoice-pay (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "invoice-pay"
urlpatterns: list[URLPattern] = []

"""URLs of billing-renewals (filled in by the billing work)."""

from django.urls import URLPattern

app_name = "billing-renewals"
urlpatterns: list[URLPattern] = []

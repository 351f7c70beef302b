"""Mounted at `/trouver-un-mediateur/` on the platform host (config/urls_public.py)."""

from django.urls import path

from tenants import lookup_views

app_name = "lookup"
urlpatterns = [
    path("", lookup_views.find_mediator, name="search"),
]

"""URLconf of a firm's host (the firm's schema)."""

from django.contrib import admin
from django.urls import include, path

from accounts.api.views import MeView
from config.urls_common import urlpatterns as common
from public_site.views import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("staff/", include("mediation.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/me/", MeView.as_view(), name="api-me"),
    *common,
]

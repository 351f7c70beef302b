"""URLconf of the platform host (public schema)."""

from django.contrib import admin
from django.urls import path

from config.urls_common import urlpatterns as common
from tenants.views import platform_home

urlpatterns = [
    path("", platform_home, name="platform-home"),
    path("admin/", admin.site.urls),
    *common,
]

"""URLconf of the platform host (public schema)."""

from django.contrib import admin
from django.urls import include, path

from config.urls_common import urlpatterns as common
from public_site.directory_views import sector_directory
from tenants import views
from tenants.saas.views import stripe_webhook

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("inscription/", views.signup, name="signup"),
    path("trouver-un-mediateur/annuaire/", sector_directory, name="sector-directory"),
    path("trouver-un-mediateur/", include("tenants.lookup_urls")),
    path("inscription/confirmer/<str:token>/", views.signup_verify, name="signup-verify"),
    path("inscription/<uuid:public_id>/", views.signup_progress, name="signup-progress"),
    path("inscription/<uuid:public_id>/reessayer/", views.signup_retry, name="signup-retry"),
    path("console/exports/<int:tenant_id>/", views.console_export, name="console-export"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("stripe/connect/", include("billing.webhook_urls")),
    path("admin/", admin.site.urls),
    *common,
]

handler404 = "core.api.api_not_found"
handler500 = "core.api.api_server_error"

"""The firm's online payment settings (Stripe Connect), mounted at /staff/facturation/stripe/ (firm.settings)."""

from django.urls import path

from billing import connect_views as views

app_name = "billing-stripe"
urlpatterns = [
    path("", views.status, name="status"),
    path("connecter/", views.connect, name="connect"),
    path("actualiser/", views.refresh, name="sync"),
    # Stripe's onboarding form comes back to these two (Account Link return_url / refresh_url).
    path("retour/", views.onboarding_return, name="return"),
    path("reprendre/", views.onboarding_refresh, name="refresh"),
]

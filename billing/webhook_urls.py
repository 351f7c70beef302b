"""The Stripe Connect webhook, on the platform host under /stripe/connect/ (one endpoint for every firm)."""

from django.urls import path

from billing.webhook_views import connect_webhook

app_name = "billing-webhook"
urlpatterns = [
    path("webhook/", connect_webhook, name="webhook"),
]

"""The invoice payment page from the invoice e-mail, mounted at /factures/ (public: the token is the secret)."""

from django.urls import path

from public_site import invoice_views as views

app_name = "invoice-pay"
urlpatterns = [
    path("payer/<str:token>/", views.pay, name="page"),
    path("payer/<str:token>/facture.pdf", views.pdf, name="pdf"),
    path("payer/<str:token>/merci/", views.paid, name="success"),
    path("payer/<str:token>/abandon/", views.cancelled, name="cancel"),
]

"""The member portal's invoices, mounted at /espace-adherent/factures/ (member users of the business)."""

from django.urls import path

from public_site import portal_invoice_views as views

app_name = "portal-invoices"
urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("<int:pk>/pdf/", views.invoice_pdf, name="pdf"),
    path("<int:pk>/payer/", views.invoice_pay, name="pay"),
]

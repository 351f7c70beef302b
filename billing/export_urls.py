"""URLs of the finance exports (/staff/facturation/exports/): billing.export."""

from django.urls import URLPattern, path, re_path

from billing import export_views as views

app_name = "billing-exports"
FORMAT = r"(?P<fmt>csv|xlsx)"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    re_path(rf"^factures\.{FORMAT}$", views.invoices_export, name="invoices"),
    re_path(rf"^avoirs\.{FORMAT}$", views.credit_notes_export, name="credit_notes"),
    re_path(rf"^paiements\.{FORMAT}$", views.payments_export, name="payments"),
    path("balance-agee/", views.aged, name="aged"),
    re_path(rf"^balance-agee\.{FORMAT}$", views.aged_export, name="aged_export"),
    path("fec/", views.fec_export, name="fec"),
]

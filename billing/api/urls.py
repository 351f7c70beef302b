"""/api/v1/: invoices and credit notes (with their actions), payments and the catalogue (see views.py)."""

from django.urls import path

from billing.api import views

app_name = "billing-api"
urlpatterns = [
    path("invoices/", views.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice"),
    path("invoices/<int:pk>/pdf/", views.InvoicePdfView.as_view(), name="invoice-pdf"),
    path("invoices/<int:pk>/issue/", views.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<int:pk>/payments/", views.InvoicePaymentsView.as_view(), name="invoice-payments"),
    path("invoices/<int:pk>/credit-notes/", views.InvoiceCreditNotesView.as_view(), name="invoice-credit-notes"),
    path("payments/", views.PaymentListView.as_view(), name="payments"),
    path("products/", views.ProductListView.as_view(), name="products"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product"),
    path("products/<int:pk>/prices/", views.ProductPricesView.as_view(), name="product-prices"),
]

"""Staff pages of billing, mounted at /staff/facturation/."""

from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("", views.invoice_list, name="invoices"),
    path("nouvelle/", views.invoice_create, name="create"),
    path("<int:pk>/", views.invoice_detail, name="detail"),
    path("<int:pk>/modifier/", views.invoice_edit, name="edit"),
    path("<int:pk>/emettre/", views.invoice_issue, name="issue"),
    path("<int:pk>/supprimer/", views.invoice_delete, name="delete"),
    path("<int:pk>/envoyer/", views.invoice_send, name="send"),
    path("<int:pk>/paiements/", views.payment_create, name="payment"),
    path("<int:pk>/avoirs/", views.credit_note_create, name="credit_note"),
    path("<int:pk>/facture.pdf", views.invoice_pdf, name="pdf"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/nouveau/", views.product_edit, name="product_create"),
    path("catalogue/<int:pk>/modifier/", views.product_edit, name="product_edit"),
    path("catalogue/<int:pk>/prix/", views.price_add, name="price_add"),
    path("parametres/", views.settings_edit, name="settings"),
]

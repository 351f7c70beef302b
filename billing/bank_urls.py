"""URLs of the bank statements (/staff/facturation/banque/): billing.edit."""

from django.urls import URLPattern, path

from billing import bank_views as views

app_name = "billing-bank"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("releves/<int:pk>/", views.statement_detail, name="statement"),
    path("releves/<int:pk>/confirmer/", views.confirm, name="confirm"),
    path("lignes/<int:pk>/enregistrer/", views.record, name="record"),
    path("lignes/<int:pk>/ignorer/", views.ignore, name="ignore"),
    path("lignes/<int:pk>/retablir/", views.restore, name="restore"),
]

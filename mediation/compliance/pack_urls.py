"""The CECMC compliance pack's staff page, mounted at /staff/conformite/dossier/."""

from django.urls import path

from mediation.compliance import pack_views as views

app_name = "pack"
urlpatterns = [
    path("", views.pack_index, name="index"),
    path("financement/", views.funding_save, name="funding"),
]

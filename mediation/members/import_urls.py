"""The member import and the SIRENE lookup, mounted at /staff/adherents/import/."""

from django.urls import path

from mediation.members import import_views as views

app_name = "members-import"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("nouveau/", views.import_new, name="new"),
    path("modele.csv", views.import_model_csv, name="model_csv"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/progression/", views.import_progress, name="progress"),
    path("<int:pk>/confirmer/", views.import_confirm, name="confirm"),
    path("<int:pk>/erreurs.csv", views.import_errors_csv, name="errors_csv"),
    path("sirene/<str:siren>/", views.sirene_lookup, name="sirene"),
]

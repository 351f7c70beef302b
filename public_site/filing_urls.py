from django.urls import path

from public_site import filing_views as views

app_name = "filing"
urlpatterns = [
    path("", views.start, name="start"),
    path("coordonnees/", views.you, name="you"),
    path("litige/", views.dispute, name="dispute"),
    path("documents/", views.documents, name="documents"),
    path("verification/", views.review, name="review"),
    path("envoyee/", views.done, name="done"),
    path("reprendre/<str:token>/", views.resume, name="resume"),
    path("modele-de-reclamation/", views.model_letter, name="model_letter"),
]

"""Joining the firm online, mounted at /adherer/ (no login)."""

from django.urls import path

from public_site import joining_views as views

app_name = "joining"
urlpatterns = [
    path("", views.start, name="start"),
    path("coordonnees/", views.details, name="details"),
    path("offre/", views.offer, name="offer"),
    path("convention/", views.convention, name="convention"),
    path("confirmation/", views.done, name="done"),
    path("proposition/<str:token>/", views.proposal, name="proposal"),
    path("proposition/<str:token>/pdf/", views.proposal_pdf, name="proposal_pdf"),
]

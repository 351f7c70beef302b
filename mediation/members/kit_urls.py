"""The staff kit pages of a member, mounted at /staff/adherents/kit/."""

from django.urls import path

from mediation.members import kit_views

app_name = "kit"
urlpatterns = [
    path("<int:member_pk>/", kit_views.kit_page, name="page"),
    path("<int:member_pk>/certificat.pdf", kit_views.certificate, name="certificate"),
    path("<int:member_pk>/affiche-a4.pdf", kit_views.poster, {"size": "A4"}, name="poster_a4"),
    path("<int:member_pk>/affiche-a5.pdf", kit_views.poster, {"size": "A5"}, name="poster_a5"),
    path("<int:member_pk>/revoquer-badge/", kit_views.revoke, name="revoke"),
]

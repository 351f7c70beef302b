"""The member portal, mounted at /espace-adherent/, and the staff's portal-access buttons under staff/."""

from django.urls import path

from mediation.members import portal_views as views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("fiche/", views.details, name="details"),
    path("fiche/modifier/", views.details_edit, name="details_edit"),
    path("contacts/", views.contacts, name="contacts"),
    path("contacts/<int:pk>/modifier/", views.contact_edit, name="contact_edit"),
    path("kit/", views.kit_page, name="kit"),
    path("kit/certificat.pdf", views.kit_certificate, name="kit_certificate"),
    path("kit/affiche-<str:size>.pdf", views.kit_poster, name="kit_poster"),
    path("dossiers/", views.cases, name="cases"),
    path("dossiers/<str:reference>/repondre/", views.case_answer, name="case_answer"),
    # Staff (members.edit): open or close the portal for a member's contacts, from the member's page.
    path("staff/<int:member_pk>/acces/", views.staff_grant, name="grant"),
    path("staff/<int:member_pk>/acces/<int:pk>/revoquer/", views.staff_revoke, name="revoke"),
]

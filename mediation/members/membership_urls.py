"""The membership staff pages, mounted at /staff/adherents/adhesions/."""

from django.urls import path

from mediation.members import membership_views as views

app_name = "membership"
urlpatterns = [
    path("", views.index, name="index"),
    path("tarifs/", views.tariff_list, name="tariffs"),
    path("tarifs/nouveau/", views.tariff_create, name="tariff_create"),
    path("conventions/", views.convention_list, name="conventions"),
    path("conventions/nouvelle/", views.convention_publish, name="convention_publish"),
    path("conventions/<int:version>/", views.convention_detail, name="convention"),
    path("<int:member_pk>/", views.member_membership, name="member"),
    path("<int:member_pk>/proposition/", views.proposal_create, name="proposal_create"),
    path("<int:member_pk>/propositions/<int:proposal_pk>/pdf/", views.proposal_pdf, name="proposal_pdf"),
    path("<int:member_pk>/acceptations/<int:acceptance_pk>/pdf/", views.acceptance_pdf, name="acceptance_pdf"),
    path("<int:member_pk>/periodes/<int:membership_pk>/payee/", views.membership_paid, name="paid"),
    path("<int:member_pk>/renouveler/", views.renew, name="renew"),
    path("<int:member_pk>/resilier/", views.terminate, name="terminate"),
    path("<int:member_pk>/statut/", views.status_change, name="status"),
]

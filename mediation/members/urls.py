"""The member businesses' staff pages, mounted at /staff/adherents/."""

from django.urls import path

from mediation.members import views

app_name = "members"
urlpatterns = [
    path("", views.member_list, name="list"),
    path("export.csv", views.member_export_csv, name="export_csv"),
    path("export.xlsx", views.member_export_xlsx, name="export_xlsx"),
    path("nouveau/", views.member_create, name="create"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/modifier/", views.member_edit, name="edit"),
    path("<int:pk>/contacts/nouveau/", views.contact_create, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/modifier/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/supprimer/", views.contact_remove, name="contact_remove"),
    path("groupements/", views.group_list, name="groups"),
    path("groupements/nouveau/", views.group_create, name="group_create"),
    path("groupements/<int:pk>/modifier/", views.group_edit, name="group_edit"),
]

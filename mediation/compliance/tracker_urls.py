"""The CECMC filing tracker's staff pages, mounted at /staff/conformite/obligations/."""

from django.urls import path

from mediation.compliance import tracker_views as views

app_name = "tracker"
urlpatterns = [
    path("", views.obligation_list, name="list"),
    path("nouvelle/", views.obligation_create, name="create"),
    path("<int:pk>/", views.obligation_detail, name="detail"),
    path("<int:pk>/modifier/", views.obligation_edit, name="edit"),
    path("<int:pk>/faite/", views.obligation_done, name="done"),
    path("<int:pk>/sans-objet/", views.obligation_cancel, name="cancel"),
    path("<int:pk>/rouvrir/", views.obligation_reopen, name="reopen"),
    path("<int:pk>/documents/", views.document_add, name="document_add"),
    path("<int:pk>/documents/<int:document_pk>/", views.document_download, name="document"),
]

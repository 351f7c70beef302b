"""The cases' staff pages, mounted at /staff/dossiers/."""

from django.urls import path

from mediation.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("attribuer/", views.bulk_assign, name="bulk_assign"),
    path("nouveau/", views.new_postal, name="new_postal"),
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/action/<slug:action>/", views.case_action, name="action"),
    path("<str:reference>/pieces/<int:pk>/", views.document_download, name="document"),
]

"""The public site's settings in the staff area, mounted at /staff/cabinet/site/ (admins: firm.settings)."""

from django.urls import path

from firm import site_views as views

app_name = "site-admin"
urlpatterns = [
    path("", views.checklist, name="checklist"),
    path("textes/", views.texts, name="texts"),
    path("secteurs/", views.coverage_list, name="coverages"),
    path("secteurs/nouveau/", views.coverage_create, name="coverage_create"),
    path("secteurs/<int:pk>/modifier/", views.coverage_edit, name="coverage_edit"),
    path("secteurs/<int:pk>/supprimer/", views.coverage_delete, name="coverage_delete"),
    path("reseaux/", views.network_list, name="networks"),
    path("reseaux/nouveau/", views.network_create, name="network_create"),
    path("reseaux/<int:pk>/modifier/", views.network_edit, name="network_edit"),
    path("reseaux/<int:pk>/supprimer/", views.network_delete, name="network_delete"),
    path("pages/", views.page_list, name="pages"),
    path("pages/<str:kind>/<str:language>/", views.page_edit, name="page_edit"),
    path("actualites/", views.news_list, name="news"),
    path("actualites/nouvelle/", views.news_create, name="news_create"),
    path("actualites/<int:pk>/", views.news_edit, name="news_edit"),
    path("actualites/<int:pk>/supprimer/", views.news_delete, name="news_delete"),
    path("rapports/", views.reports, name="reports"),
    path("rapports/<int:year>/retirer/", views.report_withdraw, name="report_withdraw"),
    path("apercu/", views.preview, name="preview"),
]

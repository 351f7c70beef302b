"""The annual activity report's staff pages, mounted at /staff/rapports/."""

from django.urls import path

from mediation.reports import dashboard_views, views

app_name = "reports"
urlpatterns = [
    path("", views.report_list, name="list"),
    path("tableau-de-bord/", dashboard_views.dashboard_page, name="dashboard"),
    path("<int:year>/", views.year_detail, name="year"),
    path("<int:year>/dossiers/<str:scope>/", views.traced_cases, name="cases"),
    path("<int:year>/modifier/", views.report_edit, name="edit"),
    path("<int:year>/rapport.pdf", views.report_pdf, name="pdf"),
    path("<int:year>/rapport.xlsx", views.report_xlsx, name="xlsx"),
    path("<int:year>/publier/", views.report_publish, name="publish"),
]

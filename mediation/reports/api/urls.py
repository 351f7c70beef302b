"""/api/v1/reports/: the annual reports and the figures of a period (see views.py)."""

from django.urls import path

from mediation.reports.api import views

app_name = "reports-api"
urlpatterns = [
    path("", views.ReportListView.as_view(), name="list"),
    path("figures/", views.FiguresView.as_view(), name="figures"),
    path("<int:year>/", views.ReportDetailView.as_view(), name="detail"),
]

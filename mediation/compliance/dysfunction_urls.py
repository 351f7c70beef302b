"""Recurring dysfunctions: thresholds, alerts, letters; mounted at /staff/conformite/dysfonctionnements/."""

from django.urls import path

from mediation.compliance import dysfunction_views as views

app_name = "dysfunctions"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("seuils/", views.settings_edit, name="settings"),
    path("<int:pk>/traiter/", views.alert_close, name="close"),
    path("<int:pk>/lettre/", views.alert_letter, name="letter"),
    path("<int:pk>/lettre.pdf", views.alert_letter_pdf, name="letter_pdf"),
]

from django.urls import path

from mediation.cases import import_views

app_name = "cases-import"
urlpatterns = [
    path("", import_views.import_tickets, name="tickets"),
]

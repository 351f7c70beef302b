"""The renewal run and the dunning letters, mounted at /staff/facturation/renouvellements/."""

from django.urls import path

from billing import renewal_views as views

app_name = "billing-renewals"
urlpatterns = [
    path("", views.renewal_list, name="list"),
    path("lancer/", views.renewal_start, name="start"),
    path("<int:pk>/", views.renewal_detail, name="detail"),
    path("<int:pk>/progression/", views.renewal_progress, name="progress"),
    path("relances/", views.dunning_letters, name="dunning"),
]

"""/staff/cabinet/webhooks/: the firm's webhook endpoints and their delivery log (admins: firm.settings)."""

from django.urls import path

from integrations import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("nouveau/", views.endpoint_create, name="create"),
    path("<int:pk>/", views.endpoint_detail, name="detail"),
    path("<int:pk>/modifier/", views.endpoint_edit, name="edit"),
    path("<int:pk>/supprimer/", views.endpoint_delete, name="delete"),
    path("<int:pk>/secret/", views.endpoint_regenerate_secret, name="regenerate"),
    path("<int:pk>/test/", views.endpoint_ping, name="ping"),
    path("livraisons/<int:pk>/", views.delivery_detail, name="delivery"),
    path("livraisons/<int:pk>/renvoyer/", views.delivery_redeliver, name="redeliver"),
]

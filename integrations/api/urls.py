"""/api/v1/webhooks/: webhook endpoints and deliveries (see views.py)."""

from django.urls import path

from integrations.api import views

app_name = "webhooks-api"
urlpatterns = [
    path("endpoints/", views.EndpointListView.as_view(), name="endpoints"),
    path("endpoints/<int:pk>/", views.EndpointDetailView.as_view(), name="endpoint"),
    path("endpoints/<int:pk>/ping/", views.EndpointPingView.as_view(), name="endpoint-ping"),
    path("deliveries/", views.DeliveryListView.as_view(), name="deliveries"),
    path("deliveries/<int:pk>/", views.DeliveryDetailView.as_view(), name="delivery"),
    path("deliveries/<int:pk>/redeliver/", views.DeliveryRedeliverView.as_view(), name="delivery-redeliver"),
]

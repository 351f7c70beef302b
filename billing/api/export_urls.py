"""/api/v1/exports/: `<export>.<csv|xlsx|txt>` (see export_views.EXPORTS)."""

from django.urls import path

from billing.api.export_views import EXPORT_VIEWS

app_name = "exports-api"
urlpatterns = [path(name, view.as_view(), name=name) for name, view in EXPORT_VIEWS.items()]

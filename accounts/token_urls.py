"""Personal API tokens, mounted at /staff/jetons-api/."""

from django.urls import path

from accounts import token_views

app_name = "api-tokens"
urlpatterns = [
    path("", token_views.token_list, name="list"),
    path("nouveau/", token_views.token_create, name="create"),
    path("<int:pk>/revoquer/", token_views.token_revoke, name="revoke"),
]

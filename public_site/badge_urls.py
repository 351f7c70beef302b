"""The public verification page and live badge of a member business, mounted at /verifier/ on the firm's host."""

from django.urls import path

from public_site import badge_views

app_name = "badge"
urlpatterns = [
    path("<str:token>/", badge_views.verify, name="verify"),
    path("<str:token>/badge.svg", badge_views.badge_image, name="svg"),
]

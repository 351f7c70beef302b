"""Unsubscribing from the firm's news, mounted at /actualites/ on the firm's host."""

from django.urls import path

from public_site import news_views as views

app_name = "news-public"
urlpatterns = [
    path("desabonnement/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

"""News to members by segment, mounted at /staff/adherents/actualites/."""

from django.urls import path

from mediation.members import news_views as views

app_name = "news"
urlpatterns = [
    path("", views.news_list, name="list"),
    path("nouvelle/", views.news_new, name="new"),
    path("<int:pk>/", views.news_detail, name="detail"),
    path("<int:pk>/modifier/", views.news_edit, name="edit"),
    path("<int:pk>/envoyer/", views.news_send, name="send"),
    path("<int:pk>/progression/", views.news_progress, name="progress"),
    path("<int:pk>/relancer/", views.news_resume, name="resume"),
    path("<int:pk>/supprimer/", views.news_delete, name="delete"),
]

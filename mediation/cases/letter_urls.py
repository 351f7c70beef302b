"""The letters' texts, mounted at /staff/courriers/."""

from django.urls import path

from mediation.cases import letter_views

app_name = "letters"
urlpatterns = [
    path("", letter_views.letter_list, name="list"),
    path("<slug:kind>/", letter_views.letter_detail, name="detail"),
    path("<slug:kind>/modifier/", letter_views.letter_edit, name="edit"),
    path("<slug:kind>/reinitialiser/", letter_views.letter_reset, name="reset"),
]

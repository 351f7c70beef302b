from django.urls import path

from public_site import survey_views

app_name = "survey"
urlpatterns = [
    path("<str:token>/", survey_views.survey, name="answer"),
]

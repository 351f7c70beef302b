"""/api/v1/cases/: `<key>` is a case's reference or its numeric id (see views.py)."""

from django.urls import path

from mediation.cases.api.views import (
    ACTION_VIEWS,
    CaseDetailView,
    CaseDocumentsView,
    CaseEventsView,
    CaseListView,
    CaseMessagesView,
)

app_name = "cases-api"
urlpatterns = [
    path("", CaseListView.as_view(), name="list"),
    path("<str:key>/", CaseDetailView.as_view(), name="detail"),
    path("<str:key>/messages/", CaseMessagesView.as_view(), name="messages"),
    path("<str:key>/documents/", CaseDocumentsView.as_view(), name="documents"),
    path("<str:key>/events/", CaseEventsView.as_view(), name="events"),
    *(path(f"<str:key>/{name}/", view.as_view(), name=name) for name, view in ACTION_VIEWS.items()),
]

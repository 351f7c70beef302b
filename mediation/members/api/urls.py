from django.urls import path

from mediation.members.api.views import MemberDetailView, MemberListView

urlpatterns = [
    path("", MemberListView.as_view(), name="api-members"),
    path("<int:pk>/", MemberDetailView.as_view(), name="api-member"),
]

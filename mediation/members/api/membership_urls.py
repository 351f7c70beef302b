"""/api/v1/memberships/: every term of membership (the member's own list is under /api/v1/members/{id}/)."""

from django.urls import path

from mediation.members.api.membership_views import MembershipDetailView, MembershipListView, MembershipMarkPaidView

urlpatterns = [
    path("", MembershipListView.as_view(), name="api-memberships"),
    path("<int:pk>/", MembershipDetailView.as_view(), name="api-membership"),
    path("<int:pk>/mark-paid/", MembershipMarkPaidView.as_view(), name="api-membership-mark-paid"),
]

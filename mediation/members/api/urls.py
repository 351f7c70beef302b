from django.urls import path

from mediation.members.api.contact_views import ContactDetailView, ContactListView
from mediation.members.api.membership_views import MemberMembershipListView, MemberRenewView, MemberTerminateView
from mediation.members.api.views import MemberDetailView, MemberListView

urlpatterns = [
    path("", MemberListView.as_view(), name="api-members"),
    path("<int:pk>/", MemberDetailView.as_view(), name="api-member"),
    path("<int:member_id>/memberships/", MemberMembershipListView.as_view(), name="api-member-memberships"),
    path("<int:member_id>/memberships/renew/", MemberRenewView.as_view(), name="api-member-renew"),
    path("<int:member_id>/memberships/terminate/", MemberTerminateView.as_view(), name="api-member-terminate"),
    path("<int:member_id>/contacts/", ContactListView.as_view(), name="api-member-contacts"),
    path("<int:member_id>/contacts/<int:pk>/", ContactDetailView.as_view(), name="api-member-contact"),
]

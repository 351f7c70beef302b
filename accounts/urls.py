"""Staff management, mounted at /staff/equipe/."""

from django.urls import path

from accounts import views

app_name = "team"
urlpatterns = [
    path("", views.staff_list, name="list"),
    path("inviter/", views.staff_invite, name="invite"),
    path("<int:pk>/role/", views.staff_change_role, name="change_role"),
    path("<int:pk>/desactiver/", views.staff_deactivate, name="deactivate"),
    path("<int:pk>/reactiver/", views.staff_reactivate, name="reactivate"),
    path("invitations/<int:pk>/annuler/", views.invitation_revoke, name="revoke_invitation"),
]

"""The firm's settings pages, mounted at /staff/cabinet/."""

from django.urls import path

from firm import views

app_name = "firm"
urlpatterns = [
    path("", views.profile_edit, name="profile"),
    path("mediateurs/", views.mediator_list, name="mediators"),
    path("mediateurs/nouveau/", views.mediator_create, name="mediator_create"),
    path("mediateurs/<int:pk>/modifier/", views.mediator_edit, name="mediator_edit"),
    path("domaines/", views.domains, name="domains"),
    path("abonnement/", views.subscription, name="subscription"),
    path("abonnement/souscrire/", views.subscription_checkout, name="subscription_checkout"),
    path("abonnement/facturation/", views.subscription_portal, name="subscription_portal"),
]

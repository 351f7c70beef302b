from django.urls import path

from public_site import party_views as views

app_name = "party"
urlpatterns = [
    path("", views.login, name="login"),
    path("code/", views.verify, name="verify"),
    path("deconnexion/", views.logout, name="logout"),
    path("dossiers/", views.case_list, name="cases"),
    path("dossiers/<str:reference>/", views.case_detail, name="case"),
    path("dossiers/<str:reference>/pieces/<int:pk>/", views.document, name="document"),
    path("dossiers/<str:reference>/message/", views.post_message, name="message"),
    path("dossiers/<str:reference>/envoyer-une-piece/", views.upload, name="upload"),
    path("dossiers/<str:reference>/proposition/", views.answer_proposal, name="answer_proposal"),
    path("dossiers/<str:reference>/participation/", views.answer_participation, name="answer_participation"),
    path("dossiers/<str:reference>/retrait/", views.withdraw, name="withdraw"),
]

"""The firm's public information pages (R614-1), mounted at the root of the firm's host."""

from django.urls import path

from firm.models import SitePage
from public_site import site_views as views

app_name = "site"
urlpatterns = [
    path("le-mediateur/", views.mediator, name="mediator"),
    path("saisir-le-mediateur/", views.how_to_file, name="how_to_file"),
    path("rapports/", views.reports, name="reports"),
    path("rapports/<int:year>.pdf", views.report_file, name="report_file"),
    path("verifier-un-professionnel/", views.lookup, name="lookup"),
    path("faq/", views.legal_page, {"kind": SitePage.Kind.FAQ.value}, name="faq"),
    path("mentions-legales/", views.legal_page, {"kind": SitePage.Kind.LEGAL_NOTICE.value}, name="legal_notice"),
    path("donnees-personnelles/", views.legal_page, {"kind": SitePage.Kind.PRIVACY.value}, name="privacy"),
    path("accessibilite/", views.legal_page, {"kind": SitePage.Kind.ACCESSIBILITY.value}, name="accessibility"),
    path("actualites/", views.news, name="news"),
    path("actualites/<slug:slug>/", views.news_post, name="news_post"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    path("robots.txt", views.robots, name="robots"),
]

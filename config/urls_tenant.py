"""URLconf of a firm's host (the firm's schema)."""

from django.contrib import admin
from django.urls import include, path

from accounts.api.views import MeView, StaffListView
from accounts.views import accept_invitation, support_session
from config.urls_common import urlpatterns as common
from firm.api.views import FirmProfileView
from firm.views import logo, theme_stylesheet
from public_site.views import home

urlpatterns = [
    path("", home, name="home"),
    path("deposer/", include("public_site.filing_urls")),
    path("suivi/", include("public_site.party_urls")),
    path("avis/", include("public_site.survey_urls")),
    path("adherer/", include("public_site.joining_urls")),
    path("verifier/", include("public_site.badge_urls")),
    path("actualites/", include("public_site.news_urls")),
    path("", include("public_site.site_urls")),
    path("factures/", include("public_site.invoice_urls")),
    path("espace-adherent/factures/", include("public_site.portal_invoice_urls")),
    path("espace-adherent/", include("mediation.members.portal_urls")),
    path("theme.css", theme_stylesheet, name="firm-theme"),
    path("logo", logo, name="firm-logo"),
    path("accounts/invitation/<str:token>/", accept_invitation, name="accept_invitation"),
    path("accounts/support/<str:token>/", support_session, name="support_session"),
    path("accounts/", include("allauth.urls")),
    path("staff/equipe/", include("accounts.urls")),
    path("staff/jetons-api/", include("accounts.token_urls")),
    path("staff/cabinet/site/", include("firm.site_urls")),
    path("staff/cabinet/webhooks/", include("integrations.urls")),
    path("staff/cabinet/", include("firm.urls")),
    path("staff/adherents/adhesions/", include("mediation.members.membership_urls")),
    path("staff/adherents/import/", include("mediation.members.import_urls")),
    path("staff/adherents/kit/", include("mediation.members.kit_urls")),
    path("staff/adherents/actualites/", include("mediation.members.news_urls")),
    path("staff/adherents/", include("mediation.members.urls")),
    # Before the case pages, whose `<reference>/` would otherwise catch "import/".
    path("staff/dossiers/import/", include("mediation.cases.import_urls")),
    path("staff/dossiers/", include("mediation.cases.urls")),
    path("staff/courriers/", include("mediation.cases.letter_urls")),
    path("staff/facturation/exports/", include("billing.export_urls")),
    path("staff/facturation/banque/", include("billing.bank_urls")),
    path("staff/facturation/renouvellements/", include("billing.renewal_urls")),
    path("staff/facturation/stripe/", include("billing.connect_urls")),
    path("staff/facturation/", include("billing.urls")),
    path("staff/conformite/obligations/", include("mediation.compliance.tracker_urls")),
    path("staff/conformite/dysfonctionnements/", include("mediation.compliance.dysfunction_urls")),
    path("staff/conformite/dossier/", include("mediation.compliance.pack_urls")),
    path("staff/rapports/", include("mediation.reports.urls")),
    path("staff/", include("mediation.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/me/", MeView.as_view(), name="api-me"),
    path("api/v1/firm/", FirmProfileView.as_view(), name="api-firm"),
    path("api/v1/staff/", StaffListView.as_view(), name="api-staff"),
    path("api/v1/members/", include("mediation.members.api.urls")),
    path("api/v1/cases/", include("mediation.cases.api.urls")),
    path("api/v1/webhooks/", include("integrations.api.urls")),
    path("api/v1/memberships/", include("mediation.members.api.membership_urls")),
    path("api/v1/reports/", include("mediation.reports.api.urls")),
    path("api/v1/exports/", include("billing.api.export_urls")),
    path("api/v1/", include("billing.api.urls")),
    *common,
]

handler404 = "core.api.api_not_found"
handler500 = "core.api.api_server_error"

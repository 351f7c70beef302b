from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    """The business core of a firm: members, memberships, cases, CECMC filings."""

    name = "mediation"
    verbose_name = _("Médiation")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The annual activity report (R614-2) and the figures behind it, computed from the cases."""

    name = "mediation.reports"
    label = "reports"
    verbose_name = _("Rapports d'activité")

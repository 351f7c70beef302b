from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """Mediation cases: filing, the legal clock, handling to closure (L612-1 to L612-4, R612-1 to R612-5)."""

    name = "mediation.cases"
    label = "cases"
    verbose_name = _("Dossiers de médiation")

    def ready(self) -> None:
        from mediation.cases import selectors, signals, survey

        signals.case_status_changed.connect(survey.on_status_changed, dispatch_uid="cases.survey")
        signals.case_status_changed.connect(selectors.forget_state_counts, dispatch_uid="cases.state-counts")

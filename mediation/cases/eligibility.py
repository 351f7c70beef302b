"""Whether a request may go on, checked before the consumer writes anything long (L612-2).

`check()` is pure: the filing wizard shows its answers with the way forward;
`services.submit` calls it again so that no other door skips it. A staff
member entering a postal request may still record an ineligible one: the law
then asks the mediator to notify the inadmissibility (L612-2, last paragraph),
which needs the case on file.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from mediation.cases import clock


@dataclass(frozen=True)
class Problem:
    """Why the request cannot go on, and what the consumer can do instead."""

    code: str
    message: str
    way_forward: str


def _problem(code: str) -> Problem:
    # Built on demand so that the texts follow the active language.
    texts = {
        "not_consumer": (
            _("La médiation de la consommation est réservée aux litiges entre un consommateur et un professionnel."),
            _(
                "Pour un litige entre entreprises, adressez-vous au Médiateur des entreprises ; "
                "pour un litige entre particuliers, à un conciliateur de justice (gratuit)."
            ),
        ),
        "no_prior_complaint": (
            _(
                "Vous devez d'abord adresser une réclamation écrite au professionnel "
                "(article L612-2 du code de la consommation)."
            ),
            _(
                "Écrivez au service client du professionnel (courrier ou e-mail) en exposant le problème "
                "et ce que vous demandez ; gardez une copie. S'il ne répond pas ou si sa réponse ne vous satisfait "
                "pas, revenez ici : vous aurez un an à compter de cette réclamation."
            ),
        ),
        "too_late": (
            _(
                "Votre réclamation écrite au professionnel date de plus d'un an : "
                "le médiateur ne peut plus être saisi (article L612-2)."
            ),
            _("Vous pouvez encore vous adresser à un conciliateur de justice (gratuit) ou au tribunal."),
        ),
        "already_examined": (
            _(
                "Un litige déjà examiné ou en cours d'examen par un autre médiateur ou par un tribunal "
                "ne peut pas être soumis au médiateur (article L612-2)."
            ),
            _("Poursuivez la démarche déjà engagée auprès de ce médiateur ou de ce tribunal."),
        ),
        "complaint_in_future": (
            _("La date de la réclamation ne peut pas être dans le futur."),
            _("Indiquez la date à laquelle vous avez écrit au professionnel."),
        ),
    }
    message, way_forward = texts[code]
    return Problem(code, str(message), str(way_forward))


def check(
    *,
    is_consumer: bool | None,
    complained_on: datetime.date | None,
    other_proceedings: bool | None,
    today: datetime.date,
) -> list[Problem]:
    """Every reason the request cannot go on (empty when it may). A missing answer is a problem too."""
    problems: list[Problem] = []
    if is_consumer is False:
        problems.append(_problem("not_consumer"))
    if complained_on is None:
        problems.append(_problem("no_prior_complaint"))
    elif complained_on > today:
        problems.append(_problem("complaint_in_future"))
    elif clock.complaint_too_old(complained_on, today):
        problems.append(_problem("too_late"))
    if other_proceedings:
        problems.append(_problem("already_examined"))
    return problems

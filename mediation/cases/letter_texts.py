"""The default text of every letter, its mandatory mentions, and the engine that renders firm-edited texts.

A letter's subject and body are Django templates rendered on a flat context of
plain values (`VARIABLES`): no model instance reaches a firm-edited template,
which therefore cannot walk the database. The engine has no loader and no tag
library, so `{% include %}`, `{% extends %}` and `{% load %}` fail; `{% debug %}`
is refused on save.

Each letter lists its mandatory mentions (DOMAIN.md): what the law requires it
to say and, where a mention is a value of the case (a date, a reason), the
variable that must appear in the text. Removing such a variable is a form error.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.template import Context, Engine
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Not set by law: the date by which the business is asked to say whether it takes part (the firm may edit it).
BUSINESS_ANSWER_DAYS = 15
# Not set by law: the time the parties get to say whether the accepted solution was carried out.
EXECUTION_ANSWER_DAYS = 30


class Kind:
    """Every letter the firm sends; each has a default French text holding its mandatory mentions."""

    ACKNOWLEDGEMENT = "acknowledgement"
    DOCUMENTS_REQUEST = "documents_request"
    INADMISSIBILITY = "inadmissibility"
    REORIENTATION = "reorientation"
    SEIZURE_CONSUMER = "seizure_consumer"
    SEIZURE_BUSINESS = "seizure_business"
    EXTENSION = "extension"
    PROPOSAL = "proposal"
    CLOSURE = "closure"
    WITHDRAWAL = "withdrawal"
    INTERRUPTION = "interruption"
    BUSINESS_REFUSED = "business_refused"
    NEW_MESSAGE = "new_message"
    EXECUTION_CHECK = "execution_check"


# The variables a letter's text may use; every one is defined for every letter (empty when it does not apply).
VARIABLES: dict[str, Promise] = {
    "reference": _("la référence du dossier"),
    "today": _("la date du courrier"),
    "recipient_name": _("le nom du destinataire"),
    "consumer_name": _("le nom du consommateur"),
    "business_name": _("le nom du professionnel"),
    "firm_name": _("le nom du cabinet"),
    "firm_address": _("l'adresse du cabinet"),
    "firm_email": _("l'adresse e-mail du cabinet"),
    "firm_phone": _("le téléphone du cabinet"),
    "firm_website": _("le site internet du cabinet"),
    "mediator_name": _("le nom du médiateur"),
    "space_url": _("le lien vers l'espace personnel du destinataire"),
    "dispute_subject": _("l'objet du litige"),
    "amount": _("le montant en jeu"),
    "received_on": _("la date de réception de la demande"),
    "admissibility_due_on": _("la date limite pour informer de la recevabilité (3 semaines)"),
    "missing_documents": _("les pièces demandées"),
    "reason_code": _("le code du motif d'irrecevabilité"),
    "reason_label": _("le motif d'irrecevabilité (article L612-2)"),
    "reason_explanation": _("l'explication du motif d'irrecevabilité"),
    "decision_note": _("la précision apportée par le médiateur"),
    "reoriented_to": _("l'organisme vers lequel la demande est réorientée"),
    "reorientation_note": _("la raison de la réorientation"),
    "opened_on": _("la date de la notification de saisine"),
    "outcome_due_on": _("la date limite de l'issue de la médiation (90 jours)"),
    "business_answer_due_on": _("la date limite de réponse du professionnel"),
    "extended_until": _("la nouvelle date limite après prolongation"),
    "extension_reason": _("le motif de la prolongation"),
    "proposal_text": _("la proposition de solution"),
    "proposal_answer_due_on": _("la date limite de réponse à la proposition"),
    "closed_on": _("la date de fin de la médiation"),
    "outcome_label": _("l'issue de la médiation"),
    "closure_note": _("le motif ou la précision de la fin de la médiation"),
    "limitation_until": _("la date jusqu'à laquelle la prescription court au moins (6 mois)"),
    "withdrawn_by": _("la partie qui s'est retirée"),
    "withdrawn_by_you": _("vrai si le destinataire s'est lui-même retiré"),
    "interruption_reason": _("le motif de l'interruption"),
    "execution_check_on": _("la date à laquelle l'exécution de la solution sera vérifiée"),
    "execution_answer_due_on": _("la date limite de réponse sur l'exécution de la solution"),
}


@dataclass(frozen=True)
class Mention:
    """What a letter must say; `variables` are the values of the case that must appear in its text."""

    label: Promise
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class LetterText:
    label: Promise
    subject: Promise
    body: Promise
    mentions: tuple[Mention, ...] = field(default_factory=tuple)


REFERENCE = Mention(_("La référence du dossier"), ("reference",))
SPACE = Mention(_("Comment répondre ou suivre le dossier depuis l'espace personnel"), ("space_url",))
COURT = Mention(_("Le consommateur peut saisir le juge ou un conciliateur de justice"))
LIMITATION_AGAIN = Mention(
    _(
        "La prescription recommence à courir pour au moins six mois, et jusqu'à quelle date "
        "(article 2238 du Code civil)"
    ),
    ("limitation_until",),
)
WITHDRAW_ANY_TIME = Mention(_("Chaque partie peut se retirer de la médiation à tout moment (article R612-2)"))
LIMITATION_SUSPENDED = Mention(
    _("La prescription est suspendue à compter de la notification de saisine (article 2238 du Code civil)"),
    ("opened_on",),
)
NINETY_DAYS = Mention(_("Le délai de 90 jours et sa date (article R612-5)"), ("outcome_due_on",))

DEFAULTS: dict[str, LetterText] = {
    Kind.ACKNOWLEDGEMENT: LetterText(
        label=_("Accusé de réception de la demande"),
        subject=_("Accusé de réception de votre demande de médiation — dossier {{ reference }}"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            'Nous avons bien reçu le {{ received_on|date:"j F Y" }} votre demande de médiation concernant '
            "{{ business_name }}. Elle est enregistrée sous la référence {{ reference }} : merci de la rappeler "
            "dans tous vos échanges avec nous.\n\n"
            "Le médiateur examine d'abord si votre demande est recevable (article L612-2 du Code de la "
            "consommation). Si elle ne peut pas être examinée, vous en serez informé(e) dans un délai de trois "
            "semaines à compter de la réception de votre dossier complet, soit au plus tard le "
            '{{ admissibility_due_on|date:"j F Y" }}.\n\n'
            "La médiation est gratuite pour vous (article L612-1 du Code de la consommation).\n\n"
            "Vous trouverez en pièce jointe une copie de votre demande. Vous pouvez suivre votre dossier, "
            "écrire au médiateur et ajouter des pièces depuis votre espace personnel : {{ space_url }}\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(
            REFERENCE,
            Mention(_("La date de réception de la demande"), ("received_on",)),
            Mention(
                _("Le délai de trois semaines pour informer de la recevabilité, et sa date (article L612-2)"),
                ("admissibility_due_on",),
            ),
            Mention(_("La médiation est gratuite pour le consommateur (article L612-1)")),
        ),
    ),
    Kind.DOCUMENTS_REQUEST: LetterText(
        label=_("Demande de pièces"),
        subject=_("Dossier {{ reference }} : pièces à nous transmettre"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Pour examiner votre demande de médiation (dossier {{ reference }}), le médiateur a besoin des "
            "éléments suivants :\n\n{{ missing_documents }}\n\n"
            "Vous pouvez les déposer depuis votre espace personnel : {{ space_url }}, ou nous les adresser par "
            "courrier en rappelant la référence {{ reference }}.\n\n"
            "Le délai de trois semaines dans lequel le médiateur vous informe de la recevabilité de votre "
            "demande court à compter de la réception de votre dossier complet.\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, Mention(_("La liste des pièces manquantes"), ("missing_documents",)), SPACE),
    ),
    Kind.INADMISSIBILITY: LetterText(
        label=_("Irrecevabilité de la demande"),
        subject=_("Dossier {{ reference }} : votre demande ne peut pas être examinée"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Le médiateur a examiné votre demande de médiation concernant {{ business_name }} "
            "(dossier {{ reference }}). Il ne peut pas la traiter, pour le motif suivant, prévu à "
            "l'article L612-2 du Code de la consommation :\n\n{{ reason_label }}\n\n"
            "{{ reason_explanation }}"
            "{% if decision_note %}\n\n{{ decision_note }}{% endif %}\n\n"
            "Cette décision ne vous prive d'aucun droit : vous pouvez toujours saisir le juge compétent, "
            "ou un conciliateur de justice, gratuitement (www.conciliateurs.fr).\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(
            REFERENCE,
            Mention(_("Le motif d'irrecevabilité, tel que prévu à l'article L612-2"), ("reason_label",)),
            COURT,
        ),
    ),
    Kind.REORIENTATION: LetterText(
        label=_("Réorientation de la demande"),
        subject=_("Dossier {{ reference }} : à qui adresser votre demande"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Votre demande de médiation concernant {{ business_name }} (dossier {{ reference }}) ne relève pas "
            "de notre compétence. Nous vous invitons à l'adresser à :\n\n{{ reoriented_to }}\n\n"
            "{% if reorientation_note %}Pourquoi : {{ reorientation_note }}\n\n{% endif %}"
            "Vous pouvez aussi saisir un conciliateur de justice, gratuitement (www.conciliateurs.fr), "
            "ou le juge compétent.\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(
            REFERENCE,
            Mention(_("À qui s'adresser"), ("reoriented_to",)),
            Mention(_("Pourquoi la demande est réorientée"), ("reorientation_note",)),
        ),
    ),
    Kind.SEIZURE_CONSUMER: LetterText(
        label=_("Notification de saisine au consommateur"),
        subject=_("Dossier {{ reference }} : le médiateur est saisi de votre demande"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Votre demande de médiation concernant {{ business_name }} est recevable : le médiateur est saisi "
            'du dossier {{ reference }} à compter du {{ opened_on|date:"j F Y" }}. Le professionnel en est '
            "informé en même temps que vous.\n\n"
            "- Vous pouvez vous retirer de la médiation à tout moment (article R612-2 du Code de la "
            "consommation) ; le professionnel le peut aussi.\n"
            "- À compter de cette notification, la prescription de votre action en justice est suspendue "
            "(article 2238 du Code civil). Elle recommence à courir, pour une durée qui ne peut être inférieure "
            "à six mois, à compter de la fin de la médiation.\n"
            "- Le médiateur vous fera connaître l'issue de la médiation dans un délai de 90 jours à compter "
            'de cette notification, soit au plus tard le {{ outcome_due_on|date:"j F Y" }} (article R612-5). '
            "Ce délai peut être prolongé si le litige est complexe ; vous en seriez alors informé(e).\n"
            "- Chaque partie peut demander les pièces produites par l'autre et être entendue par le médiateur. "
            "Les échanges de la médiation sont confidentiels.\n"
            "- Le professionnel peut refuser d'entrer en médiation ; vous en seriez alors informé(e).\n\n"
            "Vous pouvez suivre le dossier et écrire au médiateur depuis votre espace personnel : "
            "{{ space_url }}\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, WITHDRAW_ANY_TIME, LIMITATION_SUSPENDED, NINETY_DAYS),
    ),
    Kind.SEIZURE_BUSINESS: LetterText(
        label=_("Notification de saisine au professionnel"),
        subject=_("Dossier {{ reference }} : notification de saisine du médiateur de la consommation"),
        body=_(
            "Madame, Monsieur,\n\n"
            "{{ consumer_name }} a saisi le médiateur de la consommation d'un litige avec {{ business_name }} "
            "(dossier {{ reference }}). La demande est recevable : le médiateur est saisi à compter du "
            '{{ opened_on|date:"j F Y" }}.\n\n'
            "Vous pouvez refuser d'entrer en médiation. Merci de nous indiquer si vous acceptez d'y participer "
            'avant le {{ business_answer_due_on|date:"j F Y" }}, depuis votre espace : {{ space_url }} '
            "(connexion par un code envoyé à votre adresse e-mail), ou par courrier en rappelant la référence "
            "{{ reference }}.\n\n"
            "- Chaque partie peut se retirer de la médiation à tout moment (article R612-2 du Code de la "
            "consommation).\n"
            "- À compter de cette notification, la prescription est suspendue (article 2238 du Code civil) ; "
            "elle recommence à courir, pour une durée qui ne peut être inférieure à six mois, à compter de la "
            "fin de la médiation.\n"
            "- Le médiateur fera connaître l'issue de la médiation dans un délai de 90 jours à compter de cette "
            'notification, soit au plus tard le {{ outcome_due_on|date:"j F Y" }} (article R612-5), sauf '
            "prolongation notifiée aux parties si le litige est complexe.\n"
            "- Chaque partie peut demander les pièces produites par l'autre et être entendue par le médiateur. "
            "Les échanges de la médiation sont confidentiels (article L612-3).\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(
            REFERENCE,
            WITHDRAW_ANY_TIME,
            LIMITATION_SUSPENDED,
            NINETY_DAYS,
            Mention(_("Le professionnel peut refuser d'entrer en médiation")),
            Mention(_("Comment répondre depuis l'espace du professionnel"), ("space_url",)),
            Mention(_("La date limite de réponse du professionnel"), ("business_answer_due_on",)),
        ),
    ),
    Kind.EXTENSION: LetterText(
        label=_("Prolongation du délai"),
        subject=_("Dossier {{ reference }} : prolongation du délai de la médiation"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Le litige entre {{ consumer_name }} et {{ business_name }} (dossier {{ reference }}) est complexe : "
            "le médiateur prolonge le délai dans lequel il fera connaître l'issue de la médiation (article R612-5 "
            "du Code de la consommation).\n\n"
            "Motif : {{ extension_reason }}\n\n"
            'Nouvelle date limite : {{ extended_until|date:"j F Y" }}.\n\n'
            "Vous pouvez suivre le dossier depuis votre espace personnel : {{ space_url }}\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(
            REFERENCE,
            Mention(_("Le motif de la prolongation (litige complexe)"), ("extension_reason",)),
            Mention(_("La nouvelle date limite (article R612-5)"), ("extended_until",)),
        ),
    ),
    Kind.PROPOSAL: LetterText(
        label=_("Proposition de solution"),
        subject=_("Dossier {{ reference }} : proposition de solution du médiateur"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Le médiateur vous adresse sa proposition de solution pour le litige entre {{ consumer_name }} et "
            "{{ business_name }} (dossier {{ reference }}) :\n\n{{ proposal_text }}\n\n"
            "Avant de répondre, veuillez noter (article R612-4 du Code de la consommation) :\n"
            "- vous êtes libre d'accepter ou de refuser cette proposition ;\n"
            "- la participation à la médiation n'exclut pas la possibilité d'un recours devant une juridiction ;\n"
            "- la solution proposée peut être différente de la décision qui serait rendue par un juge ;\n"
            "- si les deux parties l'acceptent, la solution les engage comme un accord entre elles : chacune "
            "s'oblige à l'exécuter, et son exécution peut être demandée au juge ;\n"
            '- vous avez jusqu\'au {{ proposal_answer_due_on|date:"j F Y" }} pour accepter ou refuser ; sans '
            "réponse à cette date, la proposition est considérée comme refusée.\n\n"
            "Pour répondre : depuis votre espace personnel, {{ space_url }}, ou par courrier signé en rappelant "
            "la référence {{ reference }}.\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(
            REFERENCE,
            Mention(_("Le texte de la proposition"), ("proposal_text",)),
            Mention(_("Les parties sont libres d'accepter ou de refuser la proposition")),
            Mention(_("La participation à la médiation n'exclut pas un recours devant une juridiction")),
            Mention(_("La solution peut être différente de la décision d'un juge")),
            Mention(_("L'effet juridique de l'acceptation")),
            Mention(_("Le délai pour accepter ou refuser"), ("proposal_answer_due_on",)),
            SPACE,
        ),
    ),
    Kind.CLOSURE: LetterText(
        label=_("Fin de la médiation"),
        subject=_("Dossier {{ reference }} : fin de la médiation"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "La médiation du litige entre {{ consumer_name }} et {{ business_name }} (dossier {{ reference }}) "
            'a pris fin le {{ closed_on|date:"j F Y" }}.\n\n'
            "Issue : {{ outcome_label }}"
            "{% if closure_note %}\n{{ closure_note }}{% endif %}\n\n"
            "{% if execution_check_on %}"
            'Le {{ execution_check_on|date:"j F Y" }}, nous vous demanderons si la solution a bien été '
            "exécutée.\n\n{% endif %}"
            "La prescription, suspendue depuis la notification de saisine, recommence à courir à compter de ce "
            "jour pour une durée qui ne peut être inférieure à six mois (article 2238 du Code civil), soit au "
            'moins jusqu\'au {{ limitation_until|date:"j F Y" }}. Vous conservez la possibilité de saisir '
            "le juge compétent.\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, Mention(_("L'issue de la médiation"), ("outcome_label",)), LIMITATION_AGAIN),
    ),
    Kind.BUSINESS_REFUSED: LetterText(
        label=_("Refus du professionnel"),
        subject=_("Dossier {{ reference }} : le professionnel refuse la médiation"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "{{ business_name }} a refusé d'entrer en médiation pour le litige qui vous oppose "
            '(dossier {{ reference }}). La médiation prend donc fin le {{ closed_on|date:"j F Y" }}.\n\n'
            "Vous pouvez saisir le juge compétent, ou un conciliateur de justice, gratuitement "
            "(www.conciliateurs.fr).\n\n"
            "La prescription, suspendue depuis la notification de saisine, recommence à courir pour une durée "
            "qui ne peut être inférieure à six mois (article 2238 du Code civil), soit au moins jusqu'au "
            '{{ limitation_until|date:"j F Y" }}.\n\n'
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, Mention(_("Le professionnel a refusé d'entrer en médiation")), COURT, LIMITATION_AGAIN),
    ),
    Kind.WITHDRAWAL: LetterText(
        label=_("Retrait d'une partie"),
        subject=_("Dossier {{ reference }} : fin de la médiation (retrait)"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "{% if withdrawn_by_you %}Vous vous êtes retiré(e) de la médiation{% else %}{{ withdrawn_by }} "
            "s'est retiré(e) de la médiation{% endif %} (dossier {{ reference }}), comme chaque partie peut le "
            "faire à tout moment (article R612-2 du Code de la consommation). La médiation a pris "
            'fin le {{ closed_on|date:"j F Y" }}.\n\n'
            "{% if limitation_until %}La prescription, suspendue depuis la notification de saisine, recommence à "
            "courir pour une durée qui ne peut être inférieure à six mois (article 2238 du Code civil), soit au "
            'moins jusqu\'au {{ limitation_until|date:"j F Y" }}.\n\n{% endif %}'
            "Vous conservez la possibilité de saisir le juge compétent.\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, Mention(_("Qui s'est retiré"), ("withdrawn_by",)), LIMITATION_AGAIN),
    ),
    Kind.INTERRUPTION: LetterText(
        label=_("Interruption de la médiation"),
        subject=_("Dossier {{ reference }} : interruption de la médiation"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Le médiateur met fin à la médiation du litige entre {{ consumer_name }} et {{ business_name }} "
            '(dossier {{ reference }}) le {{ closed_on|date:"j F Y" }}, pour le motif suivant :\n\n'
            "{{ interruption_reason }}\n\n"
            "La prescription, suspendue depuis la notification de saisine, recommence à courir pour une durée "
            "qui ne peut être inférieure à six mois (article 2238 du Code civil), soit au moins jusqu'au "
            '{{ limitation_until|date:"j F Y" }}. Vous conservez la possibilité de saisir le juge compétent.\n\n'
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, Mention(_("Le motif de l'interruption"), ("interruption_reason",)), LIMITATION_AGAIN),
    ),
    Kind.NEW_MESSAGE: LetterText(
        label=_("Nouveau message dans l'espace personnel"),
        subject=_("Dossier {{ reference }} : un nouveau message vous attend"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "Un nouveau message du médiateur vous attend dans votre espace personnel, à propos du dossier "
            "{{ reference }}. Pour le lire, connectez-vous : {{ space_url }}\n\n"
            "Les échanges de la médiation sont confidentiels (article L612-3 du Code de la consommation) : "
            "leur contenu n'est jamais envoyé par e-mail.\n\n"
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, SPACE),
    ),
    Kind.EXECUTION_CHECK: LetterText(
        label=_("Suivi de l'exécution de la solution"),
        subject=_("Dossier {{ reference }} : la solution a-t-elle été exécutée ?"),
        body=_(
            "Bonjour {{ recipient_name }},\n\n"
            "La médiation du litige entre {{ consumer_name }} et {{ business_name }} (dossier {{ reference }}) "
            'a pris fin le {{ closed_on|date:"j F Y" }} : {{ outcome_label }}.\n\n'
            "Merci de nous indiquer si la solution a bien été exécutée, avant le "
            '{{ execution_answer_due_on|date:"j F Y" }}, depuis votre espace personnel : {{ space_url }}\n\n'
            "{{ mediator_name }}\nMédiateur de la consommation — {{ firm_name }}"
        ),
        mentions=(REFERENCE, SPACE, Mention(_("La date limite de réponse"), ("execution_answer_due_on",))),
    ),
}

# What each reason of L612-2 means for the consumer, added under the reason in the letter.
REASON_EXPLANATIONS: dict[str, Promise] = {
    "no_prior_complaint": _(
        "Vous devez d'abord adresser une réclamation écrite au professionnel. Si elle n'aboutit pas, vous "
        "pourrez à nouveau nous saisir, dans un délai d'un an à compter de cette réclamation."
    ),
    "unfounded_or_abusive": _("Les éléments fournis ne permettent pas d'engager une médiation sur cette demande."),
    "already_examined": _(
        "Un même litige ne peut pas être examiné par deux médiateurs, ni par un médiateur et un tribunal."
    ),
    "too_late": _("Votre demande nous est parvenue plus d'un an après votre réclamation écrite au professionnel."),
    "out_of_scope": _("Ce litige ne relève pas du champ de compétence de notre médiateur."),
}

# --- The engine of letter texts ----------------------------------------------------------

ENGINE = Engine(loaders=[], libraries={}, autoescape=False, debug=False)
_VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)")
_FORBIDDEN_TAG_RE = re.compile(r"\{%\s*(debug|load|include|extends|ssi)\b")


class TemplateTextError(ValueError):
    """A letter text that does not compile or render; `args[0]` is the message for the person editing it."""


def render_text(source: str, context: dict[str, Any]) -> str:
    """Renders a letter's subject or body (plain text, not escaped)."""
    return ENGINE.from_string(source).render(Context(context, autoescape=False))


def used_variables(source: str) -> set[str]:
    return set(_VARIABLE_RE.findall(source))


def required_variables(kind: str) -> list[str]:
    seen: list[str] = []
    for mention in DEFAULTS[kind].mentions:
        seen.extend(name for name in mention.variables if name not in seen)
    return seen


def check_text(source: str, *, context: dict[str, Any]) -> str:
    """Compiles and renders `source` on `context`; raises TemplateTextError with a readable message."""
    from django.utils.translation import gettext

    forbidden = _FORBIDDEN_TAG_RE.search(source)
    if forbidden:
        raise TemplateTextError(
            gettext("La balise « %(tag)s » n'est pas autorisée dans un courrier.") % {"tag": forbidden.group(1)}
        )
    unknown = sorted(used_variables(source) - set(VARIABLES))
    if unknown:
        raise TemplateTextError(
            gettext("Variable inconnue : %(names)s. Utilisez une variable de la liste.") % {"names": ", ".join(unknown)}
        )
    try:
        return render_text(source, context)
    except Exception as exc:  # any template error is the editor's to fix, never a 500
        raise TemplateTextError(
            gettext("Le modèle ne peut pas être utilisé : %(error)s") % {"error": str(exc) or type(exc).__name__}
        ) from exc


def sample_context() -> dict[str, Any]:
    """A plausible context on which an edited text is tried before it is saved."""
    today = datetime.date(2026, 3, 2)
    values: dict[str, Any] = {name: "" for name in VARIABLES}
    values.update(
        reference="2026-00042",
        today=today,
        recipient_name="Jeanne Martin",
        consumer_name="Jeanne Martin",
        business_name="Boutique Exemple SARL",
        firm_name="Cabinet de médiation",
        mediator_name="Hélène Dupont",
        space_url="https://cabinet.example.fr/suivi/",
        dispute_subject="Livraison",
        amount="129,90 €",
        received_on=today,
        admissibility_due_on=today + datetime.timedelta(days=21),
        missing_documents="La facture d'achat.",
        reason_code="no_prior_complaint",
        reason_label="Pas de réclamation écrite préalable auprès du professionnel",
        reason_explanation=str(REASON_EXPLANATIONS["no_prior_complaint"]),
        reoriented_to="Médiateur national de l'énergie",
        reorientation_note="Litige relevant du secteur de l'énergie.",
        opened_on=today,
        outcome_due_on=today + datetime.timedelta(days=90),
        business_answer_due_on=today + datetime.timedelta(days=BUSINESS_ANSWER_DAYS),
        extended_until=today + datetime.timedelta(days=120),
        extension_reason="Expertise nécessaire.",
        proposal_text="Remboursement de 129,90 € sous 15 jours.",
        proposal_answer_due_on=today + datetime.timedelta(days=30),
        closed_on=today,
        outcome_label="Accord des parties",
        limitation_until=today + datetime.timedelta(days=184),
        withdrawn_by="Jeanne Martin",
        withdrawn_by_you=False,
        interruption_reason="Un tribunal a été saisi.",
        execution_check_on=today + datetime.timedelta(days=60),
        execution_answer_due_on=today + datetime.timedelta(days=30),
    )
    return values

"""Mediation cases and everything recorded on them.

The state machine is the table `TRANSITIONS` below; `services.py` is the only
writer. Deadlines stored on a case (`admissibility_due_on`, `outcome_due_on`,
`proposal_answer_due_on`, `next_due_on`) are copies computed by the services
from the dates of events (`clock.py`), kept on the row so that the inbox can
sort and filter on them with an index.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mediation.cases import clock


class Status(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    RECEIVED = "received", _("Reçu")
    INCOMPLETE = "incomplete", _("Incomplet (pièces demandées)")
    INADMISSIBLE = "inadmissible", _("Irrecevable")
    REORIENTED = "reoriented", _("Réorienté")
    OPENED = "opened", _("Saisine notifiée")
    IN_MEDIATION = "in_mediation", _("En médiation")
    PROPOSAL_SENT = "proposal_sent", _("Proposition envoyée")
    CLOSED = "closed", _("Clos")
    WITHDRAWN = "withdrawn", _("Retiré")
    INTERRUPTED = "interrupted", _("Interrompu")


TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.RECEIVED}),
    Status.RECEIVED: frozenset(
        {Status.INCOMPLETE, Status.INADMISSIBLE, Status.REORIENTED, Status.OPENED, Status.WITHDRAWN}
    ),
    Status.INCOMPLETE: frozenset({Status.RECEIVED, Status.INADMISSIBLE, Status.REORIENTED, Status.WITHDRAWN}),
    Status.OPENED: frozenset({Status.IN_MEDIATION, Status.CLOSED, Status.WITHDRAWN, Status.INTERRUPTED}),
    Status.IN_MEDIATION: frozenset({Status.PROPOSAL_SENT, Status.CLOSED, Status.WITHDRAWN, Status.INTERRUPTED}),
    Status.PROPOSAL_SENT: frozenset({Status.CLOSED, Status.IN_MEDIATION, Status.WITHDRAWN, Status.INTERRUPTED}),
    Status.INADMISSIBLE: frozenset(),
    Status.REORIENTED: frozenset(),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
    Status.INTERRUPTED: frozenset(),
}
FINAL_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
# Before the seizure: the admissibility clock runs. From the seizure: the 90-day clock runs.
BEFORE_SEIZURE = frozenset({Status.RECEIVED, Status.INCOMPLETE})
IN_PROGRESS = frozenset({Status.OPENED, Status.IN_MEDIATION, Status.PROPOSAL_SENT})
OPEN_STATUSES = BEFORE_SEIZURE | IN_PROGRESS


class InadmissibilityReason(models.TextChoices):
    """The five cases of L612-2, each a code kept in the annual report (R614-2)."""

    NO_PRIOR_COMPLAINT = "no_prior_complaint", _("Pas de réclamation écrite préalable auprès du professionnel")
    UNFOUNDED_OR_ABUSIVE = "unfounded_or_abusive", _("Demande manifestement infondée ou abusive")
    ALREADY_EXAMINED = (
        "already_examined",
        _("Litige déjà examiné ou en cours d'examen par un autre médiateur ou un tribunal"),
    )
    TOO_LATE = "too_late", _("Demande introduite plus d'un an après la réclamation écrite")
    OUT_OF_SCOPE = "out_of_scope", _("Litige hors du champ de compétence du médiateur")


class Outcome(models.TextChoices):
    """How a case that reached the seizure ended (status closed)."""

    AGREEMENT = "agreement", _("Accord des parties")
    PROPOSAL_ACCEPTED = "proposal_accepted", _("Proposition acceptée par les parties")
    PROPOSAL_REFUSED = "proposal_refused", _("Proposition refusée")
    BUSINESS_REFUSED = "business_refused", _("Refus du professionnel d'entrer en médiation")
    FAILURE = "failure", _("Échec de la médiation")


class Party(models.TextChoices):
    """Who acted or who may see: the firm's staff, the consumer, the business, or the system (clock, beat)."""

    STAFF = "staff", _("Équipe de médiation")
    CONSUMER = "consumer", _("Consommateur")
    BUSINESS = "business", _("Professionnel")
    SYSTEM = "system", _("Système")


class Channel(models.TextChoices):
    """Who may read a message or a document (L612-3: a party never sees the other's private exchanges)."""

    INTERNAL = "internal", _("Note interne")
    CONSUMER = "consumer", _("Consommateur ↔ médiateur")
    BUSINESS = "business", _("Professionnel ↔ médiateur")
    ALL = "all", _("Toutes les parties")


# What each party may read. Staff read everything.
VISIBLE_CHANNELS: dict[str, frozenset[str]] = {
    Party.STAFF: frozenset(Channel.values),
    Party.CONSUMER: frozenset({Channel.CONSUMER, Channel.ALL}),
    Party.BUSINESS: frozenset({Channel.BUSINESS, Channel.ALL}),
    Party.SYSTEM: frozenset(Channel.values),
}


class Subject(models.TextChoices):
    """What the dispute is about, as the consumer sees it; counted in the annual report (R614-2)."""

    DELIVERY = "delivery", _("Livraison (retard, non-livraison, colis endommagé)")
    DEFECT = "defect", _("Produit défectueux ou non conforme, garantie")
    SERVICE = "service", _("Prestation de service mal exécutée ou non exécutée")
    BILLING = "billing", _("Facturation, prix, frais")
    REFUND = "refund", _("Remboursement, droit de rétractation")
    CONTRACT = "contract", _("Contrat, résiliation, abonnement")
    QUOTE = "quote", _("Devis, travaux")
    OTHER = "other", _("Autre")


class CaseSequence(models.Model):
    """The last case number handed out in a year: references are `<year>-<number>` without reuse."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("numérotation des dossiers")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Case(models.Model):
    """A consumer's request for mediation against a business (a member of the firm, or not when reoriented)."""

    class Source(models.TextChoices):
        ONLINE = "online", _("En ligne")
        POSTAL = "postal", _("Par courrier")

    class Execution(models.TextChoices):
        """Whether an accepted proposal or agreement was carried out (R614-2: share of proposals followed)."""

        NOT_ASKED = "", _("Non demandé")
        PENDING = "pending", _("En attente de réponse")
        CARRIED_OUT = "carried_out", _("Exécutée")
        NOT_CARRIED_OUT = "not_carried_out", _("Non exécutée")
        NO_ANSWER = "no_answer", _("Sans réponse des parties")

    reference = models.CharField(_("référence"), max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(_("statut"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(_("mode de saisine"), max_length=10, choices=Source.choices, default=Source.ONLINE)

    # The business: a member of the firm; its name is kept as given for requests about a non-member.
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("professionnel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    business_name = models.CharField(_("professionnel (tel que désigné)"), max_length=200, blank=True)

    # The consumer.
    consumer_first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    consumer_last_name = models.CharField(_("nom"), max_length=150, blank=True)
    consumer_email = models.EmailField(_("adresse e-mail"), blank=True)
    consumer_phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    consumer_address = models.CharField(_("adresse postale"), max_length=300, blank=True)
    consumer_postcode = models.CharField(_("code postal"), max_length=10, blank=True)
    consumer_city = models.CharField(_("ville"), max_length=100, blank=True)

    # Eligibility answers (L612-2), given before anything long is written.
    is_consumer = models.BooleanField(_("agit en tant que consommateur"), null=True)
    complained_on = models.DateField(_("date de la réclamation écrite au professionnel"), null=True, blank=True)
    other_proceedings = models.BooleanField(_("litige examiné par un autre médiateur ou un tribunal"), null=True)

    # The dispute.
    subject = models.CharField(_("objet du litige"), max_length=20, choices=Subject.choices, blank=True)
    description = models.TextField(_("description du litige"), blank=True)
    amount_cents = models.PositiveBigIntegerField(_("montant en jeu (centimes)"), null=True, blank=True)
    desired_outcome = models.TextField(_("ce que vous demandez"), blank=True)

    # Who handles it.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("chargé du dossier"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )

    # Dates of the steps (copied from their events; the clock reads them).
    consent_at = models.DateTimeField(_("consentement donné le"), null=True, blank=True)
    received_at = models.DateTimeField(_("reçu le"), null=True, blank=True)
    complete_at = models.DateTimeField(_("dossier complet le"), null=True, blank=True)
    opened_at = models.DateTimeField(_("saisine notifiée le"), null=True, blank=True)
    proposal_sent_at = models.DateTimeField(_("proposition envoyée le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    business_accepted_at = models.DateTimeField(_("accord du professionnel pour la médiation"), null=True, blank=True)

    # Deadlines, computed by the services from the dates above.
    admissibility_due_on = models.DateField(_("recevabilité à notifier avant le"), null=True, blank=True)
    outcome_due_on = models.DateField(_("issue attendue avant le"), null=True, blank=True)
    extended_until = models.DateField(_("délai prolongé jusqu'au"), null=True, blank=True)
    extension_reason = models.TextField(_("motif de la prolongation"), blank=True)
    proposal_answer_due_on = models.DateField(_("réponse à la proposition avant le"), null=True, blank=True)
    next_due_on = models.DateField(_("prochaine échéance"), null=True, blank=True)

    # Decisions.
    inadmissibility_reason = models.CharField(
        _("motif d'irrecevabilité"), max_length=30, choices=InadmissibilityReason.choices, blank=True
    )
    reoriented_to = models.CharField(_("réorienté vers"), max_length=200, blank=True)
    outcome = models.CharField(_("issue"), max_length=20, choices=Outcome.choices, blank=True)
    closed_by_party = models.CharField(_("à l'initiative de"), max_length=10, choices=Party.choices, blank=True)
    closure_note = models.TextField(_("motif"), blank=True)
    proposal_text = models.TextField(_("proposition de solution"), blank=True)
    consumer_answer = models.CharField(_("réponse du consommateur"), max_length=10, blank=True)
    business_answer = models.CharField(_("réponse du professionnel"), max_length=10, blank=True)
    recommendations = models.TextField(
        _("recommandations en équité"), blank=True, help_text=_("Recommandations fondées sur l'équité, le cas échéant.")
    )
    execution = models.CharField(
        _("exécution de la solution"), max_length=20, choices=Execution.choices, blank=True, default=""
    )
    execution_check_on = models.DateField(_("exécution à vérifier le"), null=True, blank=True)

    # Where an imported case came from (e.g. "zendesk:12345"): a second import of the same file skips it.
    external_ref = models.CharField(_("référence d'origine"), max_length=60, blank=True, db_index=True)

    # The consumer's draft can be resumed from a link sent by e-mail (only the hash is kept).
    resume_token_hash = models.CharField(max_length=64, blank=True, db_index=True)

    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        ordering = ("-received_at", "-pk")
        indexes = [
            models.Index(fields=["status", "next_due_on", "id"], name="cases_status_due_idx"),
            models.Index(fields=["next_due_on", "id"], name="cases_due_idx"),
            models.Index(fields=["assignee", "next_due_on"], name="cases_assignee_due_idx"),
            models.Index(fields=["member", "status"], name="cases_member_status_idx"),
            models.Index(fields=["-received_at", "-id"], name="cases_received_idx"),
        ]

    def __str__(self) -> str:
        return self.reference or _("Brouillon n° %(pk)s") % {"pk": self.pk}

    # --- What the case page and the inbox read -----------------------------------

    @property
    def consumer_name(self) -> str:
        return f"{self.consumer_first_name} {self.consumer_last_name}".strip()

    @property
    def business_display(self) -> str:
        return str(self.member) if self.member_id else self.business_name

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def allowed_targets(self) -> frozenset[str]:
        return TRANSITIONS[self.status]

    def days_left(self, today: datetime.date | None = None) -> int | None:
        if self.next_due_on is None:
            return None
        return clock.days_left(self.next_due_on, today or timezone.localdate())

    def urgency(self, today: datetime.date | None = None) -> str:
        return clock.urgency(self.next_due_on, today or timezone.localdate())

    @property
    def limitation_suspended_since(self) -> datetime.date | None:
        """Civil Code 2238: suspended from the notice of seizure while the mediation lasts."""
        return timezone.localdate(self.opened_at) if self.opened_at else None

    @property
    def limitation_runs_again_until(self) -> datetime.date | None:
        """Once the mediation ended after a seizure: the date before which the limitation cannot expire."""
        if self.opened_at and self.closed_at:
            return clock.limitation_runs_again_until_at_least(timezone.localdate(self.closed_at))
        return None


class CaseEvent(models.Model):
    """An append-only line of the case's timeline: who did what, when, from which status to which."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Création")
        STATUS = "status", _("Changement de statut")
        ASSIGNED = "assigned", _("Attribution")
        EXTENDED = "extended", _("Prolongation")
        MESSAGE = "message", _("Message")
        DOCUMENT = "document", _("Pièce")
        LETTER = "letter", _("Courrier")
        BUSINESS_ANSWER = "business_answer", _("Réponse du professionnel")
        PROPOSAL_ANSWER = "proposal_answer", _("Réponse à la proposition")
        EXECUTION = "execution", _("Exécution")
        REMINDER = "reminder", _("Rappel d'échéance")
        UPDATED = "updated", _("Modification")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    before = models.CharField(max_length=20, blank=True)
    after = models.CharField(max_length=20, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    party = models.CharField(max_length=10, choices=Party.choices, default=Party.STAFF)
    note = models.TextField(blank=True)
    # Who may see this line of the timeline (a party never sees internal decisions' notes or the other's channel).
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ALL)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("événements")
        ordering = ("at", "pk")
        indexes = [models.Index(fields=["case", "at"], name="cases_event_case_at_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.before}→{self.after}"


def case_document_path(instance: CaseDocument, filename: str) -> str:
    # The storage is per tenant (media/<schema>/...); a random name never reveals the consumer's file name.
    import secrets

    return f"cases/{instance.case_id}/{secrets.token_hex(16)}"


class CaseDocument(models.Model):
    """A file on a case: a party's evidence, the written complaint, or a letter the firm sent."""

    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("Réclamation écrite au professionnel")
        EVIDENCE = "evidence", _("Pièce justificative")
        LETTER = "letter", _("Courrier du médiateur")
        OTHER = "other", _("Autre")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.EVIDENCE)
    file = models.FileField(_("fichier"), upload_to=case_document_path, max_length=200)
    original_name = models.CharField(_("nom du fichier"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    channel = models.CharField(_("visible par"), max_length=10, choices=Channel.choices, default=Channel.ALL)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    party = models.CharField(max_length=10, choices=Party.choices, default=Party.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pièce")
        verbose_name_plural = _("pièces")
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return self.original_name


class CaseMessage(models.Model):
    """A message on one channel (L612-3: a party reads only its own channel and the one to all parties)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices)
    party = models.CharField(_("auteur"), max_length=10, choices=Party.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ("created_at", "pk")
        indexes = [models.Index(fields=["case", "channel", "created_at"], name="cases_message_channel_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} [{self.channel}] {self.body[:40]}"


class LetterTemplate(models.Model):
    """A firm's own text for one letter; without one, the default text shipped with the product is used."""

    kind = models.CharField(_("courrier"), max_length=40, unique=True)
    subject = models.CharField(_("objet"), max_length=200)
    body = models.TextField(_("texte"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("modèle de courrier")
        verbose_name_plural = _("modèles de courrier")
        ordering = ("kind",)

    def __str__(self) -> str:
        return self.kind


class Letter(models.Model):
    """A letter sent on a case: to whom, the text as sent, its PDF (a CaseDocument) and when it left."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="letters")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="letters")
    kind = models.CharField(_("courrier"), max_length=40)
    recipient = models.CharField(_("destinataire"), max_length=10, choices=Party.choices)
    recipient_email = models.EmailField(blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    document = models.OneToOneField(
        CaseDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="letter"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("courrier envoyé")
        verbose_name_plural = _("courriers envoyés")
        ordering = ("created_at", "pk")
        constraints = [
            # One letter of a kind per recipient per event: a re-run task never sends it twice.
            models.UniqueConstraint(fields=["event", "kind", "recipient"], name="cases_letter_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient}"


class PartyAccess(models.Model):
    """A one-time login code for a party's personal space (consumer or business correspondent) on one e-mail."""

    email = models.EmailField()
    party = models.CharField(max_length=10, choices=Party.choices)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("code de connexion d'une partie")
        indexes = [models.Index(fields=["email", "created_at"], name="cases_access_email_idx")]

    def __str__(self) -> str:
        return f"{self.party}:{self.email}"


def visible_channels(party: str) -> frozenset[str]:
    """The channels `party` may read (messages, documents and timeline lines)."""
    return VISIBLE_CHANNELS[party]


class SatisfactionSurvey(models.Model):
    """The consumer's opinion once the case ended, asked once by e-mail (a link with a secret token)."""

    class Rating(models.IntegerChoices):
        VERY_UNSATISFIED = 1, _("Pas du tout satisfait")
        UNSATISFIED = 2, _("Peu satisfait")
        NEUTRAL = 3, _("Moyennement satisfait")
        SATISFIED = 4, _("Satisfait")
        VERY_SATISFIED = 5, _("Très satisfait")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="survey")
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("satisfaction générale"), choices=Rating.choices, null=True)
    clear_information = models.BooleanField(_("les informations reçues étaient claires"), null=True)
    reasonable_duration = models.BooleanField(_("la durée de traitement était raisonnable"), null=True)
    would_recommend = models.BooleanField(_("recommanderait la médiation"), null=True)
    comment = models.TextField(_("commentaire"), blank=True, max_length=2000)

    class Meta:
        verbose_name = _("questionnaire de satisfaction")
        verbose_name_plural = _("questionnaires de satisfaction")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.rating or '-'}"

"""A firm's invoicing of its member businesses (issue 7). Money is integer cents everywhere.

- `BillingSettings`: one row per firm: payment terms, late-payment mentions,
  proration, dunning delays and letters, the chart of accounts, the firm's
  connected Stripe account.
- Catalogue: `Product` (membership, per-case fee, option) with its VAT rate
  and sales account; `Price` rows with validity dates, optionally for a group
  (groupement / fédération: seed 004). Membership prices by band and
  commitment are `members.Tariff` (the proposals read them too).
- `Invoice` (an invoice or a credit note) with `InvoiceLine`s. A draft may
  change; issuing allocates the next number of its series from the row-locked
  `InvoiceCounter` inside the same transaction, freezes the seller and buyer,
  and stores the PDF (Factur-X). Nothing of an issued invoice changes but its
  settlement (status, paid amount).
- `Payment`: money received for an invoice (card or SEPA through Stripe, bank
  transfer, cheque); `StripeEvent`: every webhook event of the firm's
  connected account, processed once; `StripeCustomer` / `SepaMandate`.
- `BankStatement` / `BankLine`: an imported bank statement matched to invoices.
- `RenewalRun` (the yearly run, with its progress) and `DunningNotice`.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

VAT_RATES = (Decimal("20.00"), Decimal("10.00"), Decimal("5.50"), Decimal("2.10"), Decimal("0.00"))


class BillingSettings(models.Model):
    """The firm's invoicing settings (a single row, pk=1; `billing.services.billing_settings()` reads it)."""

    class Proration(models.TextChoices):
        NONE = "none", _("Année entière, quelle que soit la date de début")
        MONTHLY = "monthly", _("Au prorata des mois commencés")
        DAILY = "daily", _("Au prorata des jours")

    payment_terms_days = models.PositiveSmallIntegerField(
        _("délai de paiement (jours)"), default=30, validators=[MaxValueValidator(60)]
    )
    payment_terms_text = models.CharField(
        _("conditions de paiement"),
        max_length=300,
        default="Paiement à 30 jours date de facture, par carte, prélèvement SEPA ou virement. "
        "Pas d'escompte pour paiement anticipé.",
    )
    late_penalty_text = models.CharField(
        _("pénalités de retard"),
        max_length=300,
        default="Pénalités de retard : taux d'intérêt appliqué par la BCE à son opération de refinancement "
        "la plus récente majoré de 10 points, exigibles dès le lendemain de l'échéance.",
    )
    recovery_indemnity_cents = models.PositiveIntegerField(_("indemnité forfaitaire de recouvrement"), default=4000)
    vat_on_debits = models.BooleanField(
        _("option pour le paiement de la TVA d'après les débits"),
        default=False,
        help_text=_("Mention obligatoire sur les factures de services quand l'option est exercée."),
    )
    vat_exemption_text = models.CharField(
        _("mention d'exonération de TVA"),
        max_length=200,
        blank=True,
        help_text=_("Par exemple « TVA non applicable, art. 293 B du CGI » pour une franchise en base."),
    )
    proration = models.CharField(
        _("début en cours d'année"), max_length=10, choices=Proration.choices, default=Proration.NONE
    )
    renewal_lead_days = models.PositiveSmallIntegerField(
        _("facturer le renouvellement (jours avant l'échéance)"), default=30, validators=[MaxValueValidator(120)]
    )
    # Dunning: reminders after the due date, then coverage suspended.
    first_reminder_days = models.PositiveSmallIntegerField(_("première relance (jours après l'échéance)"), default=7)
    second_reminder_days = models.PositiveSmallIntegerField(_("seconde relance (jours après l'échéance)"), default=30)
    suspend_after_days = models.PositiveSmallIntegerField(
        _("suspension de la couverture (jours après l'échéance)"), default=45
    )
    first_reminder_subject = models.CharField(_("objet de la première relance"), max_length=200, blank=True)
    first_reminder_body = models.TextField(_("texte de la première relance"), blank=True)
    second_reminder_subject = models.CharField(_("objet de la seconde relance"), max_length=200, blank=True)
    second_reminder_body = models.TextField(_("texte de la seconde relance"), blank=True)
    # Chart of accounts and journals (FEC).
    account_customers = models.CharField(_("compte clients"), max_length=20, default="411000")
    account_sales = models.CharField(_("compte de produits par défaut"), max_length=20, default="706000")
    account_vat = models.CharField(_("compte de TVA collectée"), max_length=20, default="445710")
    account_bank = models.CharField(_("compte de banque"), max_length=20, default="512000")
    journal_sales = models.CharField(_("journal des ventes"), max_length=10, default="VE")
    journal_bank = models.CharField(_("journal de banque"), max_length=10, default="BQ")
    # The firm's own Stripe account, connected to the platform (Stripe Connect).
    stripe_account_id = models.CharField(_("compte Stripe connecté"), max_length=64, blank=True)
    stripe_charges_enabled = models.BooleanField(default=False)
    stripe_payouts_enabled = models.BooleanField(default=False)
    stripe_details_submitted = models.BooleanField(default=False)
    stripe_synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("paramètres de facturation")
        verbose_name_plural = _("paramètres de facturation")

    def __str__(self) -> str:
        return str(_("Paramètres de facturation"))


# --- Catalogue -------------------------------------------------------------------------------------


class Product(models.Model):
    class Kind(models.TextChoices):
        MEMBERSHIP = "membership", _("Adhésion")
        CASE_FEE = "case_fee", _("Frais de dossier")
        OPTION = "option", _("Option")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("libellé"), max_length=200)
    kind = models.CharField(_("nature"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    vat_rate = models.DecimalField(
        _("taux de TVA (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("20.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    account = models.CharField(_("compte de produits"), max_length=20, blank=True, help_text=_("Vide : 706000."))
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("produit")
        verbose_name_plural = _("produits")
        ordering = ("kind", "name")

    def __str__(self) -> str:
        return self.name


class Price(models.Model):
    """A product's unit price excluding VAT from `valid_from` (until `valid_until`), for everyone or for a group."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    group = models.ForeignKey(
        "members.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("groupement")
    )
    unit_price_cents = models.PositiveIntegerField(_("prix unitaire HT (centimes)"))
    valid_from = models.DateField(_("valable à partir du"))
    valid_until = models.DateField(_("valable jusqu'au"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("prix")
        verbose_name_plural = _("prix")
        ordering = ("product", "group", "-valid_from")
        indexes = [models.Index(fields=["product", "valid_from"], name="billing_price_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.product} {self.unit_price_cents}"


# --- Invoices and credit notes ---------------------------------------------------------------------


class Series(models.TextChoices):
    INVOICE = "F", _("Factures")
    CREDIT_NOTE = "A", _("Avoirs")


class InvoiceCounter(models.Model):
    """The last number used in a series and year; locked (SELECT … FOR UPDATE) by the issuing transaction."""

    series = models.CharField(max_length=2, choices=Series.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="billing_counter_series_year")]

    def __str__(self) -> str:
        return f"{self.series}{self.year}:{self.last_number}"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Facture")
        CREDIT_NOTE = "credit_note", _("Avoir")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        ISSUED = "issued", _("Émise")
        PARTLY_PAID = "partly_paid", _("Partiellement payée")
        PAID = "paid", _("Payée")
        # Settled by credit notes (in full, or with payments): nothing left to pay.
        CREDITED = "credited", _("Annulée par avoir")

    class Purpose(models.TextChoices):
        MEMBERSHIP = "membership", _("Adhésion")
        CASE_FEE = "case_fee", _("Frais de dossier")
        OTHER = "other", _("Autre")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    status = models.CharField(_("statut"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    purpose = models.CharField(_("objet"), max_length=12, choices=Purpose.choices, default=Purpose.OTHER)
    # Allocated when issued: "<prefix><series><year>-<000001>"; null for a draft.
    number = models.CharField(_("numéro"), max_length=40, unique=True, null=True, blank=True)
    series = models.CharField(max_length=2, choices=Series.choices, default=Series.INVOICE)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="invoices")
    membership = models.ForeignKey(
        "members.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    # The case whose per-case fee this invoice bills (cases do not import billing: a plain id).
    case_id = models.BigIntegerField(null=True, blank=True)
    # The invoice a credit note corrects.
    credited_invoice = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    # The period of service billed (for a membership, one year or the whole term); Factur-X delivery dates.
    period_start = models.DateField(_("période du"), null=True, blank=True)
    period_end = models.DateField(_("période au"), null=True, blank=True)
    issue_date = models.DateField(_("date d'émission"), null=True, blank=True)
    due_date = models.DateField(_("échéance"), null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    # Who is billed and by whom, frozen when issued (name, address, SIREN, VAT number, e-mail...).
    seller = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)
    # Mentions frozen when issued (payment terms, penalties, VAT on debits...).
    mentions = models.JSONField(default=dict, blank=True)
    notes = models.TextField(_("mentions particulières"), blank=True)
    net_cents = models.BigIntegerField(_("total HT"), default=0)
    vat_cents = models.BigIntegerField(_("TVA"), default=0)
    gross_cents = models.BigIntegerField(_("total TTC"), default=0)
    # Money received (payments) and corrected (issued credit notes) for an invoice.
    paid_cents = models.BigIntegerField(_("payé"), default=0)
    credited_cents = models.BigIntegerField(_("avoirs"), default=0)
    paid_at = models.DateTimeField(_("soldée le"), null=True, blank=True)
    pdf = models.FileField(upload_to="billing/invoices/", max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    # A secret for the payment link in the invoice e-mail (only its hash is kept).
    pay_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("facture")
        verbose_name_plural = _("factures")
        ordering = ("-issue_date", "-sequence", "-pk")
        constraints = [
            # A membership period is billed once, whatever re-runs the renewal; a case's fee once.
            models.UniqueConstraint(
                fields=["membership", "period_start"],
                condition=Q(kind="invoice", purpose="membership"),
                name="billing_invoice_membership_period_once",
            ),
            models.UniqueConstraint(
                fields=["case_id"], condition=Q(kind="invoice", purpose="case_fee"), name="billing_invoice_case_once"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False, issue_date__isnull=False),
                name="billing_invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice") | Q(credited_invoice__isnull=False),
                name="billing_credit_note_has_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="billing_invoice_due_idx"),
            models.Index(fields=["member", "-issue_date"], name="billing_invoice_member_idx"),
            models.Index(fields=["issue_date"], name="billing_invoice_issue_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def balance_cents(self) -> int:
        """What is left to pay on an issued invoice (0 for a draft or a credit note)."""
        if self.is_draft or self.is_credit_note:
            return 0
        return max(self.gross_cents - self.paid_cents - self.credited_cents, 0)

    def is_overdue(self, today: Any = None) -> bool:
        today = today or timezone.localdate()
        return bool(
            self.status in (self.Status.ISSUED, self.Status.PARTLY_PAID)
            and self.due_date
            and self.due_date < today
            and self.balance_cents > 0
        )


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(_("désignation"), max_length=300)
    quantity = models.DecimalField(_("quantité"), max_digits=10, decimal_places=2, default=Decimal(1))
    unit_price_cents = models.BigIntegerField(_("prix unitaire HT (centimes)"))
    vat_rate = models.DecimalField(_("taux de TVA (%)"), max_digits=5, decimal_places=2, default=Decimal("20.00"))
    # quantity × unit price, rounded half up to the cent; VAT is computed per rate on the invoice.
    net_cents = models.BigIntegerField(_("montant HT"), default=0)
    account = models.CharField(_("compte de produits"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("ligne de facture")
        verbose_name_plural = _("lignes de facture")
        ordering = ("invoice", "position", "pk")

    def __str__(self) -> str:
        return self.label


class Payment(models.Model):
    class Method(models.TextChoices):
        CARD = "card", _("Carte bancaire")
        SEPA_DEBIT = "sepa_debit", _("Prélèvement SEPA")
        TRANSFER = "transfer", _("Virement")
        CHEQUE = "cheque", _("Chèque")
        OTHER = "other", _("Autre")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount_cents = models.BigIntegerField(_("montant"), validators=[MinValueValidator(1)])
    method = models.CharField(_("moyen de paiement"), max_length=12, choices=Method.choices)
    received_on = models.DateField(_("reçu le"))
    reference = models.CharField(_("référence"), max_length=200, blank=True)
    # A Stripe PaymentIntent is recorded once (replayed webhooks change nothing).
    stripe_payment_intent = models.CharField(max_length=64, null=True, blank=True, unique=True)
    bank_line = models.OneToOneField(
        "BankLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="payment"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        ordering = ("-received_on", "-pk")
        indexes = [models.Index(fields=["received_on"], name="billing_payment_received_idx")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.amount_cents}"


class DunningNotice(models.Model):
    """A reminder sent for an overdue invoice, or the suspension of coverage: each once per invoice."""

    class Level(models.TextChoices):
        FIRST = "first", _("Première relance")
        SECOND = "second", _("Seconde relance")
        SUSPENDED = "suspended", _("Couverture suspendue")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="dunning_notices")
    level = models.CharField(max_length=10, choices=Level.choices)
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("relance")
        verbose_name_plural = _("relances")
        ordering = ("invoice", "sent_at")
        constraints = [models.UniqueConstraint(fields=["invoice", "level"], name="billing_dunning_once")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.level}"


# --- Stripe (the firm's connected account) ----------------------------------------------------------


class StripeCustomer(models.Model):
    """The Stripe customer of a member in the firm's connected account."""

    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, related_name="stripe_customer")
    stripe_account_id = models.CharField(max_length=64)
    customer_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("client Stripe")
        verbose_name_plural = _("clients Stripe")

    def __str__(self) -> str:
        return self.customer_id


class SepaMandate(models.Model):
    """A SEPA Direct Debit mandate a member gave through Checkout, kept to collect its renewals."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Actif")
        PENDING = "pending", _("En attente")
        INACTIVE = "inactive", _("Inactif")

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="sepa_mandates")
    stripe_account_id = models.CharField(max_length=64)
    mandate_id = models.CharField(max_length=64, unique=True)
    payment_method_id = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    iban_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("mandat SEPA")
        verbose_name_plural = _("mandats SEPA")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.mandate_id


class CheckoutSession(models.Model):
    """A Stripe Checkout opened to pay an invoice (the webhook finds the invoice through it)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="checkout_sessions")
    session_id = models.CharField(max_length=80, unique=True)
    stripe_account_id = models.CharField(max_length=64)
    amount_cents = models.BigIntegerField()
    url = models.URLField(max_length=1000)
    status = models.CharField(max_length=20, default="open")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.session_id


class StripeEvent(models.Model):
    """Every webhook event of the firm's connected account, stored once with its processing status."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Reçu")
        PROCESSED = "processed", _("Traité")
        FAILED = "failed", _("En échec")
        IGNORED = "ignored", _("Ignoré")

    stripe_id = models.CharField(max_length=80, unique=True)
    type = models.CharField(max_length=100)
    account = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("événement Stripe")
        verbose_name_plural = _("événements Stripe")
        ordering = ("-received_at",)

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


# --- Bank statements -------------------------------------------------------------------------------


class BankStatement(models.Model):
    filename = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("relevé bancaire")
        verbose_name_plural = _("relevés bancaires")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.filename


class BankLine(models.Model):
    class Status(models.TextChoices):
        MATCHED = "matched", _("Rapprochée")  # reference and amount agree: proposed for recording
        AMBIGUOUS = "ambiguous", _("À vérifier")  # reference or amount found, not both
        UNMATCHED = "unmatched", _("Non rapprochée")
        RECORDED = "recorded", _("Paiement enregistré")
        IGNORED = "ignored", _("Ignorée")

    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    row = models.PositiveIntegerField()
    booked_on = models.DateField()
    label = models.CharField(max_length=500)
    amount_cents = models.BigIntegerField()
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNMATCHED)
    # The same bank line imported twice (same date, amount, label) is recognised.
    fingerprint = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ("statement", "row")

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount_cents} {self.label[:40]}"


# --- The yearly renewal run ----------------------------------------------------------------------


class RenewalRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Terminé")
        FAILED = "failed", _("En échec")

    run_on = models.DateField(_("date du traitement"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("traitement des renouvellements")
        verbose_name_plural = _("traitements des renouvellements")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.run_on} {self.status}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


def new_token() -> str:
    return secrets.token_urlsafe(32)

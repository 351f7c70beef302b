"""Dunning: reminders for overdue invoices, then the membership's coverage suspended.

Once a day in each firm (`billing.dunning_tasks.daily_dunning`), every issued
invoice with something left to pay past its due date gets, each once
(`DunningNotice`, unique per invoice and level):

- the first reminder at due date + `first_reminder_days` (7 by default), the
  second at + `second_reminder_days` (30); a run that missed days sends only
  the latest reminder due (never the first after the second);
- at + `suspend_after_days` (45), for a membership invoice, the coverage of
  the term it bills is suspended (`services.suspend_for`): the live badge and
  the verification page say "not covered"; paying it (or crediting it) lifts
  the suspension (`services` does it on settlement). The business is told.

The letters are the firm's (`BillingSettings.first_reminder_subject/body`,
`second_…`), French defaults when empty, with placeholders replaced:
`{numero}`, `{montant}` (left to pay), `{montant_ttc}`, `{date_facture}`,
`{echeance}`, `{jours_retard}`, `{lien_paiement}` (a fresh payment link),
`{adherent}`, `{cabinet}`, `{indemnite}`. An unknown placeholder is refused
when the templates are saved and left as typed otherwise.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.permissions import Perm, ensure_perm
from billing import services
from billing.errors import BillingError
from billing.mail import pay_link
from billing.models import BillingSettings, DunningNotice, Invoice
from core import audit
from core.money import format_euros
from firm.selectors import email_identity, firm_profile

logger = logging.getLogger(__name__)

L = DunningNotice.Level
S = Invoice.Status
UNPAID = (S.ISSUED, S.PARTLY_PAID)
PLACEHOLDERS = (
    "numero",
    "montant",
    "montant_ttc",
    "date_facture",
    "echeance",
    "jours_retard",
    "lien_paiement",
    "adherent",
    "cabinet",
    "indemnite",
)
PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
TEMPLATE_FIELDS = ("first_reminder_subject", "first_reminder_body", "second_reminder_subject", "second_reminder_body")


# --- Letters -------------------------------------------------------------------------------------


def default_letters() -> dict[str, str]:
    """The French letters used when the firm left its own empty (translated in the firm's language)."""
    return {
        "first_reminder_subject": _("Rappel : facture {numero} échue le {echeance}"),
        "first_reminder_body": _(
            "Bonjour,\n\n"
            "Sauf erreur de notre part, la facture {numero} du {date_facture} n'est pas réglée : "
            "il reste {montant} à payer, à échéance du {echeance}.\n\n"
            "Vous pouvez la régler en ligne, par carte ou prélèvement SEPA :\n{lien_paiement}\n\n"
            "Si votre règlement nous est parvenu entre-temps, merci de ne pas tenir compte de ce message.\n\n"
            "{cabinet}"
        ),
        "second_reminder_subject": _("Seconde relance : facture {numero} impayée"),
        "second_reminder_body": _(
            "Bonjour,\n\n"
            "Malgré notre premier rappel, la facture {numero} du {date_facture} reste impayée "
            "({montant} à payer, échue depuis {jours_retard} jours).\n\n"
            "Merci de la régler sans délai :\n{lien_paiement}\n\n"
            "Sans règlement, la couverture de votre adhésion par notre service de médiation sera suspendue : "
            "vous ne pourrez plus nous désigner comme médiateur auprès de vos clients. Des pénalités de retard "
            "et l'indemnité forfaitaire pour frais de recouvrement de {indemnite} sont exigibles.\n\n"
            "{cabinet}"
        ),
    }


def _suspension_letter() -> tuple[str, str]:
    return (
        _("Adhésion suspendue : facture {numero} impayée"),
        _(
            "Bonjour,\n\n"
            "La facture {numero} du {date_facture} reste impayée ({montant} à payer, échue depuis "
            "{jours_retard} jours). La couverture de votre adhésion par notre service de médiation est "
            "suspendue à compter de ce jour : vous ne pouvez plus nous désigner comme médiateur de la "
            "consommation tant qu'elle n'est pas réglée.\n\n"
            "Dès réception de votre règlement, la couverture est rétablie :\n{lien_paiement}\n\n"
            "{cabinet}"
        ),
    )


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each known `{placeholder}` replaced; anything else is left as typed."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def unknown_placeholders(template: str) -> list[str]:
    return sorted({name for name in PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})


def letter_values(invoice: Invoice, *, today: datetime.date, token: str) -> dict[str, str]:
    seller = invoice.seller or {}
    indemnity = (invoice.mentions or {}).get("recovery_indemnity_cents")
    return {
        "numero": invoice.number or "",
        "montant": format_euros(invoice.balance_cents),
        "montant_ttc": format_euros(invoice.gross_cents),
        "date_facture": invoice.issue_date.strftime("%d/%m/%Y") if invoice.issue_date else "",
        "echeance": invoice.due_date.strftime("%d/%m/%Y") if invoice.due_date else "",
        "jours_retard": str((today - invoice.due_date).days) if invoice.due_date else "",
        "lien_paiement": pay_link(token) if token else "",
        "adherent": (invoice.buyer or {}).get("name") or invoice.member.legal_name,
        "cabinet": seller.get("name") or firm_profile().legal_name,
        "indemnite": format_euros(int(indemnity)) if indemnity is not None else format_euros(4000),
    }


def letter(level: str, config: BillingSettings) -> tuple[str, str]:
    """(subject, body) templates of a reminder level: the firm's, else the default."""
    if level == L.SUSPENDED:
        return _suspension_letter()
    defaults = default_letters()
    prefix = "first" if level == L.FIRST else "second"
    subject = getattr(config, f"{prefix}_reminder_subject").strip() or defaults[f"{prefix}_reminder_subject"]
    body = getattr(config, f"{prefix}_reminder_body").strip() or defaults[f"{prefix}_reminder_body"]
    return subject, body


def _send(invoice_id: int, level: str, token: str, recipients: list[str], today: datetime.date) -> None:
    invoice = Invoice.objects.select_related("member").get(pk=invoice_id)
    config = services.billing_settings()
    with translation.override(firm_profile().default_language or "fr"):
        subject_template, body_template = letter(level, config)
        values = letter_values(invoice, today=today, token=token)
        subject = " ".join(fill(subject_template, values).split())[:250]
        body = fill(body_template, values)
    from_email, reply_to = email_identity()
    message = EmailMessage(subject, body, from_email, recipients, reply_to=reply_to)
    invoice = services.with_pdf(invoice)
    if invoice.pdf:
        invoice.pdf.open("rb")
        try:
            message.attach(f"{invoice.number}.pdf", invoice.pdf.read(), "application/pdf")
        finally:
            invoice.pdf.close()
    message.send()


# --- The daily run -------------------------------------------------------------------------------------


def reminder_due(days_late: int, config: BillingSettings) -> str | None:
    """The reminder a number of days past the due date calls for (the latest one reached)."""
    if days_late >= config.second_reminder_days:
        return L.SECOND
    if days_late >= config.first_reminder_days:
        return L.FIRST
    return None


def _recipients(invoice: Invoice) -> list[str]:
    return services.billing_emails(invoice.member) or [e for e in (invoice.buyer or {}).get("emails", []) if e]


@transaction.atomic
def notify(*, invoice: Invoice, level: str, today: datetime.date | None = None) -> bool:
    """Sends a reminder (or carries out the suspension) of `level` for an overdue invoice, once.

    False when it was done already, when the invoice is settled meanwhile, or (suspension) when it bills no term.
    """
    today = today or timezone.localdate()
    invoice = Invoice.objects.select_for_update().select_related("member").get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in UNPAID or not invoice.is_overdue(today):
        return False
    done = set(DunningNotice.objects.filter(invoice=invoice).values_list("level", flat=True))
    if level in done or (level == L.FIRST and L.SECOND in done):
        return False
    if level == L.SUSPENDED and not (invoice.purpose == Invoice.Purpose.MEMBERSHIP and invoice.membership_id):
        return False
    recipients = _recipients(invoice)
    try:
        with transaction.atomic():
            DunningNotice.objects.create(invoice=invoice, level=level, recipients=recipients)
    except IntegrityError:  # a concurrent run sent it
        return False
    days_late = (today - invoice.due_date).days if invoice.due_date else 0
    if level == L.SUSPENDED:
        services.suspend_for(
            invoice,
            _("Facture %(number)s impayée %(days)s jours après son échéance.")
            % {"number": invoice.number, "days": days_late},
        )
    token = services.new_payment_token(invoice=invoice)
    audit.record(
        actor=None,
        action="billing.coverage_suspended" if level == L.SUSPENDED else "billing.reminder_sent",
        obj=invoice,
        changes={"level": [None, level], "days_late": [None, days_late], "recipients": [None, recipients]},
    )
    if recipients:
        pk = invoice.pk
        transaction.on_commit(lambda: _send(pk, level, token, recipients, today))
    return True


@dataclass
class DunningResult:
    first: int = 0
    second: int = 0
    suspended: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"first": self.first, "second": self.second, "suspended": self.suspended, "failed": self.failed}


def overdue_invoices(today: datetime.date, config: BillingSettings) -> Any:
    first_step = min(config.first_reminder_days, config.second_reminder_days, config.suspend_after_days)
    return (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE,
            status__in=UNPAID,
            due_date__lte=today - datetime.timedelta(days=max(first_step, 1)),
        )
        .order_by("due_date", "pk")
        .only("pk", "due_date", "purpose", "membership_id")
    )


def daily_dunning(*, today: datetime.date | None = None) -> DunningResult:
    """Reminders and suspensions due today, each invoice in its own transaction (one failure stops nothing)."""
    today = today or timezone.localdate()
    config = services.billing_settings()
    result = DunningResult()
    for invoice in overdue_invoices(today, config).iterator(chunk_size=500):
        assert invoice.due_date is not None  # an issued invoice has one
        days_late = (today - invoice.due_date).days
        steps = []
        reminder = reminder_due(days_late, config)
        if reminder is not None:
            steps.append(reminder)
        if days_late >= config.suspend_after_days and invoice.purpose == Invoice.Purpose.MEMBERSHIP:
            steps.append(L.SUSPENDED)
        for level in steps:
            try:
                if notify(invoice=invoice, level=level, today=today):
                    setattr(result, level, getattr(result, level) + 1)
            except Exception:
                logger.exception("dunning %s of invoice %s failed", level, invoice.pk)
                result.failed += 1
    return result


# --- The firm's letters (staff page) ---------------------------------------------------------------


@transaction.atomic
def save_letters(*, by: Any, values: Mapping[str, str]) -> BillingSettings:
    """Saves the firm's reminder letters (empty = the default); unknown placeholders are refused."""
    ensure_perm(by, Perm.BILLING_EDIT)
    config = BillingSettings.objects.select_for_update().get(pk=services.billing_settings().pk)
    for name in TEMPLATE_FIELDS:
        unknown = unknown_placeholders(values.get(name, ""))
        if unknown:
            raise BillingError(
                _("Champs inconnus : %(names)s. Champs possibles : %(known)s.")
                % {
                    "names": ", ".join(f"{{{n}}}" for n in unknown),
                    "known": ", ".join(f"{{{n}}}" for n in PLACEHOLDERS),
                },
                "unknown_placeholder",
                field=name,
            )
    before = audit.snapshot(config, TEMPLATE_FIELDS)
    for name in TEMPLATE_FIELDS:
        setattr(config, name, (values.get(name) or "").strip())
    config.full_clean()
    config.save(update_fields=[*TEMPLATE_FIELDS, "updated_at"])
    audit.record(
        actor=by,
        action="billing.dunning_letters_saved",
        obj=config,
        changes=audit.diff(before, audit.snapshot(config, TEMPLATE_FIELDS)),
    )
    return config


def notices() -> Any:
    """The latest reminders and suspensions (for the staff page)."""
    return DunningNotice.objects.select_related("invoice__member").order_by("-sent_at", "-pk")

"""Recurring dysfunctions (seed 003, issue 8): the firm's thresholds, detection, alerts and the letter of
recommendations sent to a business.

A business, a sector or a subject is a recurring dysfunction when the requests
received about it (non-draft cases, `received_at` within the last
`window_days` days, today included) reach the firm's threshold. `detect()`
counts them in SQL (one GROUP BY ... HAVING query per scope) and opens an alert,
or refreshes the open one (one open alert per scope and value).

Settings not saved yet: the model's defaults apply, monitoring included (a
firm must spot recurring problems for its annual report, R614-2, so silence is
not the default); the settings page shows them and the first save writes the
row. Monitoring switched off: nothing is detected.

An open alert whose count falls back under its threshold is left as it is:
closing it is the staff's decision, with a note of what was done.

The letter of recommendations (member alerts only) has a default French text
here; the firm's own text is a `LetterTemplate` of kind `LETTER_KIND`, rendered
by the same engine as the case letters (`letter_texts.render_text`) on a flat
context of plain values (`LETTER_VARIABLES`).
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateformat import format as format_date
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from accounts.permissions import Perm, ensure_perm, user_has_perm
from core import audit
from mediation.cases import letter_texts
from mediation.cases.models import Case, LetterTemplate, Status, Subject
from mediation.compliance.models import DysfunctionAlert, DysfunctionSettings
from mediation.compliance.selectors import compliance_staff
from mediation.members.models import Contact, Member

logger = logging.getLogger(__name__)

Scope = DysfunctionAlert.Scope
SETTINGS_FIELDS = ("window_days", "member_threshold", "sector_threshold", "subject_threshold", "is_active")
# Who is told of new alerts (as for the deadline reminders: those who decide on cases).
# How many of a business's subjects the letter names.
MAIN_SUBJECTS = 3


# --- Settings ---------------------------------------------------------------------------------------------------


def current_settings() -> DysfunctionSettings:
    """The firm's thresholds; before the first save, an unsaved row with the model's defaults."""
    found = DysfunctionSettings.objects.filter(pk=DysfunctionSettings.SINGLETON_PK).first()
    return found or DysfunctionSettings(pk=DysfunctionSettings.SINGLETON_PK)


def settings_saved() -> bool:
    return DysfunctionSettings.objects.filter(pk=DysfunctionSettings.SINGLETON_PK).exists()


def can_edit_settings(user: Any) -> bool:
    return user_has_perm(user, Perm.FIRM_SETTINGS) or user_has_perm(user, Perm.REPORTS_EDIT)


@transaction.atomic
def save_settings(*, by: User, values: dict[str, Any]) -> DysfunctionSettings:
    """Writes the thresholds (created on the first save); the change is audited."""
    if not can_edit_settings(by):
        raise PermissionDenied
    row = DysfunctionSettings.objects.select_for_update().filter(pk=DysfunctionSettings.SINGLETON_PK).first()
    before = audit.snapshot(row, SETTINGS_FIELDS) if row else {}
    row = row or DysfunctionSettings(pk=DysfunctionSettings.SINGLETON_PK)
    for name in SETTINGS_FIELDS:
        setattr(row, name, values[name])
    row.full_clean()
    row.save()
    audit.record(
        actor=by,
        action="dysfunction_settings.update",
        obj=row,
        changes=audit.diff(before, audit.snapshot(row, SETTINGS_FIELDS)),
    )
    return row


# --- Detection --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime.date
    end: datetime.date

    @classmethod
    def ending(cls, today: datetime.date, days: int) -> Window:
        return cls(start=today - datetime.timedelta(days=days - 1), end=today)

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        """[start of the first day, start of the day after the last) in the firm's time zone."""
        zone = timezone.get_current_timezone()
        start = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=zone)
        end = datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
        return start, end


@dataclass(frozen=True)
class Finding:
    scope: str
    value: str
    label: str
    count: int
    threshold: int


def received_in(window: Window) -> QuerySet[Case]:
    """The requests received within `window` (never drafts)."""
    start, end = window.bounds()
    return Case.objects.exclude(status=Status.DRAFT).filter(received_at__gte=start, received_at__lt=end)


def findings(window: Window, row: DysfunctionSettings) -> list[Finding]:
    """Every business, sector and subject whose requests within `window` reach its threshold (three queries)."""
    cases = received_in(window)
    found: list[Finding] = []
    by_member = (
        cases.filter(member__isnull=False)
        .values("member_id", "member__legal_name", "member__trade_name")
        .annotate(n=Count("pk"))
        .filter(n__gte=row.member_threshold)
        .order_by("-n", "member_id")
    )
    for line in by_member:
        label = line["member__trade_name"] or line["member__legal_name"]
        found.append(Finding(Scope.MEMBER, str(line["member_id"]), label, line["n"], row.member_threshold))
    sectors = dict(Member.Sector.choices)
    by_sector = (
        cases.filter(member__isnull=False)
        .values("member__sector")
        .annotate(n=Count("pk"))
        .filter(n__gte=row.sector_threshold)
        .order_by("-n", "member__sector")
    )
    for sector_line in by_sector:
        value, count = sector_line["member__sector"], sector_line["n"]
        found.append(Finding(Scope.SECTOR, value, str(sectors.get(value, value)), count, row.sector_threshold))
    subjects = dict(Subject.choices)
    by_subject = (
        cases.exclude(subject="")
        .values("subject")
        .annotate(n=Count("pk"))
        .filter(n__gte=row.subject_threshold)
        .order_by("-n", "subject")
    )
    for subject_line in by_subject:
        value, count = subject_line["subject"], subject_line["n"]
        found.append(Finding(Scope.SUBJECT, value, str(subjects.get(value, value)), count, row.subject_threshold))
    return found


def detect(today: datetime.date | None = None) -> list[DysfunctionAlert]:
    """Opens an alert for every business, sector and subject over its threshold, or refreshes the open one
    (count, threshold, window); returns the alerts opened by this call. Nothing when monitoring is off."""
    today = today or timezone.localdate()
    row = current_settings()
    if not row.is_active:
        return []
    window = Window.ending(today, row.window_days)
    opened = []
    with translation.override(_firm_language()):  # labels are stored in the firm's working language
        for finding in findings(window, row):
            alert, created = _open_or_refresh(finding, window)
            if created:
                opened.append(alert)
    return opened


def _firm_language() -> str:
    from firm.selectors import firm_profile

    return firm_profile().default_language or "fr"


def _open_or_refresh(finding: Finding, window: Window) -> tuple[DysfunctionAlert, bool]:
    fields = {
        "label": finding.label[:200],
        "cases_count": finding.count,
        "threshold": finding.threshold,
        "window_start": window.start,
        "window_end": window.end,
    }
    for _attempt in range(2):
        try:
            with transaction.atomic():
                alert = (
                    DysfunctionAlert.objects.select_for_update()
                    .filter(scope=finding.scope, value=finding.value, closed_at__isnull=True)
                    .first()
                )
                if alert is None:
                    alert = DysfunctionAlert.objects.create(scope=finding.scope, value=finding.value, **fields)
                    audit.record(actor=None, action="dysfunction_alert.open", obj=alert, changes=audit.diff({}, fields))
                    return alert, True
                before = audit.snapshot(alert, fields)
                for name, value in fields.items():
                    setattr(alert, name, value)
                changes = audit.diff(before, audit.snapshot(alert, fields))
                if changes:
                    alert.save(update_fields=list(fields))
                    audit.record(actor=None, action="dysfunction_alert.refresh", obj=alert, changes=changes)
                return alert, False
        except IntegrityError:
            # Another run opened the same alert between our read and our insert: refresh it instead.
            continue
    raise RuntimeError(f"could not open or refresh the {finding.scope} alert {finding.value!r}")


def detect_and_notify(today: datetime.date | None = None) -> list[DysfunctionAlert]:
    """The daily run: detection, then one e-mail to the mediators and admins listing the new alerts (after commit)."""
    with transaction.atomic():
        opened = detect(today)
        if opened:
            pks = [alert.pk for alert in opened]
            transaction.on_commit(lambda: notify_staff(pks))
    return opened


def notify_staff(alert_pks: list[int]) -> int:
    """One e-mail to the firm's mediators and admins listing these alerts; returns the number of recipients."""
    from core.links import firm_site_url
    from firm.selectors import email_identity, firm_profile

    alerts = list(DysfunctionAlert.objects.filter(pk__in=alert_pks).order_by("scope", "-cases_count", "pk"))
    recipients = [user.email for user in compliance_staff()]
    if not alerts or not recipients:
        return 0
    from_email, reply_to = email_identity()
    with translation.override(firm_profile().default_language or "fr"):
        subject = ngettext(
            "Dysfonctionnement récurrent : %(n)d nouvelle alerte",
            "Dysfonctionnements récurrents : %(n)d nouvelles alertes",
            len(alerts),
        ) % {"n": len(alerts)}
        lines = [
            _("- %(scope)s : %(label)s — %(count)d demandes du %(start)s au %(end)s (seuil : %(threshold)d)")
            % {
                "scope": alert.get_scope_display(),
                "label": alert.label,
                "count": alert.cases_count,
                "start": format_date(alert.window_start, "j F Y"),
                "end": format_date(alert.window_end, "j F Y"),
                "threshold": alert.threshold,
            }
            for alert in alerts
        ]
        body = "\n".join(
            [
                _("Bonjour,"),
                "",
                _("Ces professionnels, secteurs ou objets de litige ont atteint le seuil fixé par le cabinet :"),
                "",
                *lines,
                "",
                _("Voir les alertes : %(url)s") % {"url": f"{firm_site_url()}/staff/conformite/dysfonctionnements/"},
                "",
            ]
        )
    EmailMessage(subject, body, from_email, recipients, reply_to=reply_to).send()
    return len(recipients)


# --- Alerts -----------------------------------------------------------------------------------------------------


def open_alerts() -> QuerySet[DysfunctionAlert]:
    return DysfunctionAlert.objects.filter(closed_at__isnull=True).order_by("-detected_at", "-pk")


def closed_alerts() -> QuerySet[DysfunctionAlert]:
    return (
        DysfunctionAlert.objects.filter(closed_at__isnull=False)
        .select_related("closed_by")
        .order_by("-closed_at", "-pk")
    )


def alert_cases(alert: DysfunctionAlert) -> QuerySet[Case]:
    """The requests an alert counts (same window and scope as the detection)."""
    cases = received_in(Window(alert.window_start, alert.window_end))
    if alert.scope == Scope.MEMBER:
        return cases.filter(member_id=int(alert.value)) if alert.value.isdigit() else cases.none()
    if alert.scope == Scope.SECTOR:
        return cases.filter(member__sector=alert.value)
    return cases.filter(subject=alert.value)


def alert_member(alert: DysfunctionAlert) -> Member | None:
    if alert.scope != Scope.MEMBER or not alert.value.isdigit():
        return None
    return Member.objects.filter(pk=int(alert.value)).first()


@transaction.atomic
def close_alert(*, alert: DysfunctionAlert, by: User, note: str) -> DysfunctionAlert:
    """Closes an open alert with what was done; a later detection may open a new one."""
    ensure_perm(by, Perm.CASES_DECIDE)
    alert = DysfunctionAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.closed_at is not None:
        raise ValidationError(_("Cette alerte est déjà traitée."), code="closed")
    note = note.strip()
    if not note:
        raise ValidationError({"note": _("Indiquez la suite donnée à cette alerte.")}, code="required")
    alert.closed_at, alert.closed_by, alert.note = timezone.now(), by, note
    alert.save(update_fields=["closed_at", "closed_by", "note"])
    audit.record(
        actor=by,
        action="dysfunction_alert.close",
        obj=alert,
        changes={"closed_at": [None, alert.closed_at], "note": ["", note]},
    )
    return alert


# --- The letter of recommendations ------------------------------------------------------------------------------

LETTER_KIND = "dysfunction_recommendations"
LETTER_PDF_TEMPLATE = "compliance/dysfunctions/letter_pdf.html"

LETTER_VARIABLES: dict[str, Any] = {
    "today": gettext_lazy("la date du courrier"),
    "business_name": gettext_lazy("le nom du professionnel"),
    "recipient_name": gettext_lazy("le nom du destinataire"),
    "cases_count": gettext_lazy("le nombre de demandes reçues sur la période"),
    "period_start": gettext_lazy("le premier jour de la période"),
    "period_end": gettext_lazy("le dernier jour de la période"),
    "window_days": gettext_lazy("la durée de la période, en jours"),
    "main_subjects": gettext_lazy("les principaux objets des demandes, avec leur nombre"),
    "firm_name": gettext_lazy("le nom du cabinet"),
    "mediator_name": gettext_lazy("le nom du médiateur (signature)"),
}
# What the letter is about: a firm's text that drops the number of requests is refused.
LETTER_REQUIRED = ("cases_count",)

DEFAULT_SUBJECT = gettext_lazy("Recommandations du médiateur de la consommation")
DEFAULT_BODY = gettext_lazy(
    "Madame, Monsieur,\n\n"
    "Entre le {{ period_start|date:'j F Y' }} et le {{ period_end|date:'j F Y' }}, le médiateur de la "
    "consommation a reçu {{ cases_count }} demandes de médiation concernant {{ business_name }}.\n\n"
    "{% if main_subjects %}Elles portent principalement sur : {{ main_subjects }}.\n\n{% endif %}"
    "Ce nombre dépasse le seuil à partir duquel notre cabinet considère qu'un dysfonctionnement récurrent "
    "mérite votre attention. Sans préjuger de l'issue de chaque dossier, nous vous recommandons :\n"
    "- d'examiner le traitement des réclamations de vos clients sur ces points ;\n"
    "- de vérifier l'information donnée aux consommateurs avant et après la vente ;\n"
    "- de désigner un interlocuteur chargé de répondre rapidement aux réclamations écrites.\n\n"
    "Nous restons à votre disposition pour en échanger.\n\n"
    "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.\n\n"
    "{{ mediator_name }}\n"
    "Médiateur de la consommation — {{ firm_name }}"
)

_FORBIDDEN_TAG = re.compile(r"\{%\s*(debug|load|include|extends|ssi)\b")


def letter_texts_for() -> tuple[str, str, bool]:
    """(subject, body, customised): the firm's text when it wrote one, else the default."""
    custom = LetterTemplate.objects.filter(kind=LETTER_KIND).first()
    if custom is not None:
        return custom.subject, custom.body, True
    return str(DEFAULT_SUBJECT), str(DEFAULT_BODY), False


def sample_letter_context() -> dict[str, Any]:
    """Plausible values an edited text is tried on before it is saved."""
    end = datetime.date(2026, 3, 31)
    return {
        "today": end,
        "business_name": "Boutique Exemple SARL",
        "recipient_name": "Lucie Martin",
        "cases_count": 7,
        "period_start": end - datetime.timedelta(days=89),
        "period_end": end,
        "window_days": 90,
        "main_subjects": "Livraison (4), Remboursement (2)",
        "firm_name": "Cabinet de médiation",
        "mediator_name": "Hélène Dupont",
    }


def check_letter_text(source: str, *, required: tuple[str, ...] = ()) -> str:
    """Compiles and renders `source` on the sample values; raises ValidationError with a readable message."""
    forbidden = _FORBIDDEN_TAG.search(source)
    if forbidden:
        raise ValidationError(
            _("La balise « %(tag)s » n'est pas autorisée dans un courrier.") % {"tag": forbidden.group(1)},
            code="invalid_template",
        )
    used = letter_texts.used_variables(source)
    unknown = sorted(used - set(LETTER_VARIABLES))
    if unknown:
        raise ValidationError(
            _("Variable inconnue : %(names)s. Utilisez une variable de la liste.") % {"names": ", ".join(unknown)},
            code="invalid_template",
        )
    missing = [name for name in required if name not in used]
    if missing:
        raise ValidationError(
            _("Variable obligatoire absente : %(names)s.") % {"names": ", ".join("{{ " + n + " }}" for n in missing)},
            code="missing_variable",
        )
    try:
        return letter_texts.render_text(source, sample_letter_context())
    except Exception as exc:  # any template error is the editor's to fix, never a 500
        raise ValidationError(
            _("Le modèle ne peut pas être utilisé : %(error)s") % {"error": str(exc) or type(exc).__name__},
            code="invalid_template",
        ) from exc


@transaction.atomic
def save_letter_template(*, by: User, subject: str, body: str) -> LetterTemplate | None:
    """Stores the firm's text of the letter (checked by the form); None when it is the default text, which is then
    used again (a firm's copy of the default would not follow later improvements of it)."""
    if not can_edit_settings(by):
        raise PermissionDenied
    template = LetterTemplate.objects.select_for_update().filter(kind=LETTER_KIND).first()
    before = {"subject": template.subject, "body": template.body} if template else {}
    if _same_text(subject, str(DEFAULT_SUBJECT)) and _same_text(body, str(DEFAULT_BODY)):
        if template is not None:
            audit.record(actor=by, action="letter_template.reset", obj=template, changes=audit.diff(before, {}))
            template.delete()
        return None
    if before == {"subject": subject, "body": body}:
        return template
    template = template or LetterTemplate(kind=LETTER_KIND)
    template.subject, template.body, template.updated_by = subject, body, by
    template.save()
    audit.record(
        actor=by,
        action="letter_template.update",
        obj=template,
        changes=audit.diff(before, {"subject": subject, "body": body}),
    )
    return template


def _same_text(a: str, b: str) -> bool:
    # A textarea posts CRLF line ends and may drop the last newline.
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def member_contact(member: Member) -> Contact | None:
    """Who receives the letter: as for a case's letters, the mediation correspondent, else the legal
    representative, else any active contact with an e-mail address."""
    contacts = list(Contact.objects.filter(member=member, is_active=True).exclude(email="").order_by("pk"))
    for role in (Contact.Role.MEDIATION_CORRESPONDENT, Contact.Role.LEGAL_REPRESENTATIVE):
        for contact in contacts:
            if role in (contact.roles or []):
                return contact
    return contacts[0] if contacts else None


def _signing_mediator(by: User | None) -> Any:
    from firm.models import Mediator

    profile = getattr(by, "mediator_profile", None) if by is not None else None
    if isinstance(profile, Mediator) and profile.is_active:
        return profile
    return Mediator.objects.filter(is_active=True).order_by("last_name", "first_name", "pk").first()


def main_subjects(alert: DysfunctionAlert) -> str:
    """The business's most frequent subjects in the alert's window, with their counts ("Livraison (4), ...")."""
    labels = dict(Subject.choices)
    rows = (
        alert_cases(alert)
        .exclude(subject="")
        .values("subject")
        .annotate(n=Count("pk"))
        .order_by("-n", "subject")[:MAIN_SUBJECTS]
    )
    return ", ".join(f"{labels.get(row['subject'], row['subject'])} ({row['n']})" for row in rows)


@dataclass
class RecommendationLetter:
    alert: DysfunctionAlert
    member: Member
    contact: Contact | None
    subject: str
    body: str
    html: str
    filename: str


class LetterError(Exception):
    """A letter that cannot be prepared or sent; `args[0]` is the message for the staff member."""


def letter_context(alert: DysfunctionAlert, member: Member, contact: Contact | None, by: User | None) -> dict[str, Any]:
    from firm.selectors import firm_profile

    firm = firm_profile()
    mediator = _signing_mediator(by)
    return {
        "today": timezone.localdate(),
        "business_name": str(member),
        "recipient_name": str(contact) if contact else str(member),
        "cases_count": alert.cases_count,
        "period_start": alert.window_start,
        "period_end": alert.window_end,
        "window_days": (alert.window_end - alert.window_start).days + 1,
        "main_subjects": main_subjects(alert),
        "firm_name": firm.legal_name,
        "mediator_name": str(mediator) if mediator else firm.legal_name,
    }


def render_letter(*, alert: DysfunctionAlert, by: User | None) -> RecommendationLetter:
    """The letter to the alert's business: its texts and the HTML of its PDF. Raises LetterError when the alert is
    not about a business or the business no longer exists."""
    from firm.selectors import firm_profile
    from mediation.cases.letters import branding

    member = alert_member(alert)
    if member is None:
        raise LetterError(_("Cette alerte ne concerne pas un professionnel adhérent : pas de lettre à envoyer."))
    contact = member_contact(member)
    firm = firm_profile()
    with translation.override(firm.default_language or "fr"):
        context = letter_context(alert, member, contact, by)
        subject_source, body_source, customised = letter_texts_for()
        try:
            subject = letter_texts.render_text(subject_source, context)
            body = letter_texts.render_text(body_source, context)
        except Exception:
            if not customised:
                raise
            logger.exception("letter template %s does not render: default text used", LETTER_KIND)
            subject = letter_texts.render_text(str(DEFAULT_SUBJECT), context)
            body = letter_texts.render_text(str(DEFAULT_BODY), context)
        subject = " ".join(subject.split())[:200]
        body = body.strip() + "\n"
        city = f"{member.postcode} {member.city}".strip()
        address = [str(member), str(contact) if contact else "", member.address_line1, member.address_line2, city]
        html = render_to_string(
            LETTER_PDF_TEMPLATE,
            {
                **branding(firm),
                "language": firm.default_language or "fr",
                "title": subject,
                "subject": subject,
                "body": body,
                "today": context["today"],
                "mediator_name": context["mediator_name"],
                "recipient_address": [line for line in address if line],
            },
        )
    filename = f"recommandations-{slugify(str(member))[:60] or member.pk}-{alert.window_end.isoformat()}.pdf"
    return RecommendationLetter(alert, member, contact, subject, body, html, filename)


def send_letter(*, alert: DysfunctionAlert, by: User) -> RecommendationLetter:
    """Renders the letter's PDF and e-mails it to the business's contact; sets `letter_sent_at` (audited).

    No contact with an e-mail address: LetterError, nothing sent. A letter may be sent again (a later, updated
    count): `letter_sent_at` then holds the last sending.
    """
    from core.pdf import html_to_pdf
    from firm.selectors import email_identity

    ensure_perm(by, Perm.CASES_DECIDE)
    letter = render_letter(alert=alert, by=by)
    if letter.contact is None:
        raise LetterError(
            _(
                "%(business)s n'a aucun contact actif avec une adresse e-mail : ajoutez-en un sur sa fiche, "
                "puis envoyez la lettre. Rien n'a été envoyé."
            )
            % {"business": letter.member}
        )
    pdf = html_to_pdf(letter.html)
    email = letter.contact.email
    # As for a case's letters (mediation.cases.letters._send_one), the e-mail leaves inside the transaction that
    # stamps it: a failed sending leaves `letter_sent_at` as it was, never a letter marked sent that did not leave.
    with transaction.atomic():
        locked = DysfunctionAlert.objects.select_for_update().get(pk=alert.pk)
        from_email, reply_to = email_identity()
        message = EmailMessage(letter.subject, letter.body, from_email, [email], reply_to=reply_to)
        message.attach(letter.filename, pdf, "application/pdf")
        message.send()
        before = locked.letter_sent_at
        locked.letter_sent_at = timezone.now()
        locked.save(update_fields=["letter_sent_at"])
        audit.record(
            actor=by,
            action="dysfunction_alert.letter",
            obj=locked,
            changes={"letter_sent_at": [before, locked.letter_sent_at], "recipient": [None, email]},
        )
    alert.letter_sent_at = locked.letter_sent_at
    return letter


def letter_pdf(*, alert: DysfunctionAlert, by: User | None) -> tuple[bytes, str]:
    """The letter's PDF as it would be sent now (for a preview)."""
    from core.pdf import html_to_pdf

    letter = render_letter(alert=alert, by=by)
    return html_to_pdf(letter.html), letter.filename


def window_label(alert: DysfunctionAlert) -> str:
    return _("du %(start)s au %(end)s") % {
        "start": format_date(alert.window_start, "j F Y"),
        "end": format_date(alert.window_end, "j F Y"),
    }

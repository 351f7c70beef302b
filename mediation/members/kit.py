"""The shop-window and website kit of a member business (welcome pack), and its live badge.

R616-1 of the Code de la consommation: the business shows, visibly and
legibly, the name of its mediator and the mediator's website (and address),
on its website, its general terms of sale and in its shop. Every item here is
built from the firm's *current* profile and mediators, so it never goes stale.
The EU ODR platform closed in 2025: no item links to it.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass
from typing import Literal

import segno
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import Perm, ensure_perm
from core import audit
from core.links import firm_site_url
from core.pdf import render_pdf
from firm.models import FirmProfile, Mediator
from firm.selectors import firm_profile
from mediation.members.coverage import Coverage, coverage_of
from mediation.members.models import BadgeToken, Member

PosterSize = Literal["A4", "A5"]
POSTER_SIZES: tuple[str, ...] = ("A4", "A5")
CERTIFICATE_TEMPLATE = "members/kit/certificate_pdf.html"
POSTER_TEMPLATE = "members/kit/poster_pdf.html"
TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters
BADGE_WIDTH = 290
BADGE_HEIGHT = 64


class NotCovered(Exception):
    """A certificate was asked for a business that is not covered today."""

    def __init__(self, member: Member, coverage: Coverage):
        self.member, self.coverage = member, coverage
        super().__init__(
            _("%(name)s n'est pas couvert par le médiateur aujourd'hui (%(reason)s) : pas de certificat d'adhésion.")
            % {"name": member, "reason": coverage.label}
        )


@dataclass(frozen=True)
class FirmDetails:
    """What every kit item shows of the firm and its mediators."""

    name: str
    mediators: list[str]
    website: str
    address: list[str]
    email: str
    phone: str

    @property
    def mediator_names(self) -> str:
        """'A', 'A et B', 'A, B et C'; the firm's name when it lists no active mediator yet."""
        names = self.mediators or [self.name]
        if len(names) == 1:
            return names[0]
        return _("%(first)s et %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}

    @property
    def postal_address(self) -> str:
        return ", ".join([self.name, *self.address])


def active_mediators() -> QuerySet[Mediator]:
    return Mediator.objects.filter(is_active=True).order_by("last_name", "first_name", "pk")


def firm_address(firm: FirmProfile) -> list[str]:
    city = f"{firm.postcode} {firm.city}".strip()
    return [line for line in (firm.address_line1, firm.address_line2, city) if line]


def firm_details() -> FirmDetails:
    firm = firm_profile()
    return FirmDetails(
        name=firm.legal_name or str(firm),
        mediators=[str(m) for m in active_mediators()],
        # The firm's own site when it gave one, else its site on the platform (where consumers file).
        website=firm.website or firm_site_url(),
        address=firm_address(firm),
        email=firm.contact_email,
        phone=firm.contact_phone,
    )


# --- URLs and QR codes -------------------------------------------------------------


def verification_url(token: str) -> str:
    return firm_site_url() + reverse("badge:verify", kwargs={"token": token})


def badge_image_url(token: str) -> str:
    return firm_site_url() + reverse("badge:svg", kwargs={"token": token})


def filing_url(*, member: Member) -> str:
    """The firm's filing form with the business already chosen (`public_site.filing_views`)."""
    return f"{firm_site_url()}{reverse('filing:start')}?{urlencode({'adherent': member.siren})}"


def qr_data_uri(data: str) -> str:
    """An SVG QR code of `data` as a `data:` URI (for a PDF template)."""
    return str(segno.make(data, error="m", micro=False).svg_data_uri(scale=4, border=2))


# --- PDFs ---------------------------------------------------------------------------


def certificate_number(*, member: Member, year: int) -> str:
    """`<firm prefix>-<member pk>-<year>`; the prefix is the firm's short name (its schema)."""
    from django.db import connection

    schema = getattr(connection, "schema_name", "") or "MED"
    prefix = re.sub(r"[^A-Z0-9]", "", schema.upper())[:10] or "MED"
    return f"{prefix}-{member.pk}-{year}"


def _pdf_context(firm: FirmDetails) -> dict[str, object]:
    from mediation.cases.letters import branding

    return {**branding(firm_profile()), "details": firm, "issued_on": timezone.localdate()}


def certificate_pdf(*, member: Member, today: datetime.date) -> bytes:
    """The certificate of membership (number, validity, QR code to the verification page); covered members only."""
    coverage = coverage_of(member=member, today=today)
    if not coverage.covered:
        raise NotCovered(member, coverage)
    assert coverage.since is not None and coverage.until is not None  # a covered term has both
    token = badge_token(member=member)
    url = verification_url(token.token)
    details = firm_details()
    context = {
        **_pdf_context(details),
        "member": member,
        "number": certificate_number(member=member, year=coverage.since.year),
        "since": coverage.since,
        "until": coverage.until,
        "issued_on": today,
        "verification_url": url,
        "qr_uri": qr_data_uri(url),
        "title": _("Certificat d'adhésion — %(name)s") % {"name": member},
    }
    return render_pdf(CERTIFICATE_TEMPLATE, context)


def poster_pdf(*, member: Member, size: PosterSize) -> bytes:
    """The window poster: the mediator's name and website, how to file, a QR code to the pre-filled form."""
    if size not in POSTER_SIZES:
        raise ValueError(f"poster size must be one of {POSTER_SIZES}, not {size!r}")
    details = firm_details()
    url = filing_url(member=member)
    context = {
        **_pdf_context(details),
        "member": member,
        "size": size,
        "filing_url": url,
        "qr_uri": qr_data_uri(url),
        "title": _("Affiche médiation de la consommation — %(name)s") % {"name": member},
    }
    return render_pdf(POSTER_TEMPLATE, context)


# --- Texts to paste -----------------------------------------------------------------


def _contact_lines(firm: FirmDetails, member: Member) -> dict[str, str]:
    return {
        "business": str(member),
        "mediators": firm.mediator_names,
        "firm": firm.name,
        "website": firm.website,
        "address": firm.postal_address,
        "filing_url": filing_url(member=member),
    }


def cgv_clause(*, member: Member) -> str:
    """The clause for the business's general terms of sale, with the firm's current details."""
    values = _contact_lines(firm_details(), member)
    return (
        _(
            "Médiation de la consommation\n"
            "Conformément aux articles L611-1 et suivants et R612-1 et suivants du Code de la consommation, "
            "le client consommateur a le droit de recourir gratuitement à un médiateur de la consommation en vue "
            "de la résolution amiable d'un litige qui l'oppose à %(business)s. "
            "Le médiateur de la consommation dont relève %(business)s est : %(mediators)s, %(firm)s.\n"
            "Site internet du médiateur : %(website)s\n"
            "Adresse postale : %(address)s\n"
            "Le consommateur ne peut saisir le médiateur qu'après avoir adressé une réclamation écrite à "
            "%(business)s, restée sans réponse satisfaisante, et au plus tard un an après cette réclamation. "
            "La demande de médiation se dépose en ligne sur %(filing_url)s ou par courrier à l'adresse ci-dessus."
        )
        % values
    )


def website_text(*, member: Member) -> str:
    """The text for the business's website (a "Médiation" page or its legal notices)."""
    values = _contact_lines(firm_details(), member)
    return (
        _(
            "Médiation de la consommation\n"
            "En cas de litige, après avoir adressé une réclamation écrite à notre service client restée sans "
            "réponse satisfaisante, vous pouvez recourir gratuitement au médiateur de la consommation dont nous "
            "relevons : %(mediators)s, %(firm)s.\n"
            "Site internet : %(website)s\n"
            "Adresse postale : %(address)s\n"
            "Déposer une demande de médiation en ligne : %(filing_url)s"
        )
        % values
    )


# --- The live badge -----------------------------------------------------------------


def _new_token(member: Member) -> BadgeToken:
    return BadgeToken.objects.create(member=member, token=secrets.token_urlsafe(TOKEN_BYTES))


def _active_token(member: Member) -> BadgeToken | None:
    return BadgeToken.objects.filter(member=member, revoked_at__isnull=True).order_by("-created_at", "-pk").first()


def badge_token(*, member: Member) -> BadgeToken:
    """The member's active badge token, created (unguessable, `secrets`) on first use."""
    token = _active_token(member)
    if token is not None:
        return token
    with transaction.atomic():
        # The member's row serialises two first requests: one token, never two.
        Member.objects.select_for_update().filter(pk=member.pk).first()
        return _active_token(member) or _new_token(member)


@transaction.atomic
def revoke_badge(*, member: Member, by: User) -> BadgeToken:
    """Revokes the member's badge tokens (their page then says the badge is no longer valid) and issues a new one."""
    ensure_perm(by, Perm.MEMBERS_EDIT)
    Member.objects.select_for_update().filter(pk=member.pk).first()
    revoked = BadgeToken.objects.filter(member=member, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token = _new_token(member)
    # Token values are secrets: the audit row keeps only how many were revoked.
    audit.record(actor=by, action="members.badge_revoked", obj=member, changes={"active_badge_tokens": [revoked, 1]})
    return token


def badge_snippet(*, member: Member) -> str:
    """The HTML the business pastes on its website: the live badge, linking to its verification page."""
    token = badge_token(member=member).token
    alt = _("Médiation de la consommation : vérifier que %(business)s est couvert par %(firm)s") % {
        "business": member,
        "firm": firm_details().name,
    }
    return str(
        format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" width="{}" height="{}" alt="{}"></a>',
            verification_url(token),
            badge_image_url(token),
            BADGE_WIDTH,
            BADGE_HEIGHT,
            alt,
        )
    )


# --- The welcome pack -------------------------------------------------------------------------


def send_welcome_pack(*, member: Member, today: datetime.date | None = None) -> bool:
    """E-mails the kit to a covered business: certificate, A4 poster, the texts to paste and the live badge.

    Sent once the first payment makes the membership active; False (nothing
    sent) when the business is not covered today or has no address.
    """
    from django.core.mail import EmailMessage
    from django.utils import translation

    from firm.selectors import email_identity
    from mediation.members.membership import member_recipients
    from mediation.members.portal import PORTAL_PATH

    today = today or timezone.localdate()
    recipients = member_recipients(member)
    if not recipients or not coverage_of(member=member, today=today).covered:
        return False
    with translation.override(firm_profile().default_language or "fr"):
        certificate = certificate_pdf(member=member, today=today)
        poster = poster_pdf(member=member, size="A4")
        token = badge_token(member=member)
        subject = _("Bienvenue : votre kit d'adhérent à la médiation de la consommation")
        body = _(
            "Bonjour,\n\n"
            "Votre adhésion est active : %(member)s est couvert par notre médiateur de la consommation.\n\n"
            "Vous trouverez ci-joint votre certificat d'adhésion et l'affiche à apposer en vitrine "
            "(article R616-1 du Code de la consommation).\n\n"
            "À ajouter à vos conditions générales de vente :\n%(clause)s\n\n"
            "À publier sur votre site internet :\n%(website)s\n\n"
            "Votre badge en ligne, à jour en permanence : %(verification)s\n"
            "Le code à coller sur votre site :\n%(snippet)s\n\n"
            "Votre espace adhérent (factures, kit, dossiers) : %(portal)s\n"
        ) % {
            "member": member,
            "clause": cgv_clause(member=member),
            "website": website_text(member=member),
            "verification": verification_url(token.token),
            "snippet": badge_snippet(member=member),
            "portal": f"{firm_site_url()}{PORTAL_PATH}",
        }
    from_email, reply_to = email_identity()
    message = EmailMessage(subject, body, from_email, recipients, reply_to=reply_to)
    message.attach("certificat-adhesion.pdf", certificate, "application/pdf")
    message.attach("affiche-mediation-a4.pdf", poster, "application/pdf")
    message.send()
    audit.record(actor=None, action="members.welcome_pack_sent", obj=member, changes={"recipients": [None, recipients]})
    return True

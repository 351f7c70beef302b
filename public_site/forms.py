"""Forms of the public site: the consumer's filing wizard and the parties' personal space."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.money import parse_euros
from mediation.cases.directory import covered_members
from mediation.cases.models import CaseDocument, Party, Subject

YES_NO = (("yes", _("Oui")), ("no", _("Non")))
MAX_AMOUNT_CENTS = 100_000_000_00  # one hundred million euros: anything above is a typing error


class AccessibleForm(forms.Form):
    """The public forms. Django links a field's help text and errors to it (`aria-describedby`, `aria-invalid`);
    `_field.html` renders them with those ids and an error summary."""


class YesNoField(forms.TypedChoiceField):
    """A required yes/no question as radio buttons; its value is a bool."""

    def __init__(self, *, choices: Any = YES_NO, **kwargs: Any) -> None:
        super().__init__(
            choices=choices,
            coerce=lambda value: value == "yes",
            widget=forms.RadioSelect,
            empty_value=None,
            **kwargs,
        )


def yes_no_initial(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


# --- Filing wizard --------------------------------------------------------------------------


class EligibilityForm(AccessibleForm):
    """Step 1: the questions of L612-2, before anything long is written."""

    is_consumer = YesNoField(
        label=_("Agissez-vous en tant que particulier (consommateur), pour vos besoins personnels ?"),
    )
    business_query = forms.CharField(
        label=_("Rechercher le professionnel"),
        required=False,
        max_length=200,
        help_text=_("Son nom, son nom commercial, son numéro SIREN ou son site internet."),
    )
    member = forms.ModelChoiceField(
        label=_("Professionnel concerné"),
        queryset=covered_members(),
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Ce professionnel n'est pas adhérent : choisissez dans la liste.")},
    )
    business_name = forms.CharField(
        label=_("Je ne le trouve pas : son nom"),
        required=False,
        max_length=200,
        help_text=_("Remplissez ce champ seulement si le professionnel n'apparaît pas dans la liste."),
    )
    non_member_confirmed = forms.BooleanField(
        label=_(
            "Ce professionnel m'a indiqué ce médiateur (conditions générales, site, facture) : "
            "je dépose quand même ma demande."
        ),
        required=False,
    )
    complained = YesNoField(
        label=_("Avez-vous déjà adressé une réclamation écrite (courrier ou e-mail) à ce professionnel ?"),
    )
    complained_on = forms.DateField(
        label=_("Date de votre réclamation écrite"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Au format jj/mm/aaaa si votre navigateur ne propose pas de calendrier."),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    other_proceedings = YesNoField(
        label=_("Ce litige a-t-il déjà été soumis à un autre médiateur ou à un tribunal ?"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("complained") and not data.get("complained_on"):
            self.add_error("complained_on", _("Indiquez la date de votre réclamation écrite."))
        if not data.get("complained"):
            data["complained_on"] = None
        if not data.get("member") and not (data.get("business_name") or "").strip():
            self.add_error(
                "member", _("Choisissez le professionnel dans la liste, ou indiquez son nom s'il n'y figure pas.")
            )
        if data.get("member"):
            data["business_name"] = ""
        return data


class ContactDetailsForm(AccessibleForm):
    """Step 2: the consumer."""

    consumer_first_name = forms.CharField(label=_("Prénom"), max_length=150, required=False)
    consumer_last_name = forms.CharField(label=_("Nom"), max_length=150)
    consumer_email = forms.EmailField(
        label=_("Adresse e-mail"),
        help_text=_("Nous vous y envoyons un lien pour reprendre votre demande plus tard, puis l'accusé de réception."),
    )
    consumer_phone = forms.CharField(label=_("Téléphone"), max_length=30, required=False)
    consumer_address = forms.CharField(label=_("Adresse postale"), max_length=300, required=False)
    consumer_postcode = forms.CharField(label=_("Code postal"), max_length=10, required=False)
    consumer_city = forms.CharField(label=_("Ville"), max_length=100, required=False)

    def clean_consumer_email(self) -> str:
        return str(self.cleaned_data["consumer_email"]).strip().lower()


class DisputeForm(AccessibleForm):
    """Step 3: the dispute."""

    subject = forms.ChoiceField(label=_("Objet du litige"), choices=[("", "—"), *Subject.choices])
    description = forms.CharField(
        label=_("Décrivez le litige"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=10_000,
        help_text=_("Les faits, les dates, ce que le professionnel vous a répondu."),
    )
    amount = forms.CharField(
        label=_("Montant en jeu (en euros)"),
        required=False,
        max_length=30,
        help_text=_("Par exemple 129,90. Laissez vide s'il n'y a pas de montant."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    desired_outcome = forms.CharField(
        label=_("Que demandez-vous ?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5_000,
        required=False,
        help_text=_("Par exemple : le remboursement, la réparation, l'annulation d'une facture."),
    )

    def clean_amount(self) -> int | None:
        try:
            cents = parse_euros(self.cleaned_data.get("amount") or "")
        except ValueError:
            raise ValidationError(
                _("Indiquez un montant en euros, par exemple 129,90."), code="invalid_amount"
            ) from None
        if cents is not None and cents > MAX_AMOUNT_CENTS:
            raise ValidationError(_("Ce montant paraît trop élevé : vérifiez-le."), code="amount_too_high")
        return cents


class DocumentUploadForm(AccessibleForm):
    """Step 4 (and the personal space): one file at a time."""

    kind = forms.ChoiceField(
        label=_("Type de document"),
        choices=[
            (CaseDocument.Kind.COMPLAINT, _("Ma réclamation écrite au professionnel")),
            (CaseDocument.Kind.EVIDENCE, _("Autre pièce (facture, bon de commande, échanges, photos…)")),
        ],
        widget=forms.RadioSelect,
        initial=CaseDocument.Kind.COMPLAINT,
    )
    file = forms.FileField(
        label=_("Fichier"),
        help_text=_("PDF, JPEG ou PNG, 10 Mo au plus."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}),
    )


class ReviewForm(AccessibleForm):
    """Step 5: consent to the processing of personal data (free of charge for the consumer, L612-1)."""

    consent = forms.BooleanField(
        label=_(
            "J'accepte que mes données personnelles soient traitées pour les besoins de la médiation, "
            "et je sais que la médiation est gratuite pour moi."
        ),
        error_messages={"required": _("Cochez cette case pour envoyer votre demande.")},
    )


# --- Personal space -----------------------------------------------------------------------------


class PartyLoginForm(AccessibleForm):
    email = forms.EmailField(label=_("Votre adresse e-mail"))
    party = forms.ChoiceField(
        label=_("Vous êtes"),
        choices=[
            (Party.CONSUMER, _("Le consommateur qui a déposé la demande")),
            (Party.BUSINESS, _("Le professionnel mis en cause (adhérent)")),
        ],
        widget=forms.RadioSelect,
        initial=Party.CONSUMER,
    )


class CodeForm(AccessibleForm):
    code = forms.RegexField(
        label=_("Code reçu par e-mail"),
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        error_messages={"invalid": _("Le code a 6 chiffres.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7}),
    )


class MessageForm(AccessibleForm):
    body = forms.CharField(label=_("Votre message au médiateur"), widget=forms.Textarea(attrs={"rows": 4}))


class PartyDocumentForm(AccessibleForm):
    file = forms.FileField(label=_("Fichier"), help_text=_("PDF, JPEG ou PNG, 10 Mo au plus."))


class AnswerForm(AccessibleForm):
    accepts = YesNoField(label=_("Votre réponse"), choices=(("yes", _("J'accepte")), ("no", _("Je refuse"))))
    note = forms.CharField(
        label=_("Commentaire (facultatif)"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )


class WithdrawForm(AccessibleForm):
    confirm = forms.BooleanField(
        label=_("Je confirme vouloir me retirer de la médiation. Cette décision est définitive."),
        error_messages={"required": _("Cochez cette case pour confirmer.")},
    )
    note = forms.CharField(
        label=_("Motif (facultatif)"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )

"""Forms of the staff case pages: the inbox's filters, the case actions, and the postal filing."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from mediation.cases import clock, selectors
from mediation.cases.models import (
    IN_PROGRESS,
    Case,
    CaseDocument,
    Channel,
    InadmissibilityReason,
    Outcome,
    Party,
    Status,
    Subject,
)
from mediation.members.models import Member

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NOTE = forms.Textarea(attrs={"rows": 3})
YES_NO_UNKNOWN = [("", _("Non renseigné")), ("true", _("Oui")), ("false", _("Non"))]


def _user_label(user: User) -> str:
    return user.get_full_name() or user.email


class HandlerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _user_label(obj)


# --- Inbox -------------------------------------------------------------------------------


class InboxFilterForm(forms.Form):
    """The inbox's filters (GET): every field optional, an invalid value is ignored."""

    q = forms.CharField(
        label=_("Rechercher"),
        required=False,
        help_text=_("Référence, nom ou e-mail du consommateur, nom du professionnel"),
    )
    status = forms.MultipleChoiceField(
        label=_("Statut"),
        required=False,
        choices=[(value, label) for value, label in Status.choices if value != Status.DRAFT],
        widget=forms.CheckboxSelectMultiple,
    )
    assignee = forms.ChoiceField(label=_("Chargé du dossier"), required=False)
    # Free text, not a list of every member: a firm may have tens of thousands.
    member = forms.CharField(
        label=_("Adhérent"), required=False, max_length=200, help_text=_("SIREN ou nom de l'adhérent.")
    )
    subject = forms.ChoiceField(label=_("Objet"), required=False, choices=[("", _("Tous")), *Subject.choices])
    overdue = forms.BooleanField(label=_("Échéance dépassée"), required=False)
    due_this_week = forms.BooleanField(label=_("Échéance dans les 7 jours"), required=False)
    sort = forms.ChoiceField(
        label=_("Trier par"),
        required=False,
        choices=[("deadline", _("Prochaine échéance")), ("-received", _("Date de réception (récents d'abord)"))],
    )

    def __init__(self, *args: Any, handlers: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        handlers = handlers if handlers is not None else list(selectors.case_handlers())
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        assignee.choices = [
            ("", _("Tous")),
            (selectors.ASSIGNEE_ME, _("Moi")),
            (selectors.ASSIGNEE_NONE, _("Non attribués")),
            *[(str(user.pk), _user_label(user)) for user in handlers],
        ]

    def filters(self) -> selectors.InboxFilters:
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return selectors.InboxFilters(
            statuses=tuple(data.get("status") or ()),
            assignee=data.get("assignee") or "",
            member=data.get("member") or "",
            subject=data.get("subject") or "",
            overdue=bool(data.get("overdue")),
            due_this_week=bool(data.get("due_this_week")),
            search=data.get("q") or "",
            sort=data.get("sort") or selectors.DEFAULT_SORT,
        )


class BulkAssignForm(forms.Form):
    cases = forms.ModelMultipleChoiceField(
        label=_("Dossiers"),
        queryset=Case.objects.exclude(status=Status.DRAFT),
        error_messages={"required": _("Cochez au moins un dossier.")},
    )
    # A person's pk, or UNASSIGN; nothing chosen is an error, never a silent "remove the assignee".
    assignee = forms.CharField(
        label=_("Attribuer à"), error_messages={"required": _("Choisissez à qui attribuer les dossiers cochés.")}
    )
    UNASSIGN = "none"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cases = self.fields["cases"]
        assert isinstance(cases, forms.ModelMultipleChoiceField)
        cases.queryset = Case.objects.exclude(status=Status.DRAFT).select_related("member")

    def clean_assignee(self) -> User | None:
        value = self.cleaned_data["assignee"]
        if value == self.UNASSIGN:
            return None
        handler = selectors.case_handlers().filter(pk=value).first() if value.isdigit() else None
        if handler is None:
            raise forms.ValidationError(_("Cette personne ne traite pas de dossiers."), code="invalid_assignee")
        return handler


# --- Case actions --------------------------------------------------------------------------


class CaseActionForm(forms.Form):
    """A form of the case page; `case` narrows choices to what the case's state allows."""

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        self.case = case
        super().__init__(*args, **kwargs)


class EmptyForm(CaseActionForm):
    pass


class NoteForm(CaseActionForm):
    note = forms.CharField(label=_("Note"), required=False, widget=NOTE)


class RequiredNoteForm(CaseActionForm):
    note = forms.CharField(label=_("Motif"), widget=NOTE)


class RequestDocumentsForm(CaseActionForm):
    what = forms.CharField(label=_("Pièces demandées"), widget=NOTE)


class InadmissibleForm(CaseActionForm):
    reason = forms.ChoiceField(label=_("Motif (article L612-2)"), choices=InadmissibilityReason.choices)
    note = forms.CharField(label=_("Précisions"), required=False, widget=NOTE)


class ReorientForm(CaseActionForm):
    to = forms.CharField(
        label=_("Réorienté vers"),
        max_length=200,
        help_text=_("Le médiateur sectoriel ou l'instance compétente."),
        widget=forms.TextInput(attrs={"list": "sector-mediators"}),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=NOTE)


class BusinessAnswerForm(CaseActionForm):
    accepts = forms.TypedChoiceField(
        label=_("Réponse du professionnel"),
        choices=[("true", _("Accepte d'entrer en médiation")), ("false", _("Refuse la médiation"))],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), required=False, widget=NOTE)


class ExtendForm(CaseActionForm):
    until = forms.DateField(label=_("Nouvelle échéance"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("Motif (litige complexe)"), widget=NOTE)


class ProposalForm(CaseActionForm):
    text = forms.CharField(label=_("Proposition de solution"), widget=forms.Textarea(attrs={"rows": 8}))
    answer_due_on = forms.DateField(label=_("Réponse attendue avant le"), widget=DATE_INPUT)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["answer_due_on"].initial = timezone.localdate() + datetime.timedelta(
            days=clock.PROPOSAL_ANSWER_DAYS
        )


class ProposalAnswerForm(CaseActionForm):
    party = forms.ChoiceField(label=_("Partie"), choices=[])
    accepts = forms.TypedChoiceField(
        label=_("Réponse"),
        choices=[("true", _("Accepte la proposition")), ("false", _("Refuse la proposition"))],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), required=False, widget=NOTE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = []
        if not self.case.consumer_answer:
            choices.append((Party.CONSUMER.value, Party.CONSUMER.label))
        if not self.case.business_answer:
            choices.append((Party.BUSINESS.value, Party.BUSINESS.label))
        party = self.fields["party"]
        assert isinstance(party, forms.ChoiceField)
        # Both parties stay selectable once bound, so that a repeated answer reaches the service's refusal.
        party.choices = choices if not self.is_bound else [(p.value, p.label) for p in (Party.CONSUMER, Party.BUSINESS)]


class CloseForm(CaseActionForm):
    outcome = forms.ChoiceField(label=_("Issue"), choices=[])
    note = forms.CharField(label=_("Motif"), required=False, widget=NOTE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            allowed = [Outcome.AGREEMENT, Outcome.FAILURE, Outcome.PROPOSAL_REFUSED]
        elif self.case.status == Status.PROPOSAL_SENT:
            allowed = [Outcome.PROPOSAL_REFUSED]
        else:
            allowed = [Outcome.AGREEMENT, Outcome.FAILURE]
        outcome = self.fields["outcome"]
        assert isinstance(outcome, forms.ChoiceField)
        outcome.choices = [(value.value, value.label) for value in allowed]


class WithdrawForm(CaseActionForm):
    party = forms.ChoiceField(label=_("À l'initiative de"), choices=[])
    note = forms.CharField(label=_("Motif"), required=False, widget=NOTE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(Party.CONSUMER.value, Party.CONSUMER.label)]
        if self.is_bound or self.case.status in IN_PROGRESS:
            choices.append((Party.BUSINESS.value, Party.BUSINESS.label))
        party = self.fields["party"]
        assert isinstance(party, forms.ChoiceField)
        party.choices = choices


class AssignForm(CaseActionForm):
    assignee = HandlerChoiceField(
        label=_("Chargé du dossier"), queryset=User.objects.none(), required=False, empty_label=_("Personne")
    )

    def __init__(self, *args: Any, handlers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = handlers if handlers is not None else selectors.case_handlers()
        assignee.initial = self.case.assignee_id


class RecommendationsForm(CaseActionForm):
    text = forms.CharField(
        label=_("Recommandations en équité"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].initial = self.case.recommendations


EXECUTION_CHOICES = [
    ("carried_out", _("Exécutée")),
    ("not_carried_out", _("Non exécutée")),
    ("no_answer", _("Sans réponse des parties")),
]


class ExecutionForm(CaseActionForm):
    execution = forms.ChoiceField(label=_("Exécution de la solution"), choices=EXECUTION_CHOICES)
    party = forms.ChoiceField(
        label=_("Information donnée par"),
        choices=[(p.value, p.label) for p in (Party.CONSUMER, Party.BUSINESS, Party.STAFF)],
    )
    note = forms.CharField(label=_("Note"), required=False, widget=NOTE)

    @property
    def carried_out(self) -> bool | None:
        return {"carried_out": True, "not_carried_out": False}.get(self.cleaned_data["execution"])


class MessageForm(CaseActionForm):
    channel = forms.ChoiceField(label=_("Destinataires"), choices=Channel.choices)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}))


class UploadForm(CaseActionForm):
    file = forms.FileField(label=_("Fichier (PDF, JPEG ou PNG)"))
    kind = forms.ChoiceField(
        label=_("Type de pièce"),
        choices=[(k.value, k.label) for k in (CaseDocument.Kind.EVIDENCE, CaseDocument.Kind.OTHER)],
    )
    channel = forms.ChoiceField(label=_("Visible par"), choices=Channel.choices)


class ShareForm(CaseActionForm):
    document = forms.ModelChoiceField(label=_("Pièce"), queryset=CaseDocument.objects.none())
    channel = forms.ChoiceField(label=_("Visible par"), choices=Channel.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        document = self.fields["document"]
        assert isinstance(document, forms.ModelChoiceField)
        document.queryset = CaseDocument.objects.filter(case=self.case)


# --- Postal filing ---------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class NullBooleanRadio(forms.NullBooleanField):
    widget = forms.RadioSelect(choices=YES_NO_UNKNOWN)


POSTAL_SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (
        _("Consommateur"),
        (
            "consumer_first_name",
            "consumer_last_name",
            "consumer_email",
            "consumer_phone",
            "consumer_address",
            "consumer_postcode",
            "consumer_city",
        ),
    ),
    (_("Professionnel"), ("member", "business_name")),
    (_("Recevabilité (article L612-2)"), ("is_consumer", "complained_on", "other_proceedings")),
    (_("Litige"), ("subject", "description", "amount", "desired_outcome")),
    (_("Courrier reçu"), ("received_on", "complaint", "documents")),
)


class PostalFilingForm(forms.Form):
    """A request received by post, typed by staff; the written complaint is required (L612-2 1°)."""

    consumer_first_name = forms.CharField(label=_("Prénom"), max_length=150, required=False)
    consumer_last_name = forms.CharField(label=_("Nom"), max_length=150)
    consumer_email = forms.EmailField(label=_("Adresse e-mail"), required=False)
    consumer_phone = forms.CharField(label=_("Téléphone"), max_length=30, required=False)
    consumer_address = forms.CharField(label=_("Adresse postale"), max_length=300, required=False)
    consumer_postcode = forms.CharField(label=_("Code postal"), max_length=10, required=False)
    consumer_city = forms.CharField(label=_("Ville"), max_length=100, required=False)
    member = forms.CharField(
        label=_("Adhérent"),
        required=False,
        help_text=_("Nom ou SIREN d'un adhérent du cabinet (choisissez dans la liste)."),
        widget=forms.TextInput(attrs={"list": "members-list", "autocomplete": "off"}),
    )
    business_name = forms.CharField(label=_("Ou nom du professionnel (non adhérent)"), max_length=200, required=False)
    is_consumer = NullBooleanRadio(label=_("Agit en tant que consommateur"), required=False)
    complained_on = forms.DateField(
        label=_("Date de la réclamation écrite au professionnel"), required=False, widget=DATE_INPUT
    )
    other_proceedings = NullBooleanRadio(
        label=_("Litige examiné par un autre médiateur ou un tribunal"), required=False
    )
    subject = forms.ChoiceField(label=_("Objet du litige"), choices=[("", "—"), *Subject.choices])
    description = forms.CharField(label=_("Description du litige"), widget=forms.Textarea(attrs={"rows": 6}))
    amount = forms.DecimalField(
        label=_("Montant en jeu (€)"), required=False, min_value=Decimal(0), max_digits=12, decimal_places=2
    )
    desired_outcome = forms.CharField(
        label=_("Demande du consommateur"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    received_on = forms.DateField(label=_("Date de réception du courrier"), widget=DATE_INPUT)
    complaint = forms.FileField(label=_("Réclamation écrite au professionnel (PDF, JPEG ou PNG)"))
    documents = MultipleFileField(label=_("Autres pièces"), required=False)

    def __init__(self, *args: Any, draft: Case | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.draft = draft
        self.fields["received_on"].initial = timezone.localdate()
        if draft is not None and draft.documents.filter(kind=CaseDocument.Kind.COMPLAINT).exists():
            # The complaint was stored with the draft kept after a refused submission.
            self.fields["complaint"].required = False

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in POSTAL_SECTIONS]

    def clean_member(self) -> Member | None:
        text = (self.cleaned_data.get("member") or "").strip()
        if not text:
            return None
        digits = re.sub(r"\s", "", text)
        match = re.match(r"(\d{9})", digits)
        members = selectors.members_for_choice()
        member = members.filter(siren=match.group(1)).first() if match else None
        if member is None:
            found = list(members.filter(legal_name__iexact=text)[:2]) or list(
                members.filter(legal_name__icontains=text)[:2]
            )
            member = found[0] if len(found) == 1 else None
        if member is None:
            raise ValidationError(
                _("Aucun adhérent unique ne correspond à « %(text)s » : choisissez-le dans la liste."),
                params={"text": text},
            )
        return member

    def clean_received_on(self) -> datetime.date:
        day: datetime.date = self.cleaned_data["received_on"]
        if day > timezone.localdate():
            raise ValidationError(_("La date de réception ne peut pas être dans le futur."))
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("member") and not (data.get("business_name") or "").strip() and "member" not in self.errors:
            self.add_error("member", _("Choisissez un adhérent ou indiquez le nom du professionnel."))
        if not data.get("consumer_email") and not (data.get("consumer_address") and data.get("consumer_city")):
            self.add_error(
                "consumer_address", _("Indiquez une adresse e-mail ou une adresse postale complète pour répondre.")
            )
        return data

    def case_fields(self) -> dict[str, Any]:
        """The values for `services.create_postal_case` / `update_draft` (names of `services.DRAFT_FIELDS`)."""
        data = self.cleaned_data
        amount = data.get("amount")
        fields: dict[str, Any] = {
            name: data[name] or ""
            for name in (
                "consumer_first_name",
                "consumer_last_name",
                "consumer_email",
                "consumer_phone",
                "consumer_address",
                "consumer_postcode",
                "consumer_city",
                "business_name",
                "subject",
                "description",
                "desired_outcome",
            )
        }
        fields.update(
            member=data.get("member"),
            is_consumer=data.get("is_consumer"),
            other_proceedings=data.get("other_proceedings"),
            complained_on=data.get("complained_on"),
            amount_cents=int(amount * 100) if amount is not None else None,
        )
        if fields["member"] is not None:
            fields["business_name"] = fields["business_name"] or fields["member"].legal_name
        return fields

    def received_at(self) -> datetime.datetime:
        """The day the letter arrived, as a moment: now when today, else noon that day (never in the future)."""
        day: datetime.date = self.cleaned_data["received_on"]
        if day >= timezone.localdate():
            return timezone.now()
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))

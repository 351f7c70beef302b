"""Forms of the member portal: only the fields a member's user may change (see portal.PORTAL_*_FIELDS)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mediation.members.forms import UrlListField
from mediation.members.models import Contact, Member
from mediation.members.portal import PORTAL_CONTACT_FIELDS, PORTAL_MEMBER_FIELDS


class OwnDetailsForm(forms.ModelForm):
    websites = UrlListField(
        label=_("Sites internet"), required=False, help_text=_("Une adresse par ligne, par exemple boulangerie.fr.")
    )

    class Meta:
        model = Member
        fields = list(PORTAL_MEMBER_FIELDS)
        widgets = {
            "trade_name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "address_line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "country": forms.TextInput(attrs={"autocomplete": "country"}),
        }

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [
            (_("Nom commercial"), [self["trade_name"]]),
            (
                _("Adresse et sites"),
                [self[name] for name in ("address_line1", "address_line2", "postcode", "city", "country", "websites")],
            ),
        ]


class OwnContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = list(PORTAL_CONTACT_FIELDS)
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "off"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "off"}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args: Any, email_locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if email_locked:
            # This address opens the portal: only the firm changes it (portal.EmailInUse).
            field = self.fields["email"]
            field.disabled = True
            field.help_text = _(
                "Cette adresse sert à se connecter à l'espace adhérent : seul le cabinet peut la changer."
            )


class GrantAccessForm(forms.Form):
    """Staff: the contact to whom the portal is opened (one of the member's active contacts with an e-mail)."""

    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none())

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contact"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Contact.objects.filter(member=member)

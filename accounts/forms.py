from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User

# The roles of the firm's team (the member portal's role is not given here).
STAFF_ROLE_CHOICES = [(value, label) for value, label in User.Role.choices if value != User.Role.MEMBER]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Adresse e-mail"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Rôle"), choices=STAFF_ROLE_CHOICES, initial=User.Role.READ_ONLY)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Rôle"), choices=STAFF_ROLE_CHOICES)


class AcceptInvitationForm(forms.Form):
    first_name = forms.CharField(
        label=_("Prénom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Nom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    password1 = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2:
            if password1 != password2:
                self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
            else:
                user = User(
                    email=self.email, first_name=data.get("first_name", ""), last_name=data.get("last_name", "")
                )
                try:
                    validate_password(password1, user)
                except ValidationError as exc:
                    self.add_error("password1", exc)
        return data

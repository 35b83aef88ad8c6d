"""Forms for joining runs, signing up and the roster: they check the shape of what was typed;
what it means (is the code right, is the username free) is the services' to say."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from courses.models import Membership
from courses.services import ROSTER_MAX_BYTES


def form_add_errors(form: forms.Form, exc: ValidationError, *, unnamed_field: str | None = None) -> None:
    """A service's refusal shown on the form: each message on its field where the form has it,
    else on `unnamed_field` (None: above the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(unnamed_field, error)


class _Form(forms.Form):
    """Labels without Django's trailing colon, as on the other pages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class JoinForm(_Form):
    code = forms.CharField(
        label=_("Invitation code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class SignupForm(JoinForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only."),
        validators=[get_user_model().username_validator],
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We send a link there; the account works once you have followed it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = ["username", "email", "password", "code"]


class RosterUploadForm(_Form):
    file = forms.FileField(label=_("CSV file"), required=False)
    text = forms.CharField(
        label=_("…or paste the rows"),
        required=False,
        max_length=ROSTER_MAX_BYTES,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "editor small"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not data.get("text", "").strip():
            raise forms.ValidationError(_("Choose a CSV file or paste its rows."))
        return data

    def csv_data(self) -> bytes | str:
        """The upload's bytes (decoded by the service, which knows about BOMs) or the pasted text."""
        upload = self.cleaned_data.get("file")
        if upload:
            if upload.size > ROSTER_MAX_BYTES:
                return upload.read(ROSTER_MAX_BYTES + 1)
            return bytes(upload.read())
        return str(self.cleaned_data["text"])


class RosterApplyForm(forms.Form):
    """The previewed rows go back with the confirmation (a textarea, which keeps line breaks
    exactly), with the preview's digest; nothing is kept on the server between the two."""

    csv_text = forms.CharField(
        max_length=ROSTER_MAX_BYTES + 1,
        strip=False,
        widget=forms.Textarea(attrs={"hidden": True, "aria-hidden": "true", "tabindex": "-1"}),
    )
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)


class RoleForm(_Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class AccountPasswordResetForm(PasswordResetForm):
    """Also mails accounts that have no password yet (made from a roster, their first link lost
    or expired): here every account logs in with a password, so none is owned elsewhere (LDAP,
    single sign-on), which is why Django leaves them out by default."""

    def get_users(self, email: str) -> Iterator[Any]:
        field = get_user_model().get_email_field_name()
        for user in get_user_model()._default_manager.filter(
            **{f"{field}__iexact": email, "is_active": True}
        ):
            if _folded(getattr(user, field)) == _folded(email):
                yield user


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()

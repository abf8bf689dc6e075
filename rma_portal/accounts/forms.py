from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from . import two_factor


class EmailAuthenticationForm(auth_forms.AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _("Enter a correct e-mail address and password."),
        "inactive": _("This account is inactive."),
    }


def _code_input(*, digits_only: bool) -> forms.TextInput:
    # one-time-code lets the phone offer a code it just received; the digit keyboard only
    # where no recovery code (letters and digits) can be typed.
    attrs = {"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"}
    if digits_only:
        attrs["inputmode"] = "numeric"
    else:
        attrs["autofocus"] = True
    return forms.TextInput(attrs=attrs)


class SignInCodeForm(forms.Form):
    """The second step of signing in: a code from the app, or one recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        widget=_code_input(digits_only=False),
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
    )


class EnrolmentCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=20,
        widget=_code_input(digits_only=True),
        help_text=_("Scan the QR code (or type the key), then enter the 6 digits the app shows."),
    )


class ConfirmIdentityForm(forms.Form):
    """Asked before turning two-factor sign-in off or making new recovery codes: whoever
    found the session open must also know the password or hold the app."""

    secret = forms.CharField(
        label=_("Password or a code from your app"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        self.used_code = False
        super().__init__(*args, **kwargs)

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"]
        if self.user.check_password(secret):
            return secret
        if two_factor.TOTP_CODE.fullmatch(two_factor.normalise_code(secret)):
            self.used_code = True
            check = two_factor.check_code(self.user, secret)
            if check.ok and not check.recovery:
                return secret
            if check.throttled:
                raise forms.ValidationError(
                    _("Too many wrong codes in a row. Wait a minute and try again."),
                    code="throttled",
                )
        raise forms.ValidationError(
            _("That is neither your password nor a current code."), code="wrong"
        )


class RulesInPageMixin:
    """The password rules are listed on the page (`password_rules` in the template), once,
    rather than as the new-password field's help text."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = ""


class PasswordChangeForm(RulesInPageMixin, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(RulesInPageMixin, auth_forms.SetPasswordForm):
    pass


def password_rules() -> list[str]:
    """The configured password validators' rules, as sentences."""
    return password_validation.password_validators_help_texts()

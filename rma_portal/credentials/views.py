"""The signed-in user's own API tokens: list, create (the secret shown once), revoke."""

from __future__ import annotations

import django_otp
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from rma_portal.errors import ApplicationError
from rma_portal.forms import add_application_error
from rma_portal.ids import id_or_404

from .models import PersonalToken, RevokeReason
from .services import (
    NAME_MAX_LENGTH,
    default_lifetime_days,
    issue_personal_token,
    max_lifetime_days,
    may_hold_tokens,
    revoke_token,
    two_factor_setup_message,
    two_factor_setup_missing,
)


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=NAME_MAX_LENGTH,
        help_text=gettext_lazy("What the token is for, e.g. the ERP integration."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The limits are read when the form is made: settings may differ per deployment.
        days = max_lifetime_days()
        self.fields["expires_in_days"] = forms.IntegerField(
            label=_("Valid for (days)"),
            min_value=1,
            max_value=days,
            initial=default_lifetime_days(),
            help_text=_("At most %(days)d days.") % {"days": days},
        )


def _session_verified(request: HttpRequest) -> bool:
    """With django-otp's middleware, a user with a device must have passed it in this session
    before creating a token (the token would otherwise outlive an unverified session)."""
    is_verified = getattr(request.user, "is_verified", None)
    if is_verified is None:
        return True
    return is_verified() or not django_otp.user_has_device(request.user, confirmed=True)


@never_cache  # the page may carry a new token's secret
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not may_hold_tokens(user):
        raise PermissionDenied(
            _("API tokens are for users of a tenant; platform accounts cannot use the API.")
        )
    form = NewTokenForm()
    issued = None
    if request.method == "POST" and request.POST.get("action") == "revoke":
        token_id = id_or_404(request.POST.get("token"))
        token = PersonalToken.objects.filter(user=user, pk=token_id).first()
        if token is None:
            raise Http404
        token.user = user
        if revoke_token(token, reason=RevokeReason.BY_OWNER, actor=user, request=request):
            messages.success(request, _("Token %(name)s was revoked.") % {"name": token.name})
        return redirect("accounts:api_tokens")
    if request.method == "POST":
        form = NewTokenForm(request.POST)
        if not _session_verified(request):
            form.add_error(None, _("Confirm your two-factor sign-in first."))
        elif form.is_valid():
            try:
                issued = issue_personal_token(
                    user=user,
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                    via="page",
                    request=request,
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                form = NewTokenForm()
    tokens = PersonalToken.objects.filter(user=user)
    now = timezone.now()
    return render(
        request,
        "credentials/api_tokens.html",
        {
            "base_template": "portal/base.html" if user.is_customer else "credentials/base.html",
            "form": form,
            "issued": issued,
            "rows": [(token, token.state_at(now)) for token in tokens],
            "blocked": two_factor_setup_message() if two_factor_setup_missing(user) else "",
        },
    )

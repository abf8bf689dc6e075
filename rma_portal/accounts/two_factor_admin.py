"""The back-office action "Reset two-factor sign-in", for the user who lost their phone and
their recovery codes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from rma_portal.security.audit import record
from rma_portal.security.models import AuditAction

from . import two_factor

# django-otp registers admins of its devices that are not scoped to a tenant and would show
# every user's devices to a platform superuser working inside one tenant. Devices are managed
# by their owners on the Security page and reset with the action below. (django_otp's apps
# come before this one in INSTALLED_APPS, so their admins are registered by now.)
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.action(description=_("Reset two-factor sign-in"), permissions=["change"])
def reset_two_factor(modeladmin, request, queryset) -> None:
    """Delete the chosen users' authenticator apps and recovery codes and end their sessions:
    they sign in with the password alone (or, where their tenant requires it, set up a new
    app at their next sign-in). The queryset is the admin's own, scoped to the tenant in
    context; an id outside it (another tenant's user) answers 404 and changes nothing."""
    if request.POST.get("select_across") != "1":
        chosen = {str(pk) for pk in request.POST.getlist(ACTION_CHECKBOX_NAME)}
        if chosen != {str(pk) for pk in queryset.values_list("pk", flat=True)}:
            raise Http404
    reset = 0
    with transaction.atomic():
        for user in queryset.select_related("tenant"):
            if not two_factor.remove_two_factor(user):
                continue
            user.rotate_session_stamp()
            record(
                AuditAction.TWO_FACTOR_DISABLED,
                request=request,
                tenant=user.tenant,
                target=user,
                details={"by": "admin", "reset_by": request.user.email},
            )
            reset += 1
            if user.pk == request.user.pk:
                update_session_auth_hash(request, user)
    if reset:
        modeladmin.message_user(
            request,
            ngettext(
                "Two-factor sign-in was reset for %(count)d user; they were signed out.",
                "Two-factor sign-in was reset for %(count)d users; they were signed out.",
                reset,
            )
            % {"count": reset},
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request, _("None of the chosen users had two-factor sign-in on."), messages.INFO
        )

"""Audit receivers for what Django itself reports: sign-ins, sign-outs, failed sign-ins and
every add, change and delete made in the back-office (the admin's own change log)."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import lockout  # noqa: F401 - connects the sign-in lockout receivers
from .audit import record
from .models import AuditAction

_ADMIN_ACTIONS = {
    ADDITION: AuditAction.OBJECT_ADDED,
    CHANGE: AuditAction.OBJECT_CHANGED,
    DELETION: AuditAction.OBJECT_DELETED,
}


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def _signed_in(sender, request, user, **kwargs):
    record(AuditAction.SIGN_IN, request=request, user=user)


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(AuditAction.SIGN_OUT, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    typed = str(credentials.get("username") or credentials.get("email") or "").strip().lower()
    known = get_user_model()._default_manager.filter(email=typed).select_related("tenant")
    user = known.first() if typed else None
    record(
        AuditAction.SIGN_IN_FAILED,
        request=request,
        user=None,
        tenant=user.tenant if user is not None else None,
        actor_label=typed,
        target=user,
        details={"account_exists": user is not None},
    )


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_change")
def _admin_change(sender, instance: LogEntry, created, **kwargs):
    if not created:
        return
    user = instance.user
    record(
        _ADMIN_ACTIONS.get(instance.action_flag, AuditAction.OBJECT_CHANGED),
        user=user,
        target=instance.object_repr,
        details={
            "object_type": instance.content_type.model_class()._meta.label
            if instance.content_type_id and instance.content_type.model_class()
            else "",
            "object_id": str(instance.object_id or ""),
            "change": instance.get_change_message(),
        },
    )

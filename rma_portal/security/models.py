"""The audit log: who signed in (or failed to), changed settings, created or used a key,
exported data, or which assignment rule gave a case to whom, from which address, and when.
Rows are only ever added."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    SIGN_IN = "sign_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
    SIGN_OUT = "sign_out", _("Signed out")
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere", _("Signed out everywhere")
    LOCKED_OUT = "locked_out", _("Locked out after failed sign-ins")
    UNLOCKED = "unlocked", _("Sign-in lockout lifted")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    PASSWORD_RESET = "password_reset", _("Password reset by e-mail link")
    TWO_FACTOR_ENABLED = "two_factor_enabled", _("Two-factor sign-in turned on")
    TWO_FACTOR_DISABLED = "two_factor_disabled", _("Two-factor sign-in turned off")
    TWO_FACTOR_FAILED = "two_factor_failed", _("Wrong two-factor code")
    RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    API_KEY_CREATED = "api_key_created", _("API key created")
    API_KEY_USED = "api_key_used", _("API key used")
    API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
    API_KEY_ROTATED = "api_key_rotated", _("API key rotated")
    USER_INVITED = "user_invited", _("Colleague invited")
    USER_DEACTIVATED = "user_deactivated", _("User deactivated")
    USER_REACTIVATED = "user_reactivated", _("User reactivated")
    USER_ROLE_CHANGED = "user_role_changed", _("Colleague's role changed")
    OBJECT_ADDED = "object_added", _("Added in the back-office")
    OBJECT_CHANGED = "object_changed", _("Changed in the back-office")
    OBJECT_DELETED = "object_deleted", _("Deleted in the back-office")
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint_created", _("Webhook endpoint added")
    WEBHOOK_ENDPOINT_CHANGED = "webhook_endpoint_changed", _("Webhook endpoint changed")
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled", _("Webhook endpoint turned off")
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint_deleted", _("Webhook endpoint deleted")
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated", _("Webhook signing secret rotated")
    CASE_AUTO_ASSIGNED = "case_auto_assigned", _("Case assigned automatically")
    RETURN_POLICY_OVERRIDDEN = "return_policy_overridden", _("Return policy overridden")
    RETURN_APPROVAL_REQUESTED = "return_approval_requested", _("Return approval asked for")
    RETURN_APPROVED_ABOVE_LIMIT = "return_approved_above_limit", _("Return approved above a limit")
    SETTINGS_CHANGED = "settings_changed", _("Settings changed")
    EXPORT = "export", _("Data exported")


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    INTEGRATION = "integration", _("Integration (API key)")
    SYSTEM = "system", _("System")
    ANONYMOUS = "anonymous", _("Not signed in")


class AuditEvent(models.Model):
    """One audited action. The tenant is empty only for platform-level events (a platform
    superuser, or a failed sign-in with an e-mail address no account has)."""

    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tenant"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_kind = models.CharField(_("actor kind"), max_length=20, choices=ActorKind.choices)
    # What the actor was called when it acted (an e-mail typed at a failed sign-in, a key's name).
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    target_type = models.CharField(_("object type"), max_length=100, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_label = models.CharField(_("object"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser or client"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-at"], name="audit_tenant_at_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.actor_label}"

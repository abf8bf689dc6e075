"""Secrets that open the API without a password: personal API tokens now, tenant API keys on
the same base later. Rows keep only a hash of the secret (rma_portal/credentials/keys.py)
and are revoked, never deleted, so the audit log always has the row it names."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import keys


class CredentialState(models.TextChoices):
    ACTIVE = "active", _("active")
    EXPIRED = "expired", _("expired")
    REVOKED = "revoked", _("revoked")


class RevokeReason(models.TextChoices):
    BY_OWNER = "by_owner", _("Revoked by its user")
    BY_ADMIN = "by_admin", _("Revoked in the back-office")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    USER_DEACTIVATED = "user_deactivated", _("User deactivated")


class CredentialQuerySet(models.QuerySet):
    def usable(self, now: datetime.datetime | None = None) -> CredentialQuerySet:
        """Neither revoked nor expired at `now`."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class HashedCredential(models.Model):
    """What every issued secret has: a name, a public prefix, the hash of the secret, a
    lifetime, when it was last used and whether (and why) it was revoked.

    Plain models, not tenant-owned ones: a request is authenticated by its key before any
    tenant is known, so the lookup cannot run under a tenant scope.
    """

    KIND: ClassVar[str]

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=32, db_index=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked on"), null=True, blank=True, editable=False)
    revoked_reason = models.CharField(
        _("why revoked"), max_length=30, choices=RevokeReason.choices, blank=True, editable=False
    )

    objects = CredentialQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix})"

    @property
    def display_prefix(self) -> str:
        return f"{self.prefix}…"

    def state_at(self, now: datetime.datetime) -> CredentialState:
        if self.revoked_at is not None:
            return CredentialState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return CredentialState.EXPIRED
        return CredentialState.ACTIVE

    @property
    def state(self) -> CredentialState:
        return self.state_at(timezone.now())

    def get_state_display(self) -> str:
        return self.state.label


class PersonalToken(HashedCredential):
    """A user's own API token (`Authorization: Token <key>`): acts as that user, with that
    user's role, and dies with the user's password or account."""

    KIND = keys.PERSONAL_TOKEN

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="personal_tokens",
        verbose_name=_("user"),
    )
    # The user's tenant, copied: the back-office lists a tenant's tokens without a join.
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, related_name="+", verbose_name=_("tenant")
    )

    class Meta:
        verbose_name = _("personal API token")
        verbose_name_plural = _("personal API tokens")
        ordering = ["-created_at", "-pk"]

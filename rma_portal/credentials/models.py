"""Secrets that open the API without a password: personal API tokens (a person's) and tenant
API keys (the tenant's integration's). Rows keep only a hash of the secret
(rma_portal/credentials/keys.py) and are revoked, never deleted, so the audit log always has
the row it names. Also the API's idempotency records (rma_portal/api/idempotency.py)."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rma_portal.tenancy.models import TenantOwnedModel

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
    BY_API = "by_api", _("Revoked through the API")


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


class ApiScope(models.TextChoices):
    """What an API key may do: the one list of scopes, with the labels the back-office shows.
    A view names the scopes it needs with rma_portal.api.permissions.require_scopes; a scope
    grants nothing beyond what the integration's role allows."""

    CATALOG_WRITE = "catalog:write", _("Catalogue: create and change products")
    ORDERS_READ = "orders:read", _("Orders: read")
    ORDERS_WRITE = "orders:write", _("Orders: create and change")
    RETURNS_READ = "returns:read", _("Returns: read")
    RETURNS_WRITE = "returns:write", _("Returns: file and act on them")
    COMPLAINTS_READ = "complaints:read", _("Complaints: read")
    COMPLAINTS_WRITE = "complaints:write", _("Complaints: file, reply and act on them")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Webhooks: manage endpoints")


def validate_scopes(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one scope."))
    unknown = sorted(str(scope) for scope in value if scope not in ApiScope.values)
    if unknown:
        raise ValidationError(
            _("Unknown scope: %(scopes)s."), params={"scopes": ", ".join(unknown)}
        )


class ApiKey(HashedCredential):
    """A tenant's key for its integrations (`Authorization: Api-Key <key>`): acts as the
    tenant's integration user (role Integration, one per tenant), limited to its `scopes`.

    Rotating a key issues a new one (`rotated_to`) with the same name and scopes, and cuts the
    old one's life to a grace period, so the integration can switch without downtime.
    """

    KIND = keys.API_KEY

    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.PROTECT,
        related_name="api_keys",
        verbose_name=_("tenant"),
    )
    # The tenant's integration user: who the key acts as, in cases' timelines and the API.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("acts as"),
        editable=False,
    )
    scopes = models.JSONField(_("scopes"), default=list, validators=[validate_scopes])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    rotated_to = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rotated_from",
        verbose_name=_("replaced by"),
        editable=False,
    )
    rotated_at = models.DateTimeField(_("rotated on"), null=True, blank=True, editable=False)
    # When its last "API key used" audit row was written (at most one an hour).
    use_audited_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="api_key_tenant_idx")]

    @property
    def audit_label(self) -> str:
        """How audit rows name the actor (rma_portal.security.audit.record)."""
        return f"API key {self.name}"

    def get_scopes_display(self) -> str:
        labels = dict(ApiScope.choices)
        return ", ".join(str(labels.get(scope, scope)) for scope in self.scopes)


class IdempotencyRecord(TenantOwnedModel):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed to retries of the
    same request (rma_portal/api/idempotency.py). Keyed by who sent it (`principal`: a user or
    an API key) and their key; `status_code` is empty while the first request runs. Deleted
    once `expires_at` is past (the outbox sweep)."""

    principal = models.CharField(_("sent by"), max_length=40)
    key = models.CharField(_("idempotency key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    response_body = models.BinaryField(_("answer"), default=bytes)
    response_headers = models.JSONField(_("answer headers"), default=dict)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "principal", "key"], name="idempotency_record_unique"
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_sweep_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"

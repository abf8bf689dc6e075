"""Issuing, checking and revoking personal API tokens and tenant API keys. Every issue,
rotation and revocation is written to the audit log; a secret is returned once, by
`issue_personal_token`, `issue_api_key` or `rotate_api_key`, and never stored."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

import django_otp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rma_portal.accounts.models import Role
from rma_portal.errors import ApplicationError
from rma_portal.notifications.preferences import all_never
from rma_portal.security.audit import record
from rma_portal.security.models import ActorKind, AuditAction
from rma_portal.tenancy.models import Tenant

from . import keys
from .models import ApiKey, ApiScope, CredentialState, IdempotencyRecord, PersonalToken

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = PersonalToken._meta.get_field("name").max_length


def may_hold_tokens(user) -> bool:
    """The people the API serves (rma_portal.api.permissions.is_tenant_user): customer and
    staff users of a tenant. Platform superusers have no tenant and no API."""
    return bool(
        user
        and user.is_authenticated
        and user.tenant_id
        and (user.is_customer or user.is_tenant_staff)
        and not user.is_integration  # acts only through API keys
    )


def two_factor_setup_missing(user) -> bool:
    """Staff of a tenant that requires two-factor sign-in, without a confirmed device: they
    may not get a token, which would let them skip the second factor."""
    tenant = user.tenant if user.tenant_id else None
    return bool(
        user.is_tenant_staff
        and getattr(tenant, "staff_two_factor_required", False)
        and not django_otp.user_has_device(user, confirmed=True)
    )


def default_lifetime_days() -> int:
    return settings.API_TOKEN_DEFAULT_DAYS


def max_lifetime_days() -> int:
    return settings.API_TOKEN_MAX_DAYS


@dataclass(frozen=True)
class IssuedToken:
    token: PersonalToken
    key: str  # shown to the user once; only its hash is stored


def issue_personal_token(
    *,
    user,
    name: str = "",
    expires_in_days: int | None = None,
    via: str,
    request=None,
    now: datetime.datetime | None = None,
) -> IssuedToken:
    """A new token for `user`, valid `expires_in_days` (default API_TOKEN_DEFAULT_DAYS, at most
    API_TOKEN_MAX_DAYS). A user holds at most API_TOKEN_MAX_ACTIVE usable tokens."""
    if not may_hold_tokens(user):
        raise ApplicationError(
            _("API tokens are for users of a tenant; platform accounts cannot use the API."),
            code="forbidden",
        )
    if two_factor_setup_missing(user):
        raise ApplicationError(two_factor_setup_message(), code="two_factor_required")
    days = default_lifetime_days() if expires_in_days is None else expires_in_days
    if not 1 <= days <= max_lifetime_days():
        message = lifetime_message()
        raise ApplicationError(message, code="invalid", fields={"expires_in_days": [message]})
    name = (name or "").strip()[:NAME_MAX_LENGTH] or _("API token")
    now = now or timezone.now()
    with transaction.atomic():
        # Locking the user's row makes the count and the insert one step: two requests at
        # once cannot both take the last free place.
        get_user_model()._default_manager.select_for_update().filter(pk=user.pk).first()
        active = PersonalToken.objects.filter(user=user).usable(now).count()
        if active >= settings.API_TOKEN_MAX_ACTIVE:
            raise ApplicationError(
                _(
                    "You already have the most active API tokens allowed (%(count)d). "
                    "Revoke one you no longer use, then create a new one."
                )
                % {"count": active},
                code="too_many_tokens",
            )
        new = keys.generate(PersonalToken.KIND)
        token = PersonalToken.objects.create(
            user=user,
            tenant_id=user.tenant_id,
            name=name,
            prefix=new.prefix,
            key_hash=new.digest,
            created_at=now,
            expires_at=now + datetime.timedelta(days=days),
        )
        record(
            AuditAction.TOKEN_CREATED,
            request=request,
            user=user,
            tenant=user.tenant,
            target=token,
            details={
                "prefix": token.prefix,
                "expires_at": token.expires_at.isoformat(),
                "via": via,
            },
        )
    return IssuedToken(token=token, key=new.key)


def two_factor_setup_message() -> str:
    return _(
        "Your organisation requires two-factor sign-in for staff. Turn it on for your "
        "account before creating API tokens."
    )


def lifetime_message() -> str:
    return _("Choose between 1 and %(days)d days.") % {"days": max_lifetime_days()}


def revoke_token(
    token: PersonalToken,
    *,
    reason: str,
    actor=None,
    request=None,
    now: datetime.datetime | None = None,
) -> bool:
    """Revoke one token; False when it already was (nothing changes, nothing is audited).
    `actor` is who revoked it; none means the system did (password change, deactivation)."""
    now = now or timezone.now()
    changed = PersonalToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    if not changed:
        return False
    token.revoked_at, token.revoked_reason = now, reason
    record(
        AuditAction.TOKEN_REVOKED,
        request=request,
        user=actor,
        tenant=token.tenant,
        actor_kind=ActorKind.USER if actor is not None else ActorKind.SYSTEM,
        target=token,
        details={"prefix": token.prefix, "reason": reason, "owner": token.user.email},
    )
    return True


def revoke_user_tokens(user, *, reason: str, now: datetime.datetime | None = None) -> int:
    """Revoke every token of `user` not yet revoked (expired ones too: they must not come
    back if their expiry is ever extended). Returns how many were revoked."""
    count = 0
    for token in PersonalToken.objects.filter(user=user, revoked_at__isnull=True).select_related(
        "user", "tenant"
    ):
        count += revoke_token(token, reason=reason, now=now)
    return count


# --- authentication --------------------------------------------------------------------------


class TokenRejected(Exception):
    """A presented key that does not open the API, with the message and code to answer."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def find_personal_token(key: str, *, now: datetime.datetime | None = None) -> PersonalToken:
    """The usable token whose key this is, with its user and tenant; raises TokenRejected.

    Rows are found by the key's public prefix and matched by comparing hashes in constant
    time. The caller still checks that the user may sign in (RoleBackend), then calls
    `record_use`.
    """
    parsed = keys.parse(key)
    if parsed is None or parsed.kind != PersonalToken.KIND:
        raise TokenRejected(_("Invalid token."), "authentication_failed")
    presented = keys.digest(key)
    token = None
    for candidate in PersonalToken.objects.select_related("user", "user__tenant", "tenant").filter(
        prefix=parsed.prefix
    ):
        if keys.same_digest(candidate.key_hash, presented):
            token = candidate
    # A user never changes tenant; a token whose tenant is not its user's is refused anyway.
    if token is None or token.tenant_id != token.user.tenant_id:
        raise TokenRejected(_("Invalid token."), "authentication_failed")
    now = now or timezone.now()
    if token.revoked_at is not None:
        raise TokenRejected(
            _("This token was revoked. Create a new one to use the API."), "token_revoked"
        )
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRejected(
            _("This token has expired. Create a new one to use the API."), "token_expired"
        )
    return token


def record_use(token: PersonalToken, *, now: datetime.datetime | None = None) -> None:
    """Remember when the token was last used, writing at most once per
    API_TOKEN_LAST_USED_INTERVAL seconds per token rather than at every request."""
    now = now or timezone.now()
    interval = datetime.timedelta(seconds=settings.API_TOKEN_LAST_USED_INTERVAL)
    if token.last_used_at is not None and now - token.last_used_at < interval:
        return
    # Conditional: of concurrent requests, one writes.
    PersonalToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - interval)
    ).update(last_used_at=now)
    token.last_used_at = now


# --- tenant API keys -------------------------------------------------------------------------

API_KEY_NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length
# A rotated key keeps working this long by default, so the integration can switch without a
# gap; each rotation may choose from 0 (at once) to the maximum.
DEFAULT_ROTATION_GRACE = datetime.timedelta(hours=24)
MAX_ROTATION_GRACE = datetime.timedelta(days=7)
# Usable keys per tenant: enough for every system of a merchant, few enough to review.
MAX_ACTIVE_API_KEYS = 50
# "API key used" is audited at most this often per key, not at every request.
API_KEY_USE_AUDIT_INTERVAL = datetime.timedelta(hours=1)
INTEGRATION_NAME = "Integration"


def may_manage_api_keys(user, tenant) -> bool:
    """Tenant admins of `tenant`, and platform superusers (in the back-office, switched into
    it). Never a key: the integration user is no tenant admin."""
    if tenant is None or not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser and user.tenant_id is None:
        return True
    return user.tenant_id == tenant.pk and user.role == Role.TENANT_ADMIN


def integration_user(tenant):
    """The tenant's integration user, which its API keys act as; made on first use.

    A system account, not a person: role Integration, an unusable password, an address that
    can receive no mail (`.invalid`, RFC 2606), no status e-mails. The sign-in pages refuse it
    (rma_portal.accounts.backends.is_not_integration). The caller holds the tenant's row lock,
    so two first keys at once make one user.
    """
    User = get_user_model()
    existing = (
        User._default_manager.filter(tenant=tenant, role=Role.INTEGRATION).order_by("pk").first()
    )
    if existing is not None:
        return existing
    email = f"integration@{tenant.slug}.invalid"
    if User._default_manager.filter(email=email).exists():  # a slug given up by another tenant
        email = f"integration+{tenant.pk}@{tenant.slug}.invalid"
    return User.objects.create_user(
        email=email,
        password=None,
        tenant=tenant,
        role=Role.INTEGRATION,
        full_name=INTEGRATION_NAME,
        email_preferences=all_never(),
    )


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    key: str  # shown once; only its hash is stored


def _clean_api_key_input(
    *, name: str, scopes, expires_at: datetime.datetime | None, now: datetime.datetime
) -> tuple[str, list[str]]:
    fields: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        fields["name"] = [_("Name the key after the system that uses it.")]
    elif len(name) > API_KEY_NAME_MAX_LENGTH:
        fields["name"] = [_("At most %(count)d characters.") % {"count": API_KEY_NAME_MAX_LENGTH}]
    chosen = set(scopes or [])
    unknown = sorted(str(scope) for scope in chosen if scope not in ApiScope.values)
    if unknown:
        fields["scopes"] = [_("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}]
    elif not chosen:
        fields["scopes"] = [_("Choose at least one scope.")]
    if expires_at is not None and expires_at <= now:
        fields["expires_at"] = [_("Choose a time in the future, or none.")]
    if fields:
        first = next(iter(fields.values()))[0]
        raise ApplicationError(first, code="invalid", fields=fields)
    # Stored in the order of ApiScope, each once.
    return name, [scope for scope in ApiScope.values if scope in chosen]


def _refuse_unless_manager(actor, tenant) -> None:
    if not may_manage_api_keys(actor, tenant):
        raise ApplicationError(_("Only tenant admins manage API keys."), code="forbidden")


def issue_api_key(
    *,
    tenant,
    name: str,
    scopes,
    expires_at: datetime.datetime | None = None,
    actor,
    via: str,
    request=None,
    now: datetime.datetime | None = None,
) -> IssuedApiKey:
    """A new key of `tenant` acting as its integration user with `scopes`, until `expires_at`
    (none: until revoked or rotated). A tenant holds at most MAX_ACTIVE_API_KEYS usable keys."""
    _refuse_unless_manager(actor, tenant)
    now = now or timezone.now()
    name, scopes = _clean_api_key_input(name=name, scopes=scopes, expires_at=expires_at, now=now)
    with transaction.atomic():
        # The tenant's row lock makes "count, then insert" and "find or make the integration
        # user" one step each: concurrent requests cannot pass the cap or make two users.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        active = ApiKey.objects.filter(tenant=tenant).usable(now).count()
        if active >= MAX_ACTIVE_API_KEYS:
            raise ApplicationError(
                _(
                    "This tenant already has the most usable API keys allowed (%(count)d). "
                    "Revoke one that is no longer used, then create a new one."
                )
                % {"count": active},
                code="too_many_api_keys",
            )
        new = keys.generate(ApiKey.KIND)
        api_key = ApiKey.objects.create(
            tenant=tenant,
            user=integration_user(tenant),
            name=name,
            scopes=scopes,
            prefix=new.prefix,
            key_hash=new.digest,
            created_at=now,
            expires_at=expires_at,
            created_by=actor,
        )
        record(
            AuditAction.API_KEY_CREATED,
            request=request,
            user=actor,
            tenant=tenant,
            target=api_key,
            details={
                "prefix": api_key.prefix,
                "scopes": scopes,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "via": via,
            },
        )
    return IssuedApiKey(api_key=api_key, key=new.key)


def revoke_api_key(
    api_key: ApiKey,
    *,
    actor,
    reason: str,
    via: str,
    request=None,
    now: datetime.datetime | None = None,
) -> bool:
    """Revoke one key at once (a rotated key's grace period ends too); False when it already
    was revoked (nothing changes, nothing is audited)."""
    _refuse_unless_manager(actor, api_key.tenant)
    now = now or timezone.now()
    changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    if not changed:
        return False
    api_key.revoked_at, api_key.revoked_reason = now, reason
    record(
        AuditAction.API_KEY_REVOKED,
        request=request,
        user=actor,
        tenant=api_key.tenant,
        target=api_key,
        details={"prefix": api_key.prefix, "reason": reason, "via": via},
    )
    return True


def grace_message() -> str:
    return _("Choose a grace period between 0 and %(hours)d hours.") % {
        "hours": MAX_ROTATION_GRACE // datetime.timedelta(hours=1)
    }


def rotate_api_key(
    api_key: ApiKey,
    *,
    actor,
    grace: datetime.timedelta | None = None,
    via: str,
    request=None,
    now: datetime.datetime | None = None,
) -> IssuedApiKey:
    """Replace a usable key by a new one with the same name, scopes and expiry; the old one
    keeps working for `grace` (default DEFAULT_ROTATION_GRACE, at most MAX_ROTATION_GRACE),
    then is refused as expired. A key is rotated once: the next rotation is its
    replacement's."""
    _refuse_unless_manager(actor, api_key.tenant)
    grace = DEFAULT_ROTATION_GRACE if grace is None else grace
    if not datetime.timedelta(0) <= grace <= MAX_ROTATION_GRACE:
        message = grace_message()
        raise ApplicationError(message, code="invalid", fields={"grace_hours": [message]})
    now = now or timezone.now()
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().select_related("tenant").get(pk=api_key.pk)
        if locked.rotated_to_id is not None:
            raise ApplicationError(
                _("This API key was already rotated; rotate its replacement instead."),
                code="conflict",
            )
        if locked.state_at(now) != CredentialState.ACTIVE:
            raise ApplicationError(
                _("Only an active API key can be rotated; create a new one instead."),
                code="conflict",
            )
        new = keys.generate(ApiKey.KIND)
        replacement = ApiKey.objects.create(
            tenant=locked.tenant,
            user=integration_user(locked.tenant),
            name=locked.name,
            scopes=list(locked.scopes),
            prefix=new.prefix,
            key_hash=new.digest,
            created_at=now,
            expires_at=locked.expires_at,
            created_by=actor,
        )
        grace_until = now + grace
        if locked.expires_at is None or locked.expires_at > grace_until:
            locked.expires_at = grace_until
        locked.rotated_to = replacement
        locked.rotated_at = now
        locked.save(update_fields=["expires_at", "rotated_to", "rotated_at"])
        record(
            AuditAction.API_KEY_ROTATED,
            request=request,
            user=actor,
            tenant=locked.tenant,
            target=locked,
            details={
                "prefix": locked.prefix,
                "replaced_by": replacement.prefix,
                "old_key_expires_at": locked.expires_at.isoformat(),
                "via": via,
            },
        )
    api_key.expires_at, api_key.rotated_to, api_key.rotated_at = (
        locked.expires_at,
        replacement,
        now,
    )
    return IssuedApiKey(api_key=replacement, key=new.key)


def find_api_key(key: str, *, now: datetime.datetime | None = None) -> ApiKey:
    """The usable API key whose secret this is, with its tenant and integration user; raises
    TokenRejected. Found by the public prefix, matched by hash in constant time; the caller
    then checks `integration_may_act` and calls `record_api_key_use`."""
    parsed = keys.parse(key)
    if parsed is None or parsed.kind != ApiKey.KIND:
        raise TokenRejected(_("Invalid API key."), "authentication_failed")
    presented = keys.digest(key)
    api_key = None
    for candidate in ApiKey.objects.select_related("user", "tenant").filter(prefix=parsed.prefix):
        if keys.same_digest(candidate.key_hash, presented):
            api_key = candidate
    if api_key is None:
        raise TokenRejected(_("Invalid API key."), "authentication_failed")
    if api_key.user.tenant_id == api_key.tenant_id:
        api_key.user.tenant = api_key.tenant  # loaded once; the request reads it again
    now = now or timezone.now()
    if api_key.revoked_at is not None:
        raise TokenRejected(_("This API key was revoked."), "api_key_revoked")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        if api_key.rotated_to_id is not None:
            message = _("This API key was replaced and its grace period is over; use the new key.")
        else:
            message = _("This API key has expired.")
        raise TokenRejected(message, "api_key_expired")
    return api_key


def integration_may_act(api_key: ApiKey) -> bool:
    """The key's user is still its tenant's active integration user, and the tenant is active.
    Not RoleBackend's sign-in checks: those refuse the integration user on purpose."""
    user = api_key.user
    return bool(
        user.is_active
        and user.is_integration
        and user.tenant_id == api_key.tenant_id
        and api_key.tenant.is_active
    )


def record_api_key_use(
    api_key: ApiKey, *, request=None, now: datetime.datetime | None = None
) -> None:
    """Remember when the key was last used (at most once per API_TOKEN_LAST_USED_INTERVAL
    seconds, like tokens), and audit its use at most once per API_KEY_USE_AUDIT_INTERVAL: a
    row per request would bury every other row of the tenant's log. Both decisions are read
    from the row already loaded, so a request usually writes nothing."""
    now = now or timezone.now()
    interval = datetime.timedelta(seconds=settings.API_TOKEN_LAST_USED_INTERVAL)
    if api_key.last_used_at is None or now - api_key.last_used_at >= interval:
        # Conditional: of concurrent requests, one writes.
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - interval)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    audit_interval = API_KEY_USE_AUDIT_INTERVAL
    if api_key.use_audited_at is not None and now - api_key.use_audited_at < audit_interval:
        return
    claimed = (
        ApiKey.objects.filter(pk=api_key.pk)
        .filter(Q(use_audited_at__isnull=True) | Q(use_audited_at__lte=now - audit_interval))
        .update(use_audited_at=now)
    )
    api_key.use_audited_at = now
    if claimed:
        record(
            AuditAction.API_KEY_USED,
            request=request,
            user=api_key.user,
            tenant=api_key.tenant,
            target=api_key,
            details={"prefix": api_key.prefix},
        )


# --- idempotency records -------------------------------------------------------------------

# How long the API keeps the answer to a POST sent with an Idempotency-Key
# (rma_portal/api/idempotency.py): a retry within this time gets the same answer.
IDEMPOTENCY_RETENTION = datetime.timedelta(hours=24)


def sweep_idempotency_records(*, now: datetime.datetime) -> int:
    """Delete the records past their expiry, of every tenant (registered with the outbox sweep,
    which runs every minute). Returns 0: nothing is handed out again."""
    deleted, _per_model = IdempotencyRecord.unscoped.filter(expires_at__lte=now).delete()
    if deleted:
        logger.info("expired idempotency records deleted", extra={"count": deleted})
    return 0

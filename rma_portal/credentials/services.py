"""Issuing, checking and revoking personal API tokens. Every issue and revocation is written
to the audit log; the secret itself is returned once, by `issue_personal_token`, and never
stored."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import django_otp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rma_portal.errors import ApplicationError
from rma_portal.security.audit import record
from rma_portal.security.models import ActorKind, AuditAction

from . import keys
from .models import PersonalToken

NAME_MAX_LENGTH = PersonalToken._meta.get_field("name").max_length


def may_hold_tokens(user) -> bool:
    """The people the API serves (rma_portal.api.permissions.is_tenant_user): customer and
    staff users of a tenant. Platform superusers have no tenant and no API."""
    return bool(
        user
        and user.is_authenticated
        and user.tenant_id
        and (user.is_customer or user.is_tenant_staff)
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

"""Sign-in lockout: password guessing on the sign-in page, the back-office sign-in and the API
token endpoint (docs/security.md#sign-in-lockout-and-client-addresses).

django-axes counts the failed sign-ins (`AccessAttempt` rows, one per account, address and
browser) and refuses every sign-in, even with the right password, once the failures counted
within the cool-off reach a limit: LOGIN_FAILURE_LIMIT for one account (the e-mail typed,
normalised like User.email), LOGIN_ADDRESS_FAILURE_LIMIT for one client address (read by
`client_ip`, so a forged X-Forwarded-For changes nothing). The lockout ends by itself
LOGIN_LOCKOUT_MINUTES after the last counted failure; a new password (the reset link) or a tenant
admin (the back-office user list) lifts an account's lockout at once.

This module holds what the settings name (AXES_HANDLER, AXES_USERNAME_CALLABLE,
AXES_COOLOFF_TIME, AXES_LOCKOUT_CALLABLE), the lifting of a lockout, and the audit receivers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit, get_lockout_parameters
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Sum
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from rma_portal.errors import error_body

from .audit import record
from .models import ActorKind, AuditAction

# What the API answers while locked out (the page says the same with the time).
API_LOCKED_OUT_MESSAGE = _(
    "Too many failed sign-ins: signing in is paused for a while. Try again later, or reset "
    "your password."
)
LOCKED_OUT_TEMPLATE = "registration/locked_out.html"

# The lockout parameters (AXES_LOCKOUT_PARAMETERS) and what the audit log calls them.
_REASONS = {"username": "account", "ip_address": "address"}


def cool_off_time(request=None) -> timedelta:
    """AXES_COOLOFF_TIME: LOGIN_LOCKOUT_MINUTES as a duration."""
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def normalised_email(value) -> str:
    """An e-mail the way the User manager stores it (stripped, lower-cased); '' for anything
    that is not a string."""
    return value.strip().lower() if isinstance(value, str) else ""


def _submitted(request) -> Mapping:
    data = getattr(request, "data", None)  # a DRF request's parsed body
    if data is None:
        data = getattr(request, "POST", None)
    return data if isinstance(data, Mapping) else {}


def axes_username(request, credentials: Mapping | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a sign-in names, normalised like User.email, so that
    "Alice@Example.com " and "alice@example.com" count against one account. The sign-in forms
    send it as `username`, the token endpoint as `email`."""
    for source in (credentials or {}, _submitted(request) if request is not None else {}):
        for key in ("username", "email"):
            typed = normalised_email(source.get(key))
            if typed:
                return typed
    return None


def _limit_of(parameter, account_limit: int) -> int:
    return settings.LOGIN_ADDRESS_FAILURE_LIMIT if parameter == "ip_address" else account_limit


@dataclass(frozen=True)
class LockoutState:
    """Which limits the counted failures reach, and when the last of them stops counting."""

    until: datetime | None = None
    reasons: list[str] = field(default_factory=list)


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler with a limit of its own for the client address.

    axes compares one number of failures with one limit (AXES_FAILURE_LIMIT, here the
    account's). People of one customer company often share an office address, so the address
    gets a higher limit (LOGIN_ADDRESS_FAILURE_LIMIT): its count is given to axes in units of the
    account limit, rounded down, which reaches AXES_FAILURE_LIMIT exactly when the address
    reaches its own limit.
    """

    def counted(self, request, credentials=None) -> list[tuple[str, QuerySet, int]]:
        """(parameter, its failures within the cool-off, its limit) per lockout parameter."""
        account_limit = get_failure_limit(request, credentials)
        parameters = get_lockout_parameters(request, credentials)
        attempts = self.get_user_attempts(request, credentials)
        return [
            (str(parameter), rows, _limit_of(parameter, account_limit))
            for parameter, rows in zip(parameters, attempts, strict=True)
        ]

    def get_failures(self, request, credentials=None) -> int:
        account_limit = get_failure_limit(request, credentials)
        worst = 0
        for _parameter, rows, limit in self.counted(request, credentials):
            failures = rows.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, failures * account_limit // limit)
        return worst

    def state(self, request, credentials=None) -> LockoutState:
        """The limits reached and when the lockout ends: a row stops counting a cool-off after
        its last failure, the oldest first, and each limit holds until the rows still counted
        fall below it."""
        cool_off = get_cool_off(request)
        until, reasons = None, []
        for parameter, rows, limit in self.counted(request, credentials):
            times = list(
                rows.order_by("attempt_time").values_list("attempt_time", "failures_since_start")
            )
            remaining = sum(failures for _at, failures in times)
            if remaining < limit:
                continue
            reasons.append(_REASONS.get(parameter, parameter))
            for at, failures in times:
                remaining -= failures
                if remaining < limit:
                    ends = at + cool_off
                    until = ends if until is None else max(until, ends)
                    break
        return LockoutState(until=until, reasons=reasons)


def lockout_state(request, credentials=None) -> LockoutState:
    AxesProxyHandler.update_request(request)
    handler = AxesProxyHandler.get_implementation()
    if isinstance(handler, LockoutHandler):
        return handler.state(request, credentials)
    return LockoutState()


def locked_until(request, credentials=None) -> datetime:
    """When signing in is possible again for this request's account and address."""
    return lockout_state(request, credentials).until or timezone.now() + cool_off_time(request)


def retry_after_seconds(until: datetime) -> int:
    return max(1, math.ceil((until - timezone.now()).total_seconds()))


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the answer to a sign-in refused by the lockout.

    429 with Retry-After, never cached. The page says until when, and offers the password reset,
    and is the same whether or not the e-mail has an account: the time comes from the failures
    counted, which are kept for any e-mail typed. Under /api/ the answer is the API's error
    shape (rma_portal/api/exceptions.py answers the token endpoint the same way).
    """
    until = locked_until(request, credentials or getattr(request, "axes_credentials", None))
    if _is_api(request):
        response = JsonResponse(error_body("locked_out", str(API_LOCKED_OUT_MESSAGE)), status=429)
    else:
        # "After 14:05" must never be early: the minute is rounded up.
        shown = until + timedelta(seconds=59, microseconds=999_999)
        context = {"until": shown.replace(second=0, microsecond=0)}
        response = render(request, LOCKED_OUT_TEMPLATE, context, status=429)
    response["Retry-After"] = str(retry_after_seconds(until))
    add_never_cache_headers(response)
    return response


# --- lifting a lockout ------------------------------------------------------------------------


def lift_account_lockout(user, *, reason: str, by=None, request=None) -> bool:
    """Forget the failed sign-ins counted against `user`'s account. True, with an UNLOCKED audit
    row naming who lifted it (`by`, else the system), when they had locked it out.

    Only the account's count goes: a lockout of a client address ends with its cool-off (or
    `manage.py axes_reset_ip`), never by an action of one tenant.
    """
    email = normalised_email(user.email)
    if not email:
        return False
    since = timezone.now() - cool_off_time()
    counted = (
        AccessAttempt.objects.filter(username=email, attempt_time__gte=since).aggregate(
            total=Sum("failures_since_start")
        )["total"]
        or 0
    )
    axes_reset(username=email)
    if counted < get_failure_limit(request, {"username": email}):
        return False
    record(
        AuditAction.UNLOCKED,
        request=request,
        user=by,
        tenant=user.tenant if user.tenant_id else None,
        actor_kind=None if by is not None else ActorKind.SYSTEM,
        target=user,
        details={"reason": reason},
    )
    return True


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="lockout_new_password")
def _new_password(sender, instance, created, **kwargs):
    """A new password ends the account's lockout: the failures counted were guesses at the old
    one. This is how the password-reset link unlocks an account (and the password change page
    and the back-office's "set password" too). `set_password()` keeps the new password in
    `_password` until `save()` has run."""
    if created or getattr(instance, "_password", None) is None:
        return
    lift_account_lockout(instance, reason="new_password")


# --- the audit log ----------------------------------------------------------------------------


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    """One LOCKED_OUT row when a lockout begins. axes also sends the signal at each attempt
    refused while locked out; those count no failure (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_
    LOCKOUT is off), and only an attempt that counted one has `axes_failures_since_start`."""
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    credentials = getattr(request, "axes_credentials", None)
    state = lockout_state(request, credentials)
    typed = normalised_email(username)
    known = get_user_model()._default_manager.filter(email=typed).select_related("tenant")
    user = known.first() if typed else None
    record(
        AuditAction.LOCKED_OUT,
        request=getattr(request, "_request", request),  # the HttpRequest under a DRF request
        user=None,
        tenant=user.tenant if user is not None else None,
        actor_label=typed,
        target=user,
        details={
            "account_exists": user is not None,
            "limits_reached": state.reasons,
            "until": (state.until or locked_until(request, credentials)).isoformat(),
        },
    )

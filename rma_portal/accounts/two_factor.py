"""Two-factor sign-in with django-otp: authenticator apps (TOTP) and single-use recovery codes.

Who must use it (`two_factor_required`), how a code is checked (`check_code`), the sign-in
that waits for a code after the password (`PendingSignIn`), enrolment and recovery codes, and
the one gate that keeps a session without a code out of every page (`TwoFactorRequiredMiddleware`).
See docs/security.md#two-factor-sign-in.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import time
from base64 import b32encode
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib.auth import load_backend, logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_otp.models import MAX_THROTTLE_DELAY_SECONDS
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from rma_portal.errors import error_body

from .models import User

TOTP_CODE = re.compile(r"\d{6}")
RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")  # StaticToken.random_token(): 40 random bits
PENDING_SESSION_KEY = "two_factor_pending"
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


class Clock:
    """The time codes, their throttling and pending sign-ins are checked against: the system
    clock, unless a caller fixes it (`with clock.fixed(t): ...`, `clock.advance(30)`), so that
    a code computed for one moment is checked at that very moment."""

    def __init__(self) -> None:
        self._fixed: float | None = None

    def time(self) -> float:
        return time.time() if self._fixed is None else self._fixed

    def now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.time(), tz=datetime.UTC)

    @contextlib.contextmanager
    def fixed(self, at: float) -> Iterator[Clock]:
        previous, self._fixed = self._fixed, float(at)
        try:
            yield self
        finally:
            self._fixed = previous

    def advance(self, seconds: float) -> None:
        if self._fixed is None:
            raise RuntimeError("Only a fixed clock can be moved.")
        self._fixed += seconds


clock = Clock()


# --- who ------------------------------------------------------------------------------------


def two_factor_required(user) -> bool:
    """Staff of a tenant that requires it, and platform superusers when
    PLATFORM_TWO_FACTOR_REQUIRED is on. Customers choose for themselves."""
    if not user.is_authenticated:
        return False
    if user.is_superuser and user.tenant_id is None:
        return settings.PLATFORM_TWO_FACTOR_REQUIRED
    return bool(user.is_tenant_staff and user.tenant_id and user.tenant.staff_two_factor_required)


def has_two_factor(user) -> bool:
    """Whether signing in takes a code after the password: a confirmed authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- checking a code ------------------------------------------------------------------------


def normalise_code(code: str) -> str:
    """What people type: spaces and hyphens anywhere, recovery codes in capitals."""
    return re.sub(r"[\s-]+", "", code or "").lower()


@dataclass(frozen=True)
class CodeCheck:
    device: TOTPDevice | StaticDevice | None = None
    recovery: bool = False  # a recovery code was typed (whether or not it was right)
    throttled: bool = False  # too many wrong codes just now: not checked at all

    @property
    def ok(self) -> bool:
        return self.device is not None


def _throttled(device, at: datetime.datetime) -> bool:
    """django-otp's back-off (1, 2, 4, 8 ... seconds after each wrong code in a row, per
    device), decided by `clock`."""
    if not device.throttling_enabled or not device.throttling_failure_count:
        return False
    if device.throttling_failure_timestamp is None:
        return False
    delay = min(
        device.get_throttle_factor() * 2 ** (device.throttling_failure_count - 1),
        MAX_THROTTLE_DELAY_SECONDS,
    )
    return (at - device.throttling_failure_timestamp).total_seconds() < delay


def _totp_matches(device: TOTPDevice, code: str, at: float) -> bool:
    """The device's code of the step at `at` (or one step either side), never one of a step
    already used: a code seen once cannot be replayed."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at
    if not totp.verify(int(code), device.tolerance, device.last_t + 1):
        return False
    device.last_t = totp.t()
    if getattr(settings, "OTP_TOTP_SYNC", True):
        device.drift = totp.drift
    return True


def _static_matches(device: StaticDevice, code: str) -> bool:
    token = device.token_set.filter(token=code).first()
    if token is None:
        return False
    token.delete()  # single use
    return True


def _check_device(device, code: str) -> bool | None:
    """True or False, or None when the device is throttled. The device is row-locked."""
    at = clock.now()
    if _throttled(device, at):
        return None
    if isinstance(device, TOTPDevice):
        matched = _totp_matches(device, code, clock.time())
    else:
        matched = _static_matches(device, code)
    if matched:
        device.throttling_failure_count = 0
        device.throttling_failure_timestamp = None
        device.last_used_at = at
    else:
        device.throttling_failure_count += 1
        device.throttling_failure_timestamp = at
    device.save()
    return matched


def check_code(user: User, code: str) -> CodeCheck:
    """Six digits are checked against the user's authenticator app, anything else against
    their recovery codes (a used one is deleted). Devices are locked while checked, so one
    code never signs in twice."""
    code = normalise_code(code)
    if TOTP_CODE.fullmatch(code):
        model, recovery = TOTPDevice, False
    elif RECOVERY_CODE.fullmatch(code):
        model, recovery = StaticDevice, True
    else:
        return CodeCheck(recovery=False)
    throttled = False
    with transaction.atomic():
        devices = model.objects.select_for_update().filter(user=user, confirmed=True)
        for device in devices.order_by("pk"):
            result = _check_device(device, code)
            if result:
                return CodeCheck(device=device, recovery=recovery)
            throttled = throttled or result is None
    return CodeCheck(recovery=recovery, throttled=throttled)


def check_enrolment_code(device: TOTPDevice, code: str) -> CodeCheck:
    """The first code of a device being set up, which is not confirmed yet."""
    code = normalise_code(code)
    if not TOTP_CODE.fullmatch(code):
        return CodeCheck()
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        result = _check_device(locked, code)
    return CodeCheck(device=locked if result else None, throttled=result is None)


# --- enrolment ------------------------------------------------------------------------------


def device_being_set_up(user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator device, made once: reloading the set-up page
    shows the same secret, so a code from an app that already scanned it still works."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def qr_code_svg(device: TOTPDevice, title: str) -> SafeString:
    """The otpauth:// link of the device as an inline SVG QR code (no image request, no
    inline style: allowed by the Content-Security-Policy)."""
    qr = segno.make(device.config_url, error="m")
    return mark_safe(  # noqa: S308 - segno's own markup; the title is escaped by segno
        qr.svg_inline(scale=4, border=4, title=title, dark="#000", light="#fff")
    )


def manual_entry_secret(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for apps that cannot scan."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with a new set; the codes are returned once and
    kept by django-otp until used."""
    count = settings.TWO_FACTOR_RECOVERY_CODES
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes: list[str] = []
        while len(codes) < count:
            code = StaticToken.random_token()
            if code not in codes:
                codes.append(code)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def confirm_device(user: User, device: TOTPDevice) -> list[str]:
    """Turn two-factor sign-in on: the device becomes the user's only authenticator and a new
    set of recovery codes is made (and returned)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return new_recovery_codes(user)


def remove_two_factor(user: User) -> int:
    """Delete every device of the user (authenticator and recovery codes); returns how many."""
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        removed_static, _ = StaticDevice.objects.filter(user=user).delete()
    return removed + removed_static


# --- the sign-in between the password and the code ------------------------------------------


@dataclass
class PendingSignIn:
    """A correct password, kept in the (anonymous) session while the code is asked for. The
    user is not signed in; the password and session stamp of that moment are bound to it."""

    user_id: int
    backend: str
    auth_hash: str
    started: float
    redirect_to: str
    failures: int = 0

    @classmethod
    def start(cls, request: HttpRequest, user: User, redirect_to: str) -> PendingSignIn:
        # A new session key: whoever knew the old one learns nothing about this sign-in.
        request.session.cycle_key()
        pending = cls(
            user_id=user.pk,
            backend=user.backend,
            auth_hash=user.get_session_auth_hash(),
            started=clock.time(),
            redirect_to=redirect_to,
        )
        pending.save(request)
        return pending

    @classmethod
    def load(cls, request: HttpRequest) -> tuple[PendingSignIn, User] | None:
        """The pending sign-in and its user, or None when there is none any more (expired,
        too many wrong codes, the user deactivated or their password changed)."""
        data = request.session.get(PENDING_SESSION_KEY)
        if not isinstance(data, dict):
            return None
        try:
            pending = cls(**data)
            user = load_backend(pending.backend).get_user(pending.user_id)
        except (TypeError, ImportError):
            user = None
        if (
            user is None
            or clock.time() - pending.started > settings.TWO_FACTOR_PENDING_SECONDS
            or pending.failures >= settings.TWO_FACTOR_MAX_ATTEMPTS
            or not constant_time_compare(pending.auth_hash, user.get_session_auth_hash())
        ):
            cls.clear(request)
            return None
        return pending, user

    def save(self, request: HttpRequest) -> None:
        request.session[PENDING_SESSION_KEY] = asdict(self)

    @staticmethod
    def clear(request: HttpRequest) -> None:
        request.session.pop(PENDING_SESSION_KEY, None)

    @property
    def attempts_left(self) -> int:
        return max(settings.TWO_FACTOR_MAX_ATTEMPTS - self.failures, 0)


# --- the gate -------------------------------------------------------------------------------

# What a session that still needs a code may reach: setting up the app and leaving.
OPEN_VIEWS = frozenset(
    {
        "accounts:two_factor_setup",
        "accounts:logout",
        "accounts:set_language",
        "admin:logout",
        "tenant_logo",
    }
)


class TwoFactorRequiredMiddleware:
    """The one place two-factor sign-in is enforced. A signed-in user who must use it (see
    `two_factor_required`) and whose session was not verified with a code reaches only the
    set-up page and sign-out: the back-office, the dashboard, the portal and the session-
    authenticated API all stay shut. Runs after OTPMiddleware, which marks verified sessions.

    Such a session exists when the requirement is newer than the sign-in, or when a staff
    user without an app signed in with the password (and is now to set one up). A user who
    has an app but whose session was never verified is signed out and asked for the code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not two_factor_required(user):
            return None
        if getattr(user, "otp_device", None) is not None:
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_VIEWS:
            return None
        if match is not None and "api" in match.namespaces:
            message = _("Two-factor sign-in is required: set it up in the browser first.")
            return JsonResponse(error_body("forbidden", message), status=403)
        if has_two_factor(user):
            logout(request)
            return redirect_to_login(request.get_full_path())
        setup = reverse("accounts:two_factor_setup")
        return redirect(f"{setup}?{urlencode({'next': request.get_full_path()})}")

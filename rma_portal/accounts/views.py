"""Login (password, then a code when two-factor sign-in is on), logout, the Security page,
password pages, the language switch and the landing redirect."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.generic import FormView, TemplateView
from django.views.i18n import set_language as django_set_language
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login

from rma_portal.languages import languages_for, remember_language
from rma_portal.security.audit import record
from rma_portal.security.models import AuditAction

from . import two_factor
from .forms import (
    ConfirmIdentityForm,
    EmailAuthenticationForm,
    EnrolmentCodeForm,
    PasswordChangeForm,
    SetPasswordForm,
    SignInCodeForm,
    password_rules,
)
from .models import Role


def _finish_sign_in(request: HttpRequest, user, backend: str, redirect_to: str, device=None):
    """Sign the user in (a new session key), mark the session verified by `device` when a
    code was given, and switch to the user's language."""
    auth_login(request, user, backend=backend)
    if device is not None:
        otp_login(request, device)
    language = user.preferred_language
    translation.activate(language)
    return remember_language(HttpResponseRedirect(redirect_to), language)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


class LoginView(auth_views.LoginView):
    """The password step. With two-factor sign-in on, a correct password signs nobody in: it
    is remembered for a few minutes while the code is asked for (LoginCodeView). The password
    is checked by Django's AuthenticationForm, i.e. `authenticate(request, ...)`, which the
    sign-in lockout watches."""

    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        redirect_to = self.get_success_url()
        if two_factor.has_two_factor(user):
            two_factor.PendingSignIn.start(self.request, user, redirect_to)
            return redirect("accounts:login_code")
        return _finish_sign_in(self.request, user, user.backend, redirect_to)


@method_decorator(
    [sensitive_post_parameters(), csrf_protect, never_cache, login_not_required], name="dispatch"
)
class LoginCodeView(FormView):
    """The code step: a 6-digit code from the app or a recovery code. Wrong codes are audited
    and limited per sign-in (TWO_FACTOR_MAX_ATTEMPTS, then the password again) and per device
    (django-otp's growing wait after each wrong code)."""

    template_name = "registration/login_code.html"
    form_class = SignInCodeForm

    def dispatch(self, request, *args, **kwargs):
        loaded = two_factor.PendingSignIn.load(request)
        if loaded is None:
            if request.user.is_authenticated:
                return redirect("home")
            messages.info(request, _("Sign in with your e-mail address and password."))
            return redirect("accounts:login")
        self.pending, self.pending_user = loaded
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["attempts_left"] = self.pending.attempts_left
        return context

    def form_valid(self, form):
        request, user = self.request, self.pending_user
        check = two_factor.check_code(user, form.cleaned_data["code"])
        if not check.ok:
            return self._wrong_code(form, check)
        two_factor.PendingSignIn.clear(request)
        response = _finish_sign_in(
            request, user, self.pending.backend, self.pending.redirect_to, device=check.device
        )
        if check.recovery:
            left = two_factor.recovery_codes_left(user)
            record(
                AuditAction.RECOVERY_CODE_USED,
                request=request,
                user=user,
                target=user,
                details={"codes_left": left},
            )
            messages.warning(
                request,
                ngettext(
                    "You signed in with a recovery code; %(count)d is left. Make new ones on "
                    "the Security page.",
                    "You signed in with a recovery code; %(count)d are left. Make new ones on "
                    "the Security page.",
                    left,
                )
                % {"count": left},
            )
        return response

    def _wrong_code(self, form, check: two_factor.CodeCheck):
        request, user, pending = self.request, self.pending_user, self.pending
        pending.failures += 1
        record(
            AuditAction.TWO_FACTOR_FAILED,
            request=request,
            user=None,
            tenant=user.tenant,
            actor_label=user.email,
            target=user,
            details={
                "step": "sign_in",
                "recovery_code": check.recovery,
                "throttled": check.throttled,
                "failures": pending.failures,
            },
        )
        if pending.failures >= settings.TWO_FACTOR_MAX_ATTEMPTS:
            two_factor.PendingSignIn.clear(request)
            messages.error(request, _("Too many wrong codes. Sign in with your password again."))
            return redirect("accounts:login")
        pending.save(request)
        if check.throttled:
            message = _("Too many wrong codes in a row. Wait a minute and try again.")
        else:
            message = ngettext(
                "That code is not right. %(count)d more try before you have to sign in again.",
                "That code is not right. %(count)d more tries before you have to sign in again.",
                pending.attempts_left,
            ) % {"count": pending.attempts_left}
        form.add_error("code", message)
        return self.form_invalid(form)


class LogoutView(auth_views.LogoutView):
    pass


# --- the Security page ----------------------------------------------------------------------


def _base_template(user) -> str:
    """Customers see the portal around the page; staff and platform users a plain frame with
    the way back to the back-office."""
    return "portal/base.html" if user.is_customer else "accounts/base.html"


def _api_tokens_url() -> str:
    try:
        return reverse("accounts:api_tokens")
    except NoReverseMatch:
        return ""


class SecurityView(LoginRequiredMixin, TemplateView):
    """Two-factor sign-in on or off, recovery codes, the password, sign out everywhere."""

    template_name = "accounts/security.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        enabled = two_factor.has_two_factor(user)
        required = two_factor.two_factor_required(user)
        context.update(
            base_template=_base_template(user),
            two_factor_enabled=enabled,
            two_factor_required=required,
            can_turn_off=enabled and not required,
            recovery_codes_left=two_factor.recovery_codes_left(user) if enabled else 0,
            api_tokens_url=_api_tokens_url(),
        )
        context.setdefault("disable_form", ConfirmIdentityForm(user, prefix="disable"))
        context.setdefault("codes_form", ConfirmIdentityForm(user, prefix="codes"))
        return context


def _security_page_with(request: HttpRequest, **forms) -> HttpResponse:
    """The Security page again, with a form that was refused and its errors."""
    view = SecurityView()
    view.setup(request)
    return view.render_to_response(view.get_context_data(**forms))


def _audit_wrong_confirmation(request: HttpRequest, form: ConfirmIdentityForm, step: str):
    if form.used_code:
        record(
            AuditAction.TWO_FACTOR_FAILED,
            request=request,
            target=request.user,
            details={"step": step},
        )


@method_decorator(never_cache, name="dispatch")
class TwoFactorSetupView(LoginRequiredMixin, FormView):
    """Turning two-factor sign-in on: scan the QR code (or type the key), confirm with a
    first code, then see the recovery codes once. Also where a staff user whose tenant
    requires it is sent before any other page (TwoFactorRequiredMiddleware)."""

    template_name = "accounts/two_factor_setup.html"
    form_class = EnrolmentCodeForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and two_factor.has_two_factor(request.user):
            messages.info(request, _("Two-factor sign-in is already on."))
            return redirect("accounts:security")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        device = two_factor.device_being_set_up(user)
        context.update(
            base_template=_base_template(user),
            required=two_factor.two_factor_required(user),
            qr_code=two_factor.qr_code_svg(device, _("QR code for your authenticator app")),
            secret=two_factor.manual_entry_secret(device),
            next=_safe_next(self.request, ""),
        )
        return context

    def form_valid(self, form):
        request, user = self.request, self.request.user
        device = two_factor.device_being_set_up(user)
        check = two_factor.check_enrolment_code(device, form.cleaned_data["code"])
        if not check.ok:
            record(
                AuditAction.TWO_FACTOR_FAILED,
                request=request,
                target=user,
                details={"step": "enrolment", "throttled": check.throttled},
            )
            if check.throttled:
                message = _("Too many wrong codes in a row. Wait a minute and try again.")
            else:
                message = _(
                    "That code is not right. Check that the time on your phone is set "
                    "automatically, then enter the code the app shows now."
                )
            form.add_error("code", message)
            return self.form_invalid(form)
        codes = two_factor.confirm_device(user, check.device)
        otp_login(request, check.device)
        # Sessions signed in before two-factor sign-in was on end here: from now on every
        # session of the user was opened with a code.
        user.rotate_session_stamp()
        update_session_auth_hash(request, user)
        record(AuditAction.TWO_FACTOR_ENABLED, request=request, target=user)
        return render(
            request,
            "accounts/recovery_codes.html",
            {
                "base_template": _base_template(user),
                "codes": codes,
                "just_enabled": True,
                "continue_url": _safe_next(request, reverse("accounts:security")),
            },
        )


@method_decorator(never_cache, name="dispatch")
class TwoFactorDisableView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not two_factor.has_two_factor(user):
            return redirect("accounts:security")
        if two_factor.two_factor_required(user):
            messages.error(request, _("Your organisation requires two-factor sign-in."))
            return redirect("accounts:security")
        form = ConfirmIdentityForm(user, request.POST, prefix="disable")
        if not form.is_valid():
            _audit_wrong_confirmation(request, form, "turn_off")
            return _security_page_with(request, disable_form=form)
        two_factor.remove_two_factor(user)
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        record(
            AuditAction.TWO_FACTOR_DISABLED,
            request=request,
            target=user,
            details={"by": "self"},
        )
        messages.success(request, _("Two-factor sign-in is off."))
        return redirect("accounts:security")


@method_decorator(never_cache, name="dispatch")
class RecoveryCodesView(LoginRequiredMixin, View):
    """New recovery codes (the old ones stop working), shown once."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not two_factor.has_two_factor(user):
            return redirect("accounts:security")
        form = ConfirmIdentityForm(user, request.POST, prefix="codes")
        if not form.is_valid():
            _audit_wrong_confirmation(request, form, "recovery_codes")
            return _security_page_with(request, codes_form=form)
        codes = two_factor.new_recovery_codes(user)
        record(
            AuditAction.SETTINGS_CHANGED,
            request=request,
            target=user,
            details={"change": "recovery_codes_replaced", "codes": len(codes)},
        )
        return render(
            request,
            "accounts/recovery_codes.html",
            {
                "base_template": _base_template(user),
                "codes": codes,
                "just_enabled": False,
                "continue_url": reverse("accounts:security"),
            },
        )


class SignOutEverywhereView(LoginRequiredMixin, View):
    """Ends every other session of the user (other browsers, a forgotten computer); this one
    stays signed in."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        user.rotate_session_stamp()
        update_session_auth_hash(request, user)
        record(AuditAction.SIGN_OUT_EVERYWHERE, request=request, target=user)
        messages.success(request, _("You are signed out everywhere else."))
        return redirect("accounts:security")


# --- passwords ------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing the password ends every other session of the user (the session auth hash
    includes the password hash); this one stays signed in."""

    form_class = PasswordChangeForm
    success_url = reverse_lazy("accounts:password_change_done")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["password_rules"] = password_rules()
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        record(AuditAction.PASSWORD_CHANGED, request=self.request, user=form.user, target=form.user)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    success_url = reverse_lazy("accounts:password_reset_done")
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"
    subject_template_name = "registration/password_reset_subject.txt"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A new password from an e-mailed link. It does not sign in: with two-factor sign-in on,
    the code is still asked for at the next sign-in."""

    form_class = SetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["password_rules"] = password_rules()
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        record(AuditAction.PASSWORD_RESET, request=self.request, user=form.user, target=form.user)
        return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also remembered on the signed-in user. A customer switches
    only to a language their tenant offers; any other leaves the page as it was."""
    language = request.POST.get("language", "")
    if language not in languages_for(request.user):
        return HttpResponseRedirect(_safe_next(request, reverse("home")))
    response = django_set_language(request)
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response


def home(request: HttpRequest) -> HttpResponse:
    """Send each signed-in person to where they work."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:login")
    if user.is_customer:
        return redirect("portal:home")
    if user.role == Role.MANAGER:
        return redirect("dashboard:index")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("accounts:login")

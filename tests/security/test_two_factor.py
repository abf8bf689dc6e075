"""Two-factor sign-in: enrolment, the code after the password, recovery codes, wrong codes,
the tenant's requirement for staff, the Security page and the back-office reset.

Codes are computed with django-otp's TOTP for a moment of the project's clock, which the
tests fix and move (`two_factor.clock`): a code is checked at the very moment it was made
for, however slow the machine."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from rma_portal.accounts import two_factor
from rma_portal.security.models import AuditAction, AuditEvent
from tests.factories import PASSWORD
from tests.html import parse, summary, texts

pytestmark = pytest.mark.django_db

# 2027-01-15 12:00:00 UTC, 10 seconds into a 30-second step.
NOW = 1_800_000_010.0


@pytest.fixture
def clock():
    with two_factor.clock.fixed(NOW) as fixed:
        yield fixed


def code_for(device: TOTPDevice, at: float | None = None) -> str:
    """The code the user's app shows at `at` (the fixed clock's time by default)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = two_factor.clock.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return device, two_factor.new_recovery_codes(user)


def password_step(client: Client, user, **extra):
    return client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD, **extra}
    )


def code_step(client: Client, code: str):
    return client.post(reverse("accounts:login_code"), {"code": code})


def sign_in_with_code(client: Client, user, device: TOTPDevice) -> Client:
    assert password_step(client, user).url == reverse("accounts:login_code")
    response = code_step(client, code_for(device))
    assert response.status_code == 302, summary(response)
    return client


def audit(action, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("pk"))


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- enrolment ------------------------------------------------------------------------------


def test_customer_turns_on_two_factor_from_the_security_page(world_a, login, clock):
    client = login(world_a.customer)
    page = parse(client.get(reverse("accounts:security")))
    assert texts(page, ".two-factor .status") == ["Off: you sign in with your password only."]

    setup = client.get(reverse("accounts:two_factor_setup"))
    doc = parse(setup)
    assert doc.select(".qr-code svg"), summary(setup)
    device = TOTPDevice.objects.get(user=world_a.customer)
    assert not device.confirmed
    secret = texts(doc, "code.secret")[0].replace(" ", "")
    assert secret == two_factor.manual_entry_secret(device).replace(" ", "")
    # Reloading shows the same secret: an app that scanned it keeps working.
    assert texts(parse(client.get(reverse("accounts:two_factor_setup"))), "code.secret") == [
        two_factor.manual_entry_secret(device)
    ]

    wrong = client.post(reverse("accounts:two_factor_setup"), {"code": "000000"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"]
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert len(audit(AuditAction.TWO_FACTOR_FAILED, target_id=str(world_a.customer.pk))) == 1

    clock.advance(30)  # past the one-second wait after a wrong code, into the next step
    done = client.post(reverse("accounts:two_factor_setup"), {"code": code_for(device)})
    assert done.status_code == 200, summary(done)
    codes = texts(parse(done), "ol.recovery-codes li")
    assert len(codes) == 10 == len(set(codes))
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=world_a.customer).values_list("token", flat=True)
    )
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert len(audit(AuditAction.TWO_FACTOR_ENABLED, target_id=str(world_a.customer.pk))) == 1

    page = parse(client.get(reverse("accounts:security")))
    assert texts(page, ".two-factor .status") == [
        "On: you sign in with your password and a code from your authenticator app."
    ]
    assert texts(page, ".codes-left") == ["You have 10 unused recovery codes."]
    # The codes are never shown again; setting up again is refused.
    response = client.get(reverse("accounts:two_factor_setup"))
    assert response.url == reverse("accounts:security")


def test_turning_two_factor_on_ends_the_users_other_sessions(world_a, clock):
    here, elsewhere = Client(), Client()
    for client in (here, elsewhere):
        password_step(client, world_a.customer)
    client = here
    client.get(reverse("accounts:two_factor_setup"))
    device = TOTPDevice.objects.get(user=world_a.customer)
    client.post(reverse("accounts:two_factor_setup"), {"code": code_for(device)})
    assert client.get(reverse("portal:home")).status_code == 200
    assert elsewhere.get(reverse("portal:home")).status_code == 302
    assert not signed_in(elsewhere)


# --- signing in -----------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(world_a, client, clock):
    device, _ = enrol(world_a.customer)
    response = password_step(client, world_a.customer)
    assert response.url == reverse("accounts:login_code")
    assert not signed_in(client)
    assert client.get(reverse("portal:home")).status_code == 302  # nothing signed in yet
    assert not audit(AuditAction.SIGN_IN)

    page = client.get(reverse("accounts:login_code"))
    assert page.status_code == 200
    assert parse(page).select("input[name=code][autocomplete=one-time-code]")

    response = code_step(client, code_for(device))
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert signed_in(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(reverse("portal:home")).status_code == 200
    assert len(audit(AuditAction.SIGN_IN, actor=world_a.customer)) == 1


def test_next_survives_the_code_step(world_a, client, clock):
    device, _ = enrol(world_a.agent)
    target = reverse("admin:customers_customeraccount_changelist")
    password_step(client, world_a.agent, next=target)
    assert code_step(client, code_for(device)).url == target


def test_a_code_signs_in_once(world_a, client, clock):
    device, _ = enrol(world_a.customer)
    code = code_for(device)
    sign_in_with_code(client, world_a.customer, device)
    client.post(reverse("accounts:logout"))

    password_step(client, world_a.customer)
    response = code_step(client, code)  # seen once already: a replay
    assert response.status_code == 200
    assert not signed_in(client)

    clock.advance(30)
    assert code_step(client, code_for(device)).status_code == 302
    assert signed_in(client)


def test_recovery_code_signs_in_once(world_a, client, clock):
    _, codes = enrol(world_a.customer)
    password_step(client, world_a.customer)
    response = code_step(client, codes[0])
    assert response.status_code == 302
    assert signed_in(client)
    [used] = audit(AuditAction.RECOVERY_CODE_USED)
    assert used.actor == world_a.customer
    assert used.details == {"codes_left": 9}
    warning = [str(m) for m in response.wsgi_request._messages]
    assert warning == [
        "You signed in with a recovery code; 9 are left. Make new ones on the Security page."
    ]
    client.post(reverse("accounts:logout"))

    password_step(client, world_a.customer)
    assert code_step(client, codes[0]).status_code == 200
    assert not signed_in(client)
    clock.advance(60)
    # Typed in capitals with a hyphen, as people copy them.
    typed = f"{codes[1][:4].upper()}-{codes[1][4:].upper()}"
    assert code_step(client, typed).status_code == 302
    assert signed_in(client)
    assert two_factor.recovery_codes_left(world_a.customer) == 8


def test_wrong_codes_are_audited_and_limited_per_sign_in(world_a, client, clock, settings):
    device, _ = enrol(world_a.customer)
    password_step(client, world_a.customer)
    for attempt in range(1, settings.TWO_FACTOR_MAX_ATTEMPTS):
        response = code_step(client, "123456" if code_for(device) != "123456" else "654321")
        assert response.status_code == 200
        left = settings.TWO_FACTOR_MAX_ATTEMPTS - attempt
        tries = "try" if left == 1 else "tries"
        assert response.context["form"].errors["code"] == [
            f"That code is not right. {left} more {tries} before you have to sign in again."
        ]
        clock.advance(60)  # past django-otp's growing wait, so each code is really checked
    response = code_step(client, "999999" if code_for(device) != "999999" else "888888")
    assert response.url == reverse("accounts:login")
    assert not signed_in(client)

    failures = audit(AuditAction.TWO_FACTOR_FAILED)
    assert len(failures) == settings.TWO_FACTOR_MAX_ATTEMPTS
    assert {(f.actor, f.actor_label, f.target_id) for f in failures} == {
        (None, world_a.customer.email, str(world_a.customer.pk))
    }
    assert [f.details["failures"] for f in failures] == [1, 2, 3, 4, 5]
    # The right code no longer helps: back to the password.
    assert code_step(client, code_for(device)).url == reverse("accounts:login")
    assert not signed_in(client)


def test_after_a_wrong_code_the_device_waits_before_checking_again(world_a, client, clock):
    device, _ = enrol(world_a.customer)
    password_step(client, world_a.customer)
    right = code_for(device)
    code_step(client, "000000" if right != "000000" else "111111")
    response = code_step(client, right)  # at the same moment: not even checked
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [
        "Too many wrong codes in a row. Wait a minute and try again."
    ]
    assert audit(AuditAction.TWO_FACTOR_FAILED)[-1].details["throttled"] is True
    clock.advance(1)
    assert code_step(client, code_for(device)).status_code == 302
    assert signed_in(client)


def test_password_waits_only_minutes_for_the_code(world_a, client, clock, settings):
    device, _ = enrol(world_a.customer)
    password_step(client, world_a.customer)
    clock.advance(settings.TWO_FACTOR_PENDING_SECONDS + 1)
    assert code_step(client, code_for(device)).url == reverse("accounts:login")
    assert not signed_in(client)


def test_password_changed_meanwhile_ends_the_pending_sign_in(world_a, client, clock):
    device, _ = enrol(world_a.customer)
    password_step(client, world_a.customer)
    world_a.customer.set_password("Another-long-pass-9")
    world_a.customer.save()
    assert code_step(client, code_for(device)).url == reverse("accounts:login")
    assert not signed_in(client)


def test_code_page_without_a_password_step_goes_back_to_the_password(client, db):
    assert client.get(reverse("accounts:login_code")).url == reverse("accounts:login")


# --- the back-office sign-in ----------------------------------------------------------------


def test_backoffice_login_is_the_same_two_steps(world_a, client, clock):
    device, _ = enrol(world_a.agent)
    page = client.get(reverse("admin:login"))
    assert page.status_code == 200
    assert parse(page).select("input[name=username]")
    response = client.post(
        reverse("admin:login"), {"username": world_a.agent.email, "password": PASSWORD}
    )
    assert response.url == reverse("accounts:login_code")
    assert not signed_in(client)
    assert code_step(client, code_for(device)).url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_backoffice_login_without_two_factor_signs_in_at_once(world_a, client):
    response = client.post(
        reverse("admin:login"), {"username": world_a.agent.email, "password": PASSWORD}
    )
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_signed_in_customer_at_backoffice_login_goes_to_the_portal(world_a, login):
    client = login(world_a.customer)
    assert client.get(reverse("admin:login")).url == reverse("home")


# --- the tenant's requirement ---------------------------------------------------------------


@pytest.fixture
def required(world_a):
    world_a.tenant.staff_two_factor_required = True
    world_a.tenant.save()
    return world_a


@pytest.mark.parametrize("role", ["agent", "coordinator", "manager", "tenant_admin"])
def test_staff_must_set_up_two_factor_before_any_page(required, client, clock, role):
    user = getattr(required, role)
    password_step(client, user)
    assert signed_in(client)
    setup = reverse("accounts:two_factor_setup")
    for url in (reverse("admin:index"), reverse("dashboard:index"), reverse("accounts:security")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == f"{setup}?next={url.replace('/', '%2F')}"
    api = client.get("/api/v1/returns/")
    assert api.status_code == 403
    assert api.json()["error"]["message"] == (
        "Two-factor sign-in is required: set it up in the browser first."
    )

    page = client.get(f"{setup}?next=/backoffice/")
    assert texts(parse(page), ".callout") == [
        "Your organisation requires two-factor sign-in. Set it up to continue."
    ]
    device = TOTPDevice.objects.get(user=user)
    done = client.post(setup, {"code": code_for(device), "next": "/backoffice/"})
    assert parse(done).select_one("a.button")["href"] == "/backoffice/"
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("dashboard:index")).status_code == 200


def test_requirement_turned_on_during_a_session_applies_at_the_next_request(world_a, login):
    client = login(world_a.agent)
    assert client.get(reverse("admin:index")).status_code == 200
    world_a.tenant.staff_two_factor_required = True
    world_a.tenant.save()
    response = client.get(reverse("admin:index"))
    assert response.url.startswith(reverse("accounts:two_factor_setup"))


def test_staff_session_never_verified_with_a_code_is_sent_to_the_code(required, client, clock):
    password_step(client, required.agent)  # no app yet: signed in to set one up
    enrol(required.agent)  # set up elsewhere meanwhile
    response = client.get(reverse("admin:index"))
    assert response.url == f"{reverse('accounts:login')}?next=/backoffice/"
    assert not signed_in(client)


def test_staff_of_a_requiring_tenant_with_an_app_signs_in_as_usual(required, client, clock):
    device, _ = enrol(required.manager)
    sign_in_with_code(client, required.manager, device)
    assert client.get(reverse("dashboard:index")).status_code == 200


def test_customers_are_never_required(required, login):
    client = login(required.customer)
    assert client.get(reverse("portal:home")).status_code == 200


def test_staff_cannot_turn_off_what_the_tenant_requires(required, client, clock):
    device, _ = enrol(required.agent)
    sign_in_with_code(client, required.agent, device)
    page = parse(client.get(reverse("accounts:security")))
    assert not page.select(".two-factor-off-form")
    response = client.post(reverse("accounts:two_factor_disable"), {"disable-secret": PASSWORD})
    assert response.url == reverse("accounts:security")
    assert TOTPDevice.objects.filter(user=required.agent).exists()


@pytest.mark.parametrize(("required_setting", "expected"), [(False, 200), (True, 302)])
def test_platform_superusers_are_required_only_by_the_setting(
    superuser, client, settings, required_setting, expected
):
    settings.PLATFORM_TWO_FACTOR_REQUIRED = required_setting
    password_step(client, superuser)
    assert client.get(reverse("admin:index")).status_code == expected


# --- the Security page ----------------------------------------------------------------------


def test_turning_off_needs_the_password_or_a_code(world_a, client, clock):
    device, _ = enrol(world_a.customer)
    sign_in_with_code(client, world_a.customer, device)
    clock.advance(30)
    response = client.post(reverse("accounts:two_factor_disable"), {"disable-secret": "guess"})
    assert response.status_code == 200
    assert response.context["disable_form"].errors["secret"]
    assert TOTPDevice.objects.filter(user=world_a.customer).exists()

    response = client.post(
        reverse("accounts:two_factor_disable"), {"disable-secret": code_for(device)}
    )
    assert response.url == reverse("accounts:security")
    assert not TOTPDevice.objects.filter(user=world_a.customer).exists()
    assert not StaticToken.objects.filter(device__user=world_a.customer).exists()
    [off] = audit(AuditAction.TWO_FACTOR_DISABLED)
    assert (off.actor, off.details) == (world_a.customer, {"by": "self"})
    # Signing in takes the password only again.
    client.post(reverse("accounts:logout"))
    assert password_step(client, world_a.customer).url == reverse("home")


def test_new_recovery_codes_replace_the_old_ones(world_a, client, clock):
    device, old_codes = enrol(world_a.customer)
    sign_in_with_code(client, world_a.customer, device)
    response = client.post(reverse("accounts:recovery_codes"), {"codes-secret": PASSWORD})
    new_codes = texts(parse(response), "ol.recovery-codes li")
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert two_factor.recovery_codes_left(world_a.customer) == 10
    assert not two_factor.check_code(world_a.customer, old_codes[0]).ok
    clock.advance(60)
    assert two_factor.check_code(world_a.customer, new_codes[0]).ok


def test_security_page_is_linked_from_the_portal_and_the_backoffice(world_a, login, client):
    security = reverse("accounts:security")
    customer = login(world_a.customer)
    portal = parse(customer.get(reverse("portal:home")))
    assert security in [a["href"] for a in portal.select(".topbar-tools a")]
    page = customer.get(security)
    assert page.status_code == 200
    assert "portal/base.html" in [t.name for t in page.templates]
    customer.post(reverse("accounts:logout"))

    agent = login(world_a.agent)
    backoffice = parse(agent.get(reverse("admin:index")))
    assert security in [a["href"] for a in backoffice.select("#user-tools a")]
    page = agent.get(security)
    assert page.status_code == 200
    assert "accounts/base.html" in [t.name for t in page.templates]


# --- the back-office reset ------------------------------------------------------------------


def _reset(client: Client, *users):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {
            "action": "reset_two_factor",
            ACTION_CHECKBOX_NAME: [str(u.pk) for u in users],
            "index": "0",
        },
    )


def test_tenant_admin_resets_a_users_two_factor(world_a, login, clock):
    device, _ = enrol(world_a.agent)
    agents_browser = sign_in_with_code(Client(), world_a.agent, device)
    enrol(world_a.customer)
    admin = login(world_a.tenant_admin)
    response = _reset(admin, world_a.agent, world_a.customer)
    assert response.status_code == 302
    for user in (world_a.agent, world_a.customer):
        assert not TOTPDevice.objects.filter(user=user).exists()
        assert not StaticToken.objects.filter(device__user=user).exists()
    resets = audit(AuditAction.TWO_FACTOR_DISABLED)
    assert {(r.actor, r.target_id, r.tenant) for r in resets} == {
        (world_a.tenant_admin, str(world_a.agent.pk), world_a.tenant),
        (world_a.tenant_admin, str(world_a.customer.pk), world_a.tenant),
    }
    assert {r.details["reset_by"] for r in resets} == {world_a.tenant_admin.email}
    # The agent's session ended; they sign in with the password alone now.
    assert agents_browser.get(reverse("admin:index")).status_code == 302
    assert password_step(Client(), world_a.agent).url == reverse("home")


def test_reset_of_another_tenants_user_answers_404_and_changes_nothing(
    world_a, world_b, login, clock
):
    enrol(world_a.customer)
    enrol(world_b.customer)
    admin = login(world_a.tenant_admin)
    assert _reset(admin, world_b.customer).status_code == 404
    assert _reset(admin, world_a.customer, world_b.customer).status_code == 404
    assert TOTPDevice.objects.filter(user=world_b.customer).exists()
    assert TOTPDevice.objects.filter(user=world_a.customer).exists()
    assert not audit(AuditAction.TWO_FACTOR_DISABLED)


def test_agents_may_not_reset(world_a, login, clock):
    enrol(world_a.customer)
    agent = login(world_a.agent)
    assert _reset(agent, world_a.customer).status_code == 403
    assert TOTPDevice.objects.filter(user=world_a.customer).exists()


def test_device_admins_are_not_in_the_backoffice():
    from django.contrib import admin
    from django_otp.plugins.otp_static.models import StaticDevice

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)

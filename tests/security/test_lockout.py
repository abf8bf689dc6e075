"""Sign-in lockout (rma_portal/security/lockout.py): failed sign-ins are counted per account
and per client address on /accounts/login/, /backoffice/login/ and the API token endpoint; a
locked-out sign-in is refused even with the right password, until the cool-off ends, the
password is reset through the e-mail link, or a tenant admin lifts it.

Time is driven by moving the counted failures' timestamps, never by waiting."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.db.models import F, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from rma_portal.api.throttling import SignInAccountRateThrottle
from rma_portal.security.models import ActorKind, AuditAction, AuditEvent
from tests.api import assert_error
from tests.factories import PASSWORD
from tests.html import texts, visible_text

pytestmark = pytest.mark.django_db

LOGIN_PAGES = ["/accounts/login/", "/backoffice/login/"]
TOKEN_URL = "/api/v1/auth/token/"
WRONG = "not-the-password"
HOME = "203.0.113.10"
LOCKED_SENTENCE = re.compile(
    r"Too many failed sign-ins\. Try again after (\d\d:\d\d), or reset your password\."
)


@pytest.fixture(autouse=True)
def lockout_settings(settings, monkeypatch):
    """The documented defaults, whatever the environment says; the token endpoint's throttles
    out of the way (they have tests of their own below and in test_client_ip.py)."""
    settings.AXES_FAILURE_LIMIT = 5
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 20
    settings.LOGIN_LOCKOUT_MINUTES = 15
    settings.NUM_PROXIES = 0
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "1000/minute"})
    monkeypatch.setattr(
        SignInAccountRateThrottle, "THROTTLE_RATES", {"auth_token_account": "1000/minute"}
    )


def sign_in(client, url: str, email: str, password: str, address: str = HOME, **extra):
    """Post the sign-in form at `url`. A back-office that hands its sign-in to the accounts
    page (a redirect there) gets the same post there."""
    data = {"username": email, "password": password}
    response = client.post(url, data, REMOTE_ADDR=address, **extra)
    handed_to = urlsplit(response.get("Location", "")).path
    if response.status_code == 302 and handed_to == reverse("accounts:login") != url:
        response = client.post(response["Location"], data, REMOTE_ADDR=address, **extra)
    return response


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def ask_token(email: str, password: str, address: str = HOME):
    return APIClient().post(
        TOKEN_URL, {"email": email, "password": password}, format="json", REMOTE_ADDR=address
    )


def counted_failures(**filters) -> int:
    return (
        AccessAttempt.objects.filter(**filters).aggregate(n=Sum("failures_since_start"))["n"] or 0
    )


def age_failures(minutes: float) -> None:
    """Let `minutes` pass for every failure counted so far."""
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - datetime.timedelta(minutes=minutes)
    )


def audit_rows(action: str):
    return AuditEvent.objects.filter(action=action).order_by("pk")


def assert_locked_page(response) -> str:
    """The lockout page; returns the time it gives."""
    assert response.status_code == 429, response.status_code
    assert int(response["Retry-After"]) > 0
    assert "no-store" in response["Cache-Control"]
    [alert] = texts(response, "[role=alert]")
    match = LOCKED_SENTENCE.fullmatch(alert)
    assert match, alert
    return match.group(1)


def lock_out(client, url: str, email: str, *, address: str = HOME) -> list:
    """Wrong passwords until the account is locked out (the 5th); returns the answers."""
    return [sign_in(client, url, email, WRONG, address) for _attempt in range(5)]


# --- the sign-in pages ------------------------------------------------------------------------


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_thirty_wrong_passwords_lock_the_account_even_for_the_right_password(world_a, client, url):
    user = world_a.agent  # may use both the portal and the back-office

    # A new address for every guess: the account's count holds across addresses.
    answers = [
        sign_in(client, url, user.email, WRONG, address=f"198.51.100.{n}") for n in range(1, 31)
    ]

    assert [answer.status_code for answer in answers[:4]] == [200] * 4
    for answer in answers[4:]:
        assert_locked_page(answer)
    right = sign_in(client, url, user.email, PASSWORD, address="198.51.100.99")
    assert_locked_page(right)
    assert not is_signed_in(client)
    # Refused guesses count nothing: the lockout ends when the page says, however often it
    # is tried meanwhile.
    assert counted_failures(username=user.email) == 5
    [locked] = audit_rows(AuditAction.LOCKED_OUT)
    assert (locked.target_id, locked.tenant_id) == (str(user.pk), world_a.tenant.pk)
    assert locked.ip_address == "198.51.100.5"
    assert locked.details["limits_reached"] == ["account"]
    assert locked.details["account_exists"] is True


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_the_lockout_ends_after_the_cool_off(world_a, client, url):
    user = world_a.agent
    lock_out(client, url, user.email)

    age_failures(14)
    assert_locked_page(sign_in(client, url, user.email, PASSWORD))
    age_failures(1.5)
    response = sign_in(client, url, user.email, PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_the_page_says_until_when_rounded_up_to_the_minute(world_a, client):
    lock_out(client, "/accounts/login/", world_a.customer.email)
    last_failure = (timezone.now() - datetime.timedelta(minutes=3)).replace(
        second=20, microsecond=0
    )
    AccessAttempt.objects.update(attempt_time=last_failure)

    shown = assert_locked_page(sign_in(client, "/accounts/login/", world_a.customer.email, WRONG))

    local = zoneinfo.ZoneInfo(django_settings.TIME_ZONE)
    ends = (last_failure + datetime.timedelta(minutes=15, seconds=40)).astimezone(local)
    assert shown == ends.strftime("%H:%M")


def test_email_spelling_does_not_make_a_new_account(world_a, client):
    email = world_a.customer.email
    for typed in [email, email.upper(), f"  {email}", email.title(), f"{email} "]:
        sign_in(client, "/accounts/login/", typed, WRONG)

    assert_locked_page(sign_in(client, "/accounts/login/", email, PASSWORD))
    assert counted_failures(username=email) == 5


@pytest.mark.parametrize("proxies", [0, 1])
def test_one_address_is_locked_out_across_accounts(settings, world_a, client, proxies):
    settings.NUM_PROXIES = proxies

    def from_attacker(n: int) -> dict:
        if proxies == 0:
            return {"address": "203.0.113.66"}
        # Behind the proxy, with a new made-up X-Forwarded-For entry on each request.
        return {"address": "10.0.0.2", "HTTP_X_FORWARDED_FOR": f"198.51.100.{n}, 203.0.113.66"}

    emails = [f"someone{n}@example.com" for n in range(17)] + [
        world_a.agent.email,
        world_a.manager.email,
        world_a.colleague.email,
    ]
    answers = [
        sign_in(client, "/accounts/login/", email, WRONG, **from_attacker(n))
        for n, email in enumerate(emails)
    ]

    assert [answer.status_code for answer in answers[:19]] == [200] * 19
    assert_locked_page(answers[19])
    # From that address even a right password of an account never guessed at is refused...
    right = sign_in(
        client, "/accounts/login/", world_a.customer.email, PASSWORD, **from_attacker(99)
    )
    assert_locked_page(right)
    assert not is_signed_in(client)
    # ...and from anywhere else it works.
    elsewhere = (
        {"address": "203.0.113.77"}
        if proxies == 0
        else {
            "address": "10.0.0.2",
            "HTTP_X_FORWARDED_FOR": "203.0.113.66, 203.0.113.77",
        }
    )
    assert (
        sign_in(
            client, "/accounts/login/", world_a.customer.email, PASSWORD, **elsewhere
        ).status_code
        == 302
    )
    [locked] = audit_rows(AuditAction.LOCKED_OUT)
    assert locked.details["limits_reached"] == ["address"]
    assert locked.ip_address == "203.0.113.66"


def test_the_page_is_the_same_for_an_existing_and_an_unknown_email(world_a, client):
    known, unknown = world_a.customer.email, "nobody-here@example.com"
    lock_out(client, "/accounts/login/", known, address="203.0.113.1")
    lock_out(client, "/accounts/login/", unknown, address="203.0.113.2")
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=2))

    for_known = sign_in(client, "/accounts/login/", known, PASSWORD, address="203.0.113.1")
    for_unknown = sign_in(client, "/accounts/login/", unknown, PASSWORD, address="203.0.113.2")

    assert for_known.status_code == for_unknown.status_code == 429
    assert visible_text(for_known) == visible_text(for_unknown)
    assert assert_locked_page(for_known) == assert_locked_page(for_unknown)
    api_known, api_unknown = ask_token(known, WRONG), ask_token(unknown, WRONG)
    assert api_known.status_code == api_unknown.status_code == 429
    assert api_known.json() == api_unknown.json()


def test_a_lockout_is_audited_once_and_attempts_while_locked_are_not(world_a, client):
    lock_out(client, "/accounts/login/", world_a.customer.email)
    for _attempt in range(3):
        sign_in(client, "/accounts/login/", world_a.customer.email, PASSWORD)
    lock_out(client, "/accounts/login/", "ghost@example.com", address="203.0.113.3")

    known, unknown = audit_rows(AuditAction.LOCKED_OUT)
    assert known.actor_kind == unknown.actor_kind == ActorKind.ANONYMOUS
    assert (known.actor_label, known.tenant_id) == (world_a.customer.email, world_a.tenant.pk)
    assert known.details["account_exists"] is True
    assert datetime.datetime.fromisoformat(known.details["until"]) > timezone.now()
    # An e-mail no account has: a platform row, like its failed sign-ins.
    assert (unknown.actor_label, unknown.tenant_id, unknown.target_id) == (
        "ghost@example.com",
        None,
        "",
    )
    assert unknown.details["account_exists"] is False


# --- the API token endpoint -------------------------------------------------------------------


def test_the_token_endpoint_locks_out_in_the_error_shape(world_a):
    user = world_a.customer

    answers = [ask_token(user.email, WRONG, address=f"198.51.100.{n}") for n in range(1, 31)]

    for answer in answers[:4]:
        assert_error(answer, 400, "invalid_credentials")
    for answer in answers[4:]:
        assert_error(answer, 429, "locked_out")
        assert 0 < int(answer["Retry-After"]) <= 15 * 60
    right = ask_token(user.email, PASSWORD, address="198.51.100.99")
    assert_error(right, 429, "locked_out")
    assert counted_failures(username=user.email) == 5
    [locked] = audit_rows(AuditAction.LOCKED_OUT)
    assert locked.target_id == str(user.pk)

    age_failures(16)
    issued = ask_token(user.email, PASSWORD)
    assert issued.status_code == 200
    assert issued.json()["token"]


def test_the_sign_in_pages_and_the_token_endpoint_share_one_count(world_a, client):
    email = world_a.agent.email
    sign_in(client, "/accounts/login/", email, WRONG)
    sign_in(client, "/backoffice/login/", email, WRONG)
    ask_token(email, WRONG)
    ask_token(email, WRONG)

    assert_locked_page(sign_in(client, "/backoffice/login/", email, WRONG))
    assert_error(ask_token(email, PASSWORD), 429, "locked_out")


def test_the_token_endpoint_limits_guesses_at_one_account_from_many_addresses(
    world_a, world_b, monkeypatch
):
    monkeypatch.setattr(
        SignInAccountRateThrottle, "THROTTLE_RATES", {"auth_token_account": "3/minute"}
    )
    monkeypatch.setattr(SignInAccountRateThrottle, "timer", lambda self: 1_000_000.0)
    email = world_a.customer.email

    answers = [
        ask_token(typed, WRONG, address=f"198.51.100.{n}")
        for n, typed in enumerate([email, email.upper(), f" {email} "])
    ]
    right = ask_token(email, PASSWORD, address="198.51.100.50")

    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert_error(right, 429, "throttled")
    assert right["Retry-After"] == "60"
    # Another account from the same address is not held up.
    assert ask_token(world_b.customer.email, PASSWORD, address="198.51.100.50").status_code == 200


# --- lifting a lockout ------------------------------------------------------------------------


def reset_password_by_link(client, email: str, new_password: str, mailoutbox, address: str):
    response = client.post(
        reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=address
    )
    assert response.status_code == 302
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mailoutbox[-1].body)
    assert link, mailoutbox[-1].body
    form_page = client.get(link.group(1), follow=True, REMOTE_ADDR=address)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
        REMOTE_ADDR=address,
    )
    assert response.status_code == 302


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_a_password_reset_by_e_mail_link_lifts_the_lockout(world_a, client, mailoutbox, url):
    user = world_a.agent
    lock_out(client, url, user.email, address="198.51.100.1")
    lock_out(client, url, world_a.manager.email, address="198.51.100.2")

    reset_password_by_link(client, user.email, "Brand-new-pass-42", mailoutbox, "198.51.100.3")

    assert counted_failures(username=user.email) == 0
    assert sign_in(client, url, user.email, "Brand-new-pass-42", "198.51.100.1").status_code == 302
    assert is_signed_in(client)
    # Only that account: the other one stays locked out.
    other = Client()
    assert_locked_page(sign_in(other, url, world_a.manager.email, PASSWORD, "198.51.100.2"))
    [unlocked] = audit_rows(AuditAction.UNLOCKED)
    assert unlocked.actor_kind == ActorKind.SYSTEM
    assert (unlocked.target_id, unlocked.tenant_id) == (str(user.pk), world_a.tenant.pk)
    assert unlocked.details == {"reason": "new_password"}
    assert unlocked.ip_address == "198.51.100.3"


def lift_in_back_office(client, *users):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "lift_sign_in_lockout", "_selected_action": [user.pk for user in users]},
        follow=True,
    )


def test_a_tenant_admin_lifts_a_lockout_in_their_own_tenant_only(world_a, world_b, client):
    lock_out(client, "/accounts/login/", world_a.customer.email, address="198.51.100.1")
    lock_out(client, "/accounts/login/", world_b.customer.email, address="198.51.100.2")
    admin = Client()
    admin.force_login(world_a.tenant_admin)

    # Another tenant's user is not among theirs: nothing happens to it.
    refused = lift_in_back_office(admin, world_b.customer)
    assert refused.status_code == 200
    assert texts(refused, ".messagelist li, ul.messages li") == [
        "None of the selected users was locked out."
    ]
    assert counted_failures(username=world_b.customer.email) == 5
    assert (
        admin.get(reverse("admin:accounts_user_change", args=[world_b.customer.pk])).status_code
        == 404
    )

    lifted = lift_in_back_office(admin, world_a.customer, world_a.colleague)

    assert texts(lifted, ".messagelist li, ul.messages li") == [
        "Sign-in lockout lifted for 1 user."
    ]
    response = sign_in(client, "/accounts/login/", world_a.customer.email, PASSWORD, "198.51.100.1")
    assert response.status_code == 302
    other = Client()
    assert_locked_page(
        sign_in(other, "/accounts/login/", world_b.customer.email, PASSWORD, "198.51.100.2")
    )
    [unlocked] = audit_rows(AuditAction.UNLOCKED)
    assert (unlocked.actor_id, unlocked.actor_kind) == (world_a.tenant_admin.pk, ActorKind.USER)
    assert (unlocked.target_id, unlocked.tenant_id) == (str(world_a.customer.pk), world_a.tenant.pk)
    assert unlocked.details == {"reason": "back_office"}


def test_a_platform_superuser_lifts_a_lockout_in_any_tenant(superuser, world_b, client):
    lock_out(client, "/accounts/login/", world_b.agent.email)
    admin = Client()
    admin.force_login(superuser)

    lift_in_back_office(admin, world_b.agent)

    assert counted_failures(username=world_b.agent.email) == 0
    [unlocked] = audit_rows(AuditAction.UNLOCKED)
    assert (unlocked.actor_id, unlocked.tenant_id) == (superuser.pk, world_b.tenant.pk)


def test_staff_who_may_not_change_users_cannot_lift_a_lockout(world_a, client):
    lock_out(client, "/accounts/login/", world_a.customer.email)
    manager = Client()
    manager.force_login(world_a.manager)  # may read users, not change them

    lift_in_back_office(manager, world_a.customer)

    assert counted_failures(username=world_a.customer.email) == 5
    assert not audit_rows(AuditAction.UNLOCKED).exists()

"""Sessions and passwords: the session cookie, a new session key at sign-in, "sign out
everywhere", a password change or reset ending the other sessions (audited), and the
password rules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.test import Client
from django.urls import reverse

from rma_portal.accounts.models import User
from rma_portal.security.models import AuditAction, AuditEvent
from rma_portal.tenancy.management.commands.seed_demo import demo_logins
from tests.factories import PASSWORD
from tests.html import parse, texts

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def signed_in_client(user: User) -> Client:
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def can_use_portal(client: Client) -> bool:
    return client.get(reverse("portal:home")).status_code == 200


# --- the session ----------------------------------------------------------------------------


def test_session_cookie_lives_the_configured_hours_and_is_same_site_lax(world_a, client):
    response = client.post(
        reverse("accounts:login"), {"username": world_a.customer.email, "password": PASSWORD}
    )
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == django_settings.SESSION_COOKIE_AGE == 12 * 3600
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True


def _settings_under(environment: dict[str, str], var_dir: Path) -> list[str]:
    """What the settings module makes of these environment variables, in a fresh process."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(environment, VAR_DIR=str(var_dir))
    program = (
        "import rma_portal.settings as s; "
        "print(s.SESSION_COOKIE_AGE, s.PASSWORD_MIN_LENGTH, "
        "s.AUTH_PASSWORD_VALIDATORS[1]['OPTIONS']['min_length'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def test_session_lifetime_and_password_length_come_from_the_environment(tmp_path):
    environment = {"SESSION_LIFETIME_HOURS": "2", "PASSWORD_MIN_LENGTH": "16"}
    assert _settings_under(environment, tmp_path) == [
        "7200",
        "16",
        "16",
    ]


def test_signing_in_gives_a_new_session_key(world_a, client):
    session = client.session
    session["seen_before_sign_in"] = True
    session.save()
    before = session.session_key
    client.post(
        reverse("accounts:login"), {"username": world_a.customer.email, "password": PASSWORD}
    )
    assert client.session.session_key != before
    assert client.session["seen_before_sign_in"] is True  # the data moves, the key does not


def test_empty_session_stamp_keeps_djangos_hash():
    """Sessions signed in before the stamp existed stay valid; only a stamp changes it."""
    user = User(email="someone@example.com", password="pbkdf2_sha256$1$salt$hash")
    djangos = AbstractBaseUser._get_session_auth_hash(user)
    assert user.get_session_auth_hash() == djangos
    user.session_stamp = "abc"
    assert user.get_session_auth_hash() != djangos


# --- ending other sessions ------------------------------------------------------------------


def test_sign_out_everywhere_ends_the_other_sessions_and_keeps_this_one(world_a):
    here = signed_in_client(world_a.customer)
    phone = signed_in_client(world_a.customer)
    colleague = signed_in_client(world_a.colleague)

    response = here.post(reverse("accounts:sign_out_everywhere"))
    assert response.url == reverse("accounts:security")
    assert can_use_portal(here)
    assert not can_use_portal(phone)
    assert "_auth_user_id" not in phone.session
    assert can_use_portal(colleague)
    [event] = AuditEvent.objects.filter(action=AuditAction.SIGN_OUT_EVERYWHERE)
    assert (event.actor, event.target_id) == (world_a.customer, str(world_a.customer.pk))


def test_sign_out_everywhere_needs_post(world_a):
    client = signed_in_client(world_a.customer)
    assert client.get(reverse("accounts:sign_out_everywhere")).status_code == 405


def test_password_change_ends_the_other_sessions_and_is_audited(world_a):
    here = signed_in_client(world_a.customer)
    elsewhere = signed_in_client(world_a.customer)
    response = here.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Fresh-long-pass-77",
            "new_password2": "Fresh-long-pass-77",
        },
    )
    assert response.url == reverse("accounts:password_change_done")
    assert can_use_portal(here)
    assert not can_use_portal(elsewhere)
    [event] = AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED)
    assert event.actor == world_a.customer


def test_password_reset_ends_every_session_and_is_audited(world_a, client, mailoutbox):
    elsewhere = signed_in_client(world_a.customer)
    client.post(reverse("accounts:password_reset"), {"email": world_a.customer.email})
    [mail] = mailoutbox
    link = next(word for word in mail.body.split() if "/accounts/password/reset/" in word)
    form_page = client.get(link.removeprefix("http://testserver"), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Reset-long-pass-55", "new_password2": "Reset-long-pass-55"},
    )
    assert response.url == reverse("accounts:password_reset_complete")
    assert not can_use_portal(elsewhere)
    [event] = AuditEvent.objects.filter(action=AuditAction.PASSWORD_RESET)
    assert (event.actor, event.target_id) == (world_a.customer, str(world_a.customer.pk))


def test_backoffice_password_link_leads_to_the_audited_form(world_a):
    client = signed_in_client(world_a.agent)
    assert client.get(reverse("admin:password_change")).url == reverse("accounts:password_change")


# --- password rules -------------------------------------------------------------------------


def _change_password(client: Client, new: str):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("Short-pass1", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("738215946018", "This password is entirely numeric."),
    ],
)
def test_password_rules_are_enforced(world_a, password, error):
    client = signed_in_client(world_a.customer)
    response = _change_password(client, password)
    assert response.status_code == 200
    assert error in response.context["form"].errors["new_password2"]
    world_a.customer.refresh_from_db()
    assert world_a.customer.check_password(PASSWORD)


def test_twelve_characters_are_enough(world_a):
    client = signed_in_client(world_a.customer)
    assert _change_password(client, "Kettle-bird7").status_code == 302


@pytest.mark.parametrize("url_name", ["accounts:password_change", "password_reset_confirm"])
def test_password_forms_list_the_rules(world_a, client, url_name, mailoutbox):
    if url_name == "accounts:password_change":
        page = signed_in_client(world_a.customer).get(reverse(url_name))
    else:
        client.post(reverse("accounts:password_reset"), {"email": world_a.customer.email})
        link = next(w for w in mailoutbox[0].body.split() if "/accounts/password/reset/" in w)
        page = client.get(link.removeprefix("http://testserver"), follow=True)
    rules = texts(parse(page), ".password-rules li")
    assert "Your password must contain at least 12 characters." in rules
    assert "Your password can’t be a commonly used password." in rules
    # Listed once, not again under the field.
    assert not parse(page).select(".field .hint ul")


def test_demo_and_test_passwords_pass_the_rules():
    for login in demo_logins():
        validate_password(django_settings.DEMO_PASSWORD, User(email=login.email))
    validate_password(PASSWORD, User(email="user1@example.com", full_name="User 00001"))

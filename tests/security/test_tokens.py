"""Personal API tokens: only a hash at rest, expiry, revocation by their user and in the
back-office, death with the password or the account, the token endpoints, the page, the
back-office's tenant scoping, and the copy of tokens issued by DRF's old token model."""

from __future__ import annotations

import datetime
import hashlib
import importlib

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from rma_portal.accounts.models import User
from rma_portal.credentials import keys
from rma_portal.credentials.models import CredentialState, PersonalToken, RevokeReason
from rma_portal.credentials.services import TokenRejected, find_personal_token, record_use
from rma_portal.security.models import AuditAction, AuditEvent
from rma_portal.tenancy.models import Tenant
from tests.api import api_with_key, assert_error, assert_not_found, personal_token
from tests.factories import PASSWORD
from tests.html import answer_text, parse

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
TOKENS_URL = "/api/v1/auth/tokens/"
RETURNS_URL = "/api/v1/returns/"
PAGE_URL = "/accounts/api-tokens/"
NEW_PASSWORD = "Another-pass-456"


def obtain(user, **extra):
    body = {"email": user.email, "password": PASSWORD, **extra}
    return APIClient().post(TOKEN_URL, body, format="json")


def token_of(key: str) -> PersonalToken:
    return PersonalToken.objects.get(key_hash=keys.digest(key))


def opens_the_api(key: str) -> bool:
    return api_with_key(key).get(RETURNS_URL).status_code == 200


def admin_url(view: str, *args) -> str:
    return reverse(f"admin:credentials_personaltoken_{view}", args=args)


def answer(response) -> tuple:
    """What a visitor learns from a response: status, where it sends them, what it says."""
    text = ""
    if response.get("Content-Type", "").startswith("text/html") and response.content:
        text = answer_text(response)
    return response.status_code, response.get("Location", ""), text


# --- the key and its storage ----------------------------------------------------------------


def test_a_key_carries_its_kind_and_public_prefix_and_256_random_bits():
    new = keys.generate(keys.PERSONAL_TOKEN)

    assert new.key.startswith(new.prefix + "_")
    assert new.prefix.startswith("rma_pat_")
    assert keys.parse(new.key) == keys.ParsedKey(kind="pat", prefix=new.prefix)
    assert new.digest == hashlib.sha256(new.key.encode()).hexdigest()
    secret = new.key.removeprefix(new.prefix + "_")
    assert len(secret) == keys.SECRET_LENGTH and len(keys.ALPHABET) ** len(secret) >= 2**256
    assert keys.generate(keys.PERSONAL_TOKEN).key != new.key
    for malformed in ["", "rma_pat_short_x", new.key + "x", new.key.replace("pat", "key", 1)[:-1]]:
        assert keys.parse(malformed) is None, malformed


@pytest.mark.postgres
def test_the_database_never_holds_the_secret(world_a):
    if connection.vendor != "postgresql":
        pytest.skip("searches PostgreSQL's catalogue")
    # given: a token issued through the API, used and listed
    response = obtain(world_a.customer, name="ERP")
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    assert opens_the_api(key)
    secret = key.rsplit("_", 1)[1]
    # when: every text column of every table is searched for the secret
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        )
        for table, column in cursor.fetchall():
            quoted = f"{connection.ops.quote_name(table)}.{connection.ops.quote_name(column)}"
            cursor.execute(
                f"SELECT 1 FROM {connection.ops.quote_name(table)} "  # noqa: S608
                f"WHERE {quoted}::text LIKE %s LIMIT 1",
                [f"%{secret}%"],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    # then
    assert found == []
    assert token_of(key).key_hash == hashlib.sha256(key.encode()).hexdigest()


# --- expiry and use ---------------------------------------------------------------------------


def test_an_expired_token_is_refused_with_its_own_code(world_a):
    key = personal_token(world_a.customer, expires_at=timezone.now() - datetime.timedelta(days=1))

    error = assert_error(api_with_key(key).get(RETURNS_URL), 401, "token_expired")

    assert "expired" in error["message"]


def test_a_token_expires_at_its_expiry_time(world_a):
    key = personal_token(world_a.customer)
    expires_at = token_of(key).expires_at

    assert find_personal_token(key, now=expires_at - datetime.timedelta(seconds=1))
    with pytest.raises(TokenRejected) as rejected:
        find_personal_token(key, now=expires_at)
    assert rejected.value.code == "token_expired"


def test_last_used_is_written_at_most_once_a_minute(world_a, settings):
    settings.API_TOKEN_LAST_USED_INTERVAL = 60
    key = personal_token(world_a.customer)
    start = token_of(key).created_at

    def use(seconds_later: int) -> datetime.datetime | None:
        now = start + datetime.timedelta(seconds=seconds_later)
        record_use(find_personal_token(key, now=now), now=now)
        return token_of(key).last_used_at

    assert use(0) == start
    assert use(59) == start  # no write
    assert use(61) == start + datetime.timedelta(seconds=61)


def test_a_request_records_when_the_token_was_used(world_a):
    key = personal_token(world_a.customer)
    assert token_of(key).last_used_at is None

    assert opens_the_api(key)

    assert token_of(key).last_used_at is not None


def test_an_unknown_or_malformed_token_is_refused(world_a):
    key = personal_token(world_a.customer)
    forged = key[:-1] + ("a" if key[-1] != "a" else "b")  # right prefix, wrong secret
    for presented in [forged, "not-a-real-token", "0" * 40]:
        assert_error(api_with_key(presented).get(RETURNS_URL), 401, "authentication_failed")


# --- death with the password and the account ------------------------------------------------


def _change_with_set_password(world, client):
    user = User.objects.get(pk=world.customer.pk)
    user.set_password(NEW_PASSWORD)
    user.save()


def _change_on_the_password_page(world, client):
    client.force_login(world.customer)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content[:300]


def _reset_by_e_mail_link(world, client):
    user = world.customer
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse(
        "accounts:password_reset_confirm", args=[uid, default_token_generator.make_token(user)]
    )
    form = client.get(link)
    assert form.status_code == 302  # to the same page without the token in the URL
    response = client.post(
        form["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302, response.content[:300]


def _set_in_the_back_office(world, client):
    client.force_login(world.tenant_admin)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[world.customer.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:300]


def _made_unusable(world, client):
    user = User.objects.get(pk=world.customer.pk)
    user.set_unusable_password()
    user.save(update_fields=["password"])


@pytest.mark.parametrize(
    "change",
    [
        _change_with_set_password,
        _change_on_the_password_page,
        _reset_by_e_mail_link,
        _set_in_the_back_office,
        _made_unusable,
    ],
    ids=["set_password", "password_page", "reset_link", "back_office", "unusable"],
)
def test_every_token_dies_when_the_password_changes(world_a, client, change):
    # given: two tokens of the customer and one of a colleague
    keys_of_customer = [personal_token(world_a.customer), personal_token(world_a.customer)]
    colleague_key = personal_token(world_a.colleague)
    assert all(opens_the_api(key) for key in keys_of_customer)
    # when
    change(world_a, client)
    # then
    for key in keys_of_customer:
        assert_error(api_with_key(key).get(RETURNS_URL), 401, "token_revoked")
        assert token_of(key).revoked_reason == RevokeReason.PASSWORD_CHANGED
    assert opens_the_api(colleague_key)
    revoked = AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED)
    assert revoked.count() == 2
    assert {event.details["reason"] for event in revoked} == {"password_changed"}
    assert {event.tenant_id for event in revoked} == {world_a.tenant.pk}


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1


def test_a_password_upgraded_to_a_newer_hasher_at_sign_in_is_no_change(world_a, settings):
    # given: the password was hashed with an older hasher than the preferred one
    key = personal_token(world_a.customer)
    settings.PASSWORD_HASHERS = [
        f"{__name__}.FastPBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    user = User.objects.get(pk=world_a.customer.pk)
    before = user.password
    # when: the password is checked (a sign-in); Django re-hashes and saves it
    assert user.check_password(PASSWORD)
    # then
    assert User.objects.get(pk=user.pk).password != before
    assert opens_the_api(key)


@pytest.mark.parametrize("how", ["save", "team_page"])
def test_every_token_dies_when_the_user_is_deactivated_and_stays_dead(world_a, client, how):
    key = personal_token(world_a.customer)
    if how == "save":
        user = User.objects.get(pk=world_a.customer.pk)
        user.is_active = False
        user.save()
    else:
        client.force_login(world_a.customer_admin)
        response = client.post(
            reverse("portal:team_set_active", args=[world_a.customer.pk]), {"active": "0"}
        )
        assert response.status_code == 302

    assert token_of(key).revoked_reason == RevokeReason.USER_DEACTIVATED
    User.objects.filter(pk=world_a.customer.pk).update(is_active=True)
    assert_error(api_with_key(key).get(RETURNS_URL), 401, "token_revoked")


def test_other_saves_of_the_user_leave_the_tokens_alone(world_a):
    key = personal_token(world_a.customer)
    user = User.objects.get(pk=world_a.customer.pk)
    user.full_name = "Renamed"
    user.save()
    user.language = "pl"
    user.save(update_fields=["language"])

    assert token_of(key).revoked_at is None
    assert opens_the_api(key)


# --- the token endpoint ---------------------------------------------------------------------


def test_each_request_issues_a_new_named_token_shown_once(world_a):
    response = obtain(world_a.customer, name="ERP sync", expires_in_days=30)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "id", "name", "prefix", "created_at", "expires_at"}
    token = token_of(body["token"])
    assert (body["id"], body["name"], body["prefix"]) == (token.pk, "ERP sync", token.prefix)
    assert token.expires_at - token.created_at == datetime.timedelta(days=30)
    assert token.tenant_id == world_a.tenant.pk
    created = AuditEvent.objects.get(action=AuditAction.TOKEN_CREATED)
    assert (created.actor_id, created.tenant_id, created.target_id) == (
        world_a.customer.pk,
        world_a.tenant.pk,
        str(token.pk),
    )
    assert body["token"] not in str(created.details)


def test_the_default_lifetime_and_name_come_from_the_settings(world_a, settings):
    settings.API_TOKEN_DEFAULT_DAYS = 7

    body = obtain(world_a.customer).json()

    token = token_of(body["token"])
    assert token.expires_at - token.created_at == datetime.timedelta(days=7)
    assert token.name == "API token"


def test_a_lifetime_beyond_the_maximum_is_refused(world_a, settings):
    settings.API_TOKEN_MAX_DAYS = 30

    error = assert_error(obtain(world_a.customer, expires_in_days=31), 400, "invalid")

    assert set(error["fields"]) == {"expires_in_days"}
    assert not PersonalToken.objects.exists()


def test_active_tokens_per_user_are_capped(world_a, settings):
    settings.API_TOKEN_MAX_ACTIVE = 2
    first = obtain(world_a.customer).json()["token"]
    obtain(world_a.customer)
    personal_token(world_a.customer, expires_at=timezone.now() - datetime.timedelta(days=1))

    assert_error(obtain(world_a.customer), 400, "too_many_tokens")
    assert obtain(world_a.colleague).status_code == 200  # per user

    api_with_key(first).delete(TOKEN_URL)
    assert obtain(world_a.customer).status_code == 200


def test_delete_revokes_the_token_of_the_call_only(world_a):
    used, other = personal_token(world_a.customer), personal_token(world_a.customer)

    response = api_with_key(used).delete(TOKEN_URL)

    assert response.status_code == 204
    assert token_of(used).revoked_reason == RevokeReason.BY_OWNER
    assert_error(api_with_key(used).get(RETURNS_URL), 401, "token_revoked")
    assert opens_the_api(other)
    assert_error(APIClient().delete(TOKEN_URL), 401, "not_authenticated")


def test_a_user_lists_own_tokens_without_secrets(world_a, world_b):
    used = personal_token(world_a.customer, name="Used")
    revoked = personal_token(world_a.customer, name="Old", revoked_at=timezone.now())
    personal_token(world_a.colleague, name="Colleague's")
    personal_token(world_b.customer, name="Other tenant's")

    response = api_with_key(used).get(TOKENS_URL)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["Old", "Used"]  # newest first
    assert {row["id"]: row["state"] for row in rows} == {
        token_of(used).pk: CredentialState.ACTIVE,
        token_of(revoked).pk: CredentialState.REVOKED,
    }
    assert [row["current"] for row in rows] == [False, True]
    assert set(rows[0]) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "state",
        "revoked_at",
        "revoked_reason",
        "current",
    }


def test_a_user_revokes_an_own_token_by_id(world_a):
    used, target = personal_token(world_a.customer), personal_token(world_a.customer)
    client = api_with_key(used)

    response = client.delete(f"{TOKENS_URL}{token_of(target).pk}/")

    assert response.status_code == 204
    assert not opens_the_api(target)
    assert opens_the_api(used)
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert (event.actor_id, event.details["reason"]) == (world_a.customer.pk, "by_owner")
    assert client.delete(f"{TOKENS_URL}{token_of(target).pk}/").status_code == 204  # again


@pytest.mark.parametrize("whose", ["colleague", "other_tenant", "missing"])
def test_another_users_token_id_answers_404_and_changes_nothing(world_a, world_b, whose):
    client = api_with_key(personal_token(world_a.customer))
    if whose == "missing":
        token_id = (PersonalToken.objects.order_by("-pk").first().pk or 0) + 1000
    else:
        owner = world_a.colleague if whose == "colleague" else world_b.customer
        token_id = token_of(personal_token(owner)).pk

    assert_not_found(client.delete(f"{TOKENS_URL}{token_id}/"))
    assert_not_found(client.get(f"{TOKENS_URL}{token_id}/"))

    assert not PersonalToken.objects.filter(revoked_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).exists()


def test_platform_superuser_gets_no_token(superuser):
    assert_error(obtain(superuser), 403, "forbidden")
    assert not PersonalToken.objects.exists()


# --- two-factor ------------------------------------------------------------------------------


def _recovery_codes(user, *codes: str) -> StaticDevice:
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for code in codes:
        StaticToken.objects.create(device=device, token=code)
    return device


def test_a_user_with_two_factor_must_send_a_code(world_a):
    _recovery_codes(world_a.customer, "abcd2345")

    missing = assert_error(obtain(world_a.customer), 400, "otp_required")
    right = obtain(world_a.customer, otp="abcd2345")
    reused = assert_error(obtain(world_a.customer, otp="abcd2345"), 400, "invalid_otp")
    wrong = assert_error(obtain(world_a.customer, otp="zzzz7777"), 400, "invalid_otp")

    assert right.status_code == 200, right.content
    assert set(missing["fields"]) == set(reused["fields"]) == set(wrong["fields"]) == {"otp"}
    assert PersonalToken.objects.count() == 1
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert AuditAction.TWO_FACTOR_FAILED in actions
    assert AuditAction.RECOVERY_CODE_USED in actions


def test_staff_of_a_tenant_requiring_two_factor_need_a_device_for_a_token(world_a):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(staff_two_factor_required=True)

    error = assert_error(obtain(world_a.agent), 403, "two_factor_required")

    assert "two-factor" in error["message"]
    assert obtain(world_a.customer).status_code == 200  # customers choose for themselves
    _recovery_codes(world_a.agent, "abcd2345")
    assert obtain(world_a.agent, otp="abcd2345").status_code == 200
    assert PersonalToken.objects.filter(user=world_a.agent).count() == 1


# --- the page -------------------------------------------------------------------------------


def test_a_customer_creates_a_token_on_the_page_and_sees_it_once(world_a, client):
    client.force_login(world_a.customer)

    response = client.post(PAGE_URL, {"action": "create", "name": "ERP", "expires_in_days": "30"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    doc = parse(response)
    key = doc.select_one("code.secret").text
    token = token_of(key)
    assert (token.user_id, token.name) == (world_a.customer.pk, "ERP")
    assert token.expires_at - token.created_at == datetime.timedelta(days=30)
    assert opens_the_api(key)
    again = parse(client.get(PAGE_URL))
    assert again.select("code.secret") == []
    assert key not in again.text
    assert token.prefix in again.text


def test_the_page_has_the_portal_look_for_customers_and_a_neutral_one_for_staff(world_a, client):
    client.force_login(world_a.customer)
    portal = parse(client.get(PAGE_URL))
    client.force_login(world_a.agent)
    staff = parse(client.get(PAGE_URL))

    portal_nav = [a.text for a in portal.select("nav a")]
    staff_nav = [a.text for a in staff.select("nav a")]
    assert "Returns" in portal_nav and "Complaints" in portal_nav
    assert staff_nav == ["Back-office", "API tokens"]
    for doc in (portal, staff):
        assert doc.select("script:not([src])") == [], "inline script"
        handlers = [
            name for element in doc.iter() for name in element.attrs if name.startswith("on")
        ]
        assert handlers == []


def test_the_page_lists_and_revokes_own_tokens_only(world_a, client):
    own = personal_token(world_a.customer, name="Mine")
    colleagues = personal_token(world_a.colleague, name="Colleague's")
    client.force_login(world_a.customer)

    listed = parse(client.get(PAGE_URL)).select("table.tokens tbody tr")
    assert [row.select("td")[0].text for row in listed] == ["Mine"]

    foreign = client.post(PAGE_URL, {"action": "revoke", "token": token_of(colleagues).pk})
    assert foreign.status_code == 404
    assert token_of(colleagues).revoked_at is None

    revoked = client.post(PAGE_URL, {"action": "revoke", "token": token_of(own).pk})
    assert revoked.status_code == 302
    assert token_of(own).revoked_reason == RevokeReason.BY_OWNER
    rows = parse(client.get(PAGE_URL)).select("table.tokens tbody tr")
    assert rows[0].select("td")[5].text == "revoked"


def test_the_page_refuses_a_lifetime_beyond_the_maximum(world_a, client, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    client.force_login(world_a.customer)

    response = client.post(PAGE_URL, {"action": "create", "name": "ERP", "expires_in_days": "31"})

    assert response.status_code == 200
    assert parse(response).select(".field.has-error input[name=expires_in_days]")
    assert not PersonalToken.objects.exists()


def test_platform_superusers_have_no_token_page(superuser, client):
    client.force_login(superuser)
    assert client.get(PAGE_URL).status_code == 403


def test_the_page_is_named():
    assert reverse("accounts:api_tokens") == PAGE_URL


# --- the back-office ------------------------------------------------------------------------


@pytest.fixture
def tokens_ab(world_a, world_b):
    """One token in each tenant."""
    return (
        token_of(personal_token(world_a.customer, name="Alpha integration")),
        token_of(personal_token(world_b.customer, name="Beta integration")),
    )


def test_drf_token_admin_is_gone(world_a, superuser, client):
    for user in (world_a.tenant_admin, superuser):
        client.force_login(user)
        assert client.get("/backoffice/authtoken/").status_code == 404
        assert client.get("/backoffice/authtoken/tokenproxy/1/history/").status_code == 404


@pytest.mark.parametrize("role", ["tenant_admin", "agent", "manager"])
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_a_foreign_token_id_answers_like_a_missing_one(tokens_ab, world_a, client, role, view):
    _own, foreign = tokens_ab
    client.force_login(getattr(world_a, role))
    missing = PersonalToken.objects.order_by("-pk").first().pk + 1000

    assert answer(client.get(admin_url(view, foreign.pk))) == answer(
        client.get(admin_url(view, missing))
    )
    assert answer(client.post(admin_url(view, foreign.pk), {"post": "yes"})) == answer(
        client.post(admin_url(view, missing), {"post": "yes"})
    )
    assert PersonalToken.objects.filter(pk=foreign.pk, revoked_at__isnull=True).exists()


def test_tenant_admin_sees_and_revokes_own_tenant_tokens_only(tokens_ab, world_a, client):
    own, foreign = tokens_ab
    client.force_login(world_a.tenant_admin)

    listed = client.get(admin_url("changelist"))
    assert {token.pk for token in listed.context["cl"].result_list} == {own.pk}
    assert client.get(admin_url("history", own.pk)).status_code == 200
    change = parse(client.get(admin_url("change", own.pk)))
    assert own.key_hash not in change.text

    response = client.post(
        admin_url("changelist"),
        {"action": "revoke_selected", "_selected_action": [own.pk, foreign.pk]},
    )

    assert response.status_code == 302
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert own.revoked_reason == RevokeReason.BY_ADMIN
    assert foreign.revoked_at is None
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert (event.actor_id, event.tenant_id) == (world_a.tenant_admin.pk, world_a.tenant.pk)


def test_nobody_adds_or_deletes_tokens_in_the_back_office(tokens_ab, world_a, superuser, client):
    own, _foreign = tokens_ab
    for user in (world_a.tenant_admin, superuser):
        client.force_login(user)
        assert client.get(admin_url("add")).status_code == 403
        assert client.post(admin_url("delete", own.pk), {"post": "yes"}).status_code == 403
        actions = client.get(admin_url("changelist")).context["action_form"]
        assert [value for value, _label in actions.fields["action"].choices if value] == [
            "revoke_selected"
        ]
    assert PersonalToken.objects.filter(pk=own.pk).exists()


@pytest.mark.parametrize("role", ["agent", "coordinator", "manager"])
def test_other_staff_roles_have_no_access(tokens_ab, world_a, client, role):
    own, _foreign = tokens_ab
    client.force_login(getattr(world_a, role))

    assert client.get(admin_url("changelist")).status_code == 403
    assert client.get(admin_url("change", own.pk)).status_code == 403  # every id alike
    client.post(
        admin_url("changelist"), {"action": "revoke_selected", "_selected_action": [own.pk]}
    )
    assert PersonalToken.objects.filter(pk=own.pk, revoked_at__isnull=True).exists()


def test_a_switched_superuser_sees_only_that_tenants_tokens(tokens_ab, world_a, superuser, client):
    own, foreign = tokens_ab
    client.force_login(superuser)
    everything = client.get(admin_url("changelist")).context["cl"].result_list
    assert {token.pk for token in everything} == {own.pk, foreign.pk}

    client.post(reverse("admin:switch_tenant"), {"tenant": world_a.tenant.pk})
    listed = client.get(admin_url("changelist")).context["cl"].result_list
    assert {token.pk for token in listed} == {own.pk}
    assert client.get(admin_url("history", foreign.pk)).status_code == 404
    client.post(
        admin_url("changelist"), {"action": "revoke_selected", "_selected_action": [foreign.pk]}
    )
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


# --- tokens of DRF's old token model ---------------------------------------------------------

LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"


def _copy_drf_tokens(**kwargs) -> int:
    migration = importlib.import_module("rma_portal.credentials.migrations.0002_copy_drf_tokens")
    return migration.copy_drf_tokens(
        connection,
        PersonalToken,
        User,
        now=kwargs.get("now", timezone.now()),
        lifetime_days=kwargs.get("lifetime_days", 90),
    )


def test_without_drf_s_table_there_is_nothing_to_copy(db):
    assert "authtoken_token" not in connection.introspection.table_names()
    assert _copy_drf_tokens() == 0


def test_drf_tokens_are_copied_as_hashes_and_keep_working(world_a, superuser):
    # given: DRF's token table with a customer's token and a platform account's
    created = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id bigint NOT NULL UNIQUE)"
        )
        cursor.executemany(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [(LEGACY_KEY, created, world_a.customer.pk), ("f" * 40, created, superuser.pk)],
        )
    now = timezone.now()
    # when
    copied = _copy_drf_tokens(now=now, lifetime_days=90)
    # then
    assert copied == 1
    token = PersonalToken.objects.get()
    assert (token.user_id, token.tenant_id) == (world_a.customer.pk, world_a.tenant.pk)
    assert token.key_hash == hashlib.sha256(LEGACY_KEY.encode()).hexdigest()
    assert token.prefix == LEGACY_KEY[:8]
    assert (token.created_at, token.expires_at) == (created, now + datetime.timedelta(days=90))
    assert LEGACY_KEY not in str(list(PersonalToken.objects.values()))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0  # no key in clear is left
    assert opens_the_api(LEGACY_KEY)
    assert _copy_drf_tokens() == 0  # a second run finds nothing


# --- the schema -----------------------------------------------------------------------------


def test_the_schema_documents_the_token_endpoints(world_a, settings):
    settings.API_DOCS_PUBLIC = True
    response = api_with_key(personal_token(world_a.customer)).get(
        "/api/v1/schema/", {"format": "json"}
    )
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    paths = schema["paths"]
    assert {"post", "delete"} <= set(paths["/api/v1/auth/token/"])
    assert paths["/api/v1/auth/token/"]["post"].get("security", [{}]) == [{}]
    assert {"tokenAuth": []} in paths["/api/v1/auth/token/"]["delete"]["security"]
    assert "get" in paths["/api/v1/auth/tokens/"]
    assert "delete" in paths["/api/v1/auth/tokens/{id}/"]
    listed = schema["components"]["schemas"]["PersonalToken"]["properties"]
    assert "token" not in listed and "key_hash" not in listed

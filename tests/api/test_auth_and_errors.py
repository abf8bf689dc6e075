"""API sign-in (token and session), refusals, and the one error shape of every 4xx answer."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from customers.models import CustomerAccount
from returns.models import ReturnRequest
from rma_portal.accounts.models import User
from rma_portal.api.exceptions import api_exception_handler
from rma_portal.credentials import keys
from rma_portal.credentials.models import PersonalToken
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.context import current_scope
from rma_portal.tenancy.models import Tenant
from tests.factories import PASSWORD

from . import api_as, assert_error, assert_not_found

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
RETURNS_URL = "/api/v1/returns/"


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # Token requests are throttled per client address; every test starts from zero.
    cache.clear()
    yield
    cache.clear()


def obtain_token(email: str, password: str = PASSWORD):
    return APIClient().post(TOKEN_URL, {"email": email, "password": password}, format="json")


# --- token --------------------------------------------------------------------------------


def test_token_is_issued_for_good_credentials_and_opens_the_api(world_a):
    # when
    response = obtain_token(world_a.customer.email.upper())  # e-mail is case-insensitive
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    token = body["token"]
    stored = PersonalToken.objects.get(user=world_a.customer)
    assert body["id"] == stored.pk
    assert body["prefix"] == stored.prefix and token.startswith(stored.prefix)
    assert stored.key_hash == keys.digest(token)  # only the hash is kept
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get(RETURNS_URL)
    assert listed.status_code == 200
    assert listed.json()["results"] == []
    # asking again issues another token; both work
    again = obtain_token(world_a.customer.email).json()["token"]
    assert again != token
    client.credentials(HTTP_AUTHORIZATION=f"Token {again}")
    assert client.get(RETURNS_URL).status_code == 200


def test_bad_password_is_refused_in_the_error_shape(world_a):
    response = obtain_token(world_a.customer.email, "wrong-password")
    error = assert_error(response, 400, "invalid_credentials")
    assert error["fields"] == {}
    assert not PersonalToken.objects.filter(user=world_a.customer).exists()


def test_unknown_email_gets_the_same_answer_as_a_bad_password(world_a):
    unknown = obtain_token("nobody@example.com")
    bad = obtain_token(world_a.customer.email, "wrong-password")
    assert unknown.json() == bad.json()


def test_missing_credentials_name_the_fields():
    response = APIClient().post(TOKEN_URL, {}, format="json")
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"email", "password"}


@pytest.mark.parametrize("what", ["company", "user", "tenant"])
def test_no_token_for_an_inactive_user_company_or_tenant(world_a, what):
    # given
    if what == "company":
        CustomerAccount.unscoped.filter(pk=world_a.company.pk).update(is_active=False)
    elif what == "user":
        User.objects.filter(pk=world_a.customer.pk).update(is_active=False)
    else:
        Tenant.objects.filter(pk=world_a.tenant.pk).update(is_active=False)
    # when
    response = obtain_token(world_a.customer.email)
    # then: the same answer as a bad password, so the account's state is not disclosed
    assert_error(response, 400, "invalid_credentials")
    assert not PersonalToken.objects.filter(user=world_a.customer).exists()


@pytest.mark.parametrize("what", ["company", "user", "tenant"])
def test_an_existing_token_stops_working_when_the_company_user_or_tenant_is_deactivated(
    world_a, what
):
    client = api_as(world_a.customer)
    assert client.get(RETURNS_URL).status_code == 200
    if what == "company":
        CustomerAccount.unscoped.filter(pk=world_a.company.pk).update(is_active=False)
    elif what == "user":
        User.objects.filter(pk=world_a.customer.pk).update(is_active=False)
    else:
        Tenant.objects.filter(pk=world_a.tenant.pk).update(is_active=False)

    assert_error(client.get(RETURNS_URL), 401, "authentication_failed")


def test_platform_superuser_gets_no_token_and_no_cross_tenant_access(superuser, world_a):
    assert_error(obtain_token(superuser.email), 403, "forbidden")

    session = APIClient()
    session.force_login(superuser)
    assert_error(session.get(RETURNS_URL), 403, "forbidden")
    assert_error(session.get("/api/v1/orders/"), 403, "forbidden")


def test_token_requests_are_throttled(world_a, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "3/minute"})
    for _attempt in range(3):
        assert obtain_token(world_a.customer.email, "guess").status_code == 400

    response = obtain_token(world_a.customer.email)  # even the right password now waits

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


# --- using the API ----------------------------------------------------------------------


def test_no_credentials_answer_401_in_the_error_shape(world_a):
    response = APIClient().get(RETURNS_URL)
    error = assert_error(response, 401, "not_authenticated")
    assert error["fields"] == {}
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_answers_401(world_a):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(client.get(RETURNS_URL), 401, "authentication_failed")


def test_session_sign_in_works_too(world_a, login):
    client = login(world_a.customer)  # the real login form
    assert client.get(RETURNS_URL).status_code == 200


def test_the_tenant_of_a_token_request_is_not_left_behind(world_a):
    # The token request sets the tenant itself (the middleware saw no session user) and must
    # restore the previous scope afterwards, here: none.
    assert current_scope() is None
    assert api_as(world_a.agent).get(RETURNS_URL).status_code == 200
    assert current_scope() is None


def test_unknown_api_paths_answer_json_404(world_a):
    assert_not_found(api_as(world_a.customer).get("/api/v1/no-such-thing/"))
    assert_not_found(api_as(world_a.customer).get("/api/v1/returns/not-a-number/"))


def test_method_not_allowed_in_the_error_shape(world_a):
    response = api_as(world_a.customer).delete(RETURNS_URL)
    assert_error(response, 405, "method_not_allowed")


def test_malformed_json_in_the_error_shape(world_a):
    response = api_as(world_a.customer).post(
        RETURNS_URL, data="{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_unsupported_media_type_in_the_error_shape(world_a):
    response = api_as(world_a.customer).post(RETURNS_URL, {"submit": "true"}, format="multipart")
    assert_error(response, 415, "unsupported_media_type")
    assert not ReturnRequest.unscoped.exists()


@pytest.mark.parametrize(
    ("code", "status"),
    [("conflict", 409), ("forbidden", 403), ("invalid", 400), ("policy_refused", 400)],
)
def test_application_errors_keep_their_code_message_and_fields(code, status):
    error = ApplicationError("Return RMA-1 is approved.", code=code, fields={"note": ["Too long."]})

    response = api_exception_handler(error, {})

    assert response.status_code == status
    assert response.data == {
        "error": {
            "code": code,
            "message": "Return RMA-1 is approved.",
            "fields": {"note": ["Too long."]},
        }
    }


def test_application_not_found_never_carries_details():
    error = ApplicationError("Return RMA-1 of Beta", code="not_found", fields={"x": ["y"]})

    response = api_exception_handler(error, {})

    assert response.status_code == 404
    assert response.data == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}

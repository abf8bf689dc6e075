"""The client's address is read one way everywhere (rma_portal/security/client.py): the sign-in
lockout and the API throttles follow NUM_PROXIES, and a client that writes its own
X-Forwarded-For gains nothing."""

from __future__ import annotations

import pytest
from axes.helpers import get_client_ip_address
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from rma_portal.api.throttling import ClientAddressScopedRateThrottle, SignInAccountRateThrottle
from rma_portal.security.client import axes_client_ip, client_ip
from tests.api import assert_error

TOKEN_URL = "/api/v1/auth/token/"
PROXY = "10.0.0.2"
CLIENT = "203.0.113.5"
OTHER_CLIENT = "203.0.113.6"


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/accounts/login/", **extra)


# --- client_ip --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        # No proxy: the header is the client's own words and is ignored.
        (0, CLIENT, None, CLIENT),
        (0, CLIENT, "198.51.100.1", CLIENT),
        (0, CLIENT, "198.51.100.1, 198.51.100.2", CLIENT),
        # One proxy: the entry it appended, the right-most; what the client wrote is left of it.
        (1, PROXY, CLIENT, CLIENT),
        (1, PROXY, f"198.51.100.1, {CLIENT}", CLIENT),
        (1, PROXY, f"  198.51.100.1 ,{CLIENT}  ", CLIENT),
        # Two proxies: the entry the outer one appended, second from the right.
        (2, PROXY, f"{CLIENT}, 10.0.0.1", CLIENT),
        (2, PROXY, f"198.51.100.1, {CLIENT}, 10.0.0.1", CLIENT),
        # Fewer entries than proxies: the request did not come through them; only the peer
        # is known.
        (1, PROXY, None, PROXY),
        (1, PROXY, "", PROXY),
        (2, PROXY, CLIENT, PROXY),
        # Not an address where the proxy's entry should be: the peer.
        (1, PROXY, "198.51.100.1, not-an-address", PROXY),
        (1, PROXY, "198.51.100.1, 203.0.113.500", PROXY),
        (1, PROXY, f"{CLIENT}, unknown", PROXY),
        # Addresses are compared as written by ipaddress, whatever their spelling.
        (1, PROXY, "2001:DB8:0:0::1", "2001:db8::1"),
        (0, "2001:0db8::0001", None, "2001:db8::1"),
        # A peer that is no address (a misconfigured server) is unknown, never trusted text.
        (0, "garbage", None, ""),
        (1, "garbage", "not-an-address", ""),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.NUM_PROXIES = proxies
    request = request_from(remote, forwarded)

    assert client_ip(request) == expected
    assert axes_client_ip(request) == expected


@pytest.mark.parametrize("proxies", [0, 1, 2])
def test_axes_and_the_throttles_read_the_same_address(settings, proxies):
    settings.NUM_PROXIES = proxies
    request = request_from(PROXY, f"198.51.100.7, {CLIENT}, 10.0.0.1")

    assert get_client_ip_address(request) == client_ip(request)
    assert ClientAddressScopedRateThrottle().get_ident(request) == client_ip(request)


# --- the token endpoint's throttle ------------------------------------------------------------


@pytest.fixture
def throttle_of_three(monkeypatch):
    """Three token requests per address and minute, on a clock that stands still: what is
    tested is who counts as one client, not how fast the requests are."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "3/minute"})
    monkeypatch.setattr(
        SignInAccountRateThrottle, "THROTTLE_RATES", {"auth_token_account": "1000/minute"}
    )
    monkeypatch.setattr(ScopedRateThrottle, "timer", lambda self: 1_000_000.0)
    monkeypatch.setattr(SignInAccountRateThrottle, "timer", lambda self: 1_000_000.0)


def ask_token(number: int, **extra):
    # A different unknown e-mail each time: only the address is common to the requests.
    return APIClient().post(
        TOKEN_URL,
        {"email": f"guess{number}@example.com", "password": "guess"},
        format="json",
        **extra,
    )


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_escape_the_throttle_without_proxy(
    settings, throttle_of_three
):
    settings.NUM_PROXIES = 0
    answers = [
        ask_token(n, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        for n in range(1, 5)
    ]

    assert [answer.status_code for answer in answers[:3]] == [400, 400, 400]
    assert_error(answers[3], 429, "throttled")
    assert answers[3]["Retry-After"] == "60"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rotated",
    [
        pytest.param(lambda n: f"198.51.100.{n}, {CLIENT}", id="left-most-entries"),
        pytest.param(lambda n: f"198.51.100.{n}, 198.51.100.{n + 1}, {CLIENT}", id="several"),
    ],
)
def test_rotating_x_forwarded_for_does_not_escape_the_throttle_behind_a_proxy(
    settings, throttle_of_three, rotated
):
    settings.NUM_PROXIES = 1
    answers = [
        ask_token(n, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=rotated(n)) for n in range(1, 5)
    ]

    assert [answer.status_code for answer in answers[:3]] == [400, 400, 400]
    assert_error(answers[3], 429, "throttled")
    assert int(answers[3]["Retry-After"]) > 0
    # Another client behind the same proxy has its own allowance: the proxy's address is not
    # the client's.
    other = ask_token(9, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.1, {OTHER_CLIENT}")
    assert_error(other, 400, "invalid_credentials")


@pytest.mark.django_db
def test_rotating_what_is_not_an_address_does_not_escape_the_throttle(settings, throttle_of_three):
    # A request that reached the application without passing the proxy, its header made up.
    settings.NUM_PROXIES = 1
    answers = [
        ask_token(n, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=f"client-{n}") for n in range(1, 5)
    ]

    assert [answer.status_code for answer in answers[:3]] == [400, 400, 400]
    assert_error(answers[3], 429, "throttled")

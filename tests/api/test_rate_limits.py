"""Rate limits: every API answer says where the client stands; beyond the tenant's requests
per minute a key or a user gets 429 with Retry-After until the minute is over; anonymous
clients are counted by the address our proxies saw. The clock is the throttle's `timer`."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from rma_portal.api.throttling import ApiRateThrottle
from rma_portal.tenancy.models import Tenant

from . import api_as, assert_error, assert_not_found
from .test_api_keys import new_key, with_key

pytestmark = pytest.mark.django_db

RETURNS_URL = "/api/v1/returns/"
MINUTE = 1_800_000_000  # a minute boundary, in Unix time


@pytest.fixture
def clock(monkeypatch):
    """The throttle's time, set by the test: starts 10 seconds into a minute."""
    now = [MINUTE + 10.0]
    monkeypatch.setattr(ApiRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def set_limit(tenant, per_minute: int) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(api_rate_limit_per_minute=per_minute)


def limits(response) -> tuple[int, int, int]:
    return (
        int(response["X-RateLimit-Limit"]),
        int(response["X-RateLimit-Remaining"]),
        int(response["X-RateLimit-Reset"]),
    )


def test_every_answer_carries_the_rate_limit(world_a, clock, settings):
    settings.API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = 30
    client = api_as(world_a.agent)
    reset = MINUTE + 60

    assert limits(client.get(RETURNS_URL)) == (600, 599, reset)  # the default per tenant
    missing = client.get(f"{RETURNS_URL}999999/")
    assert_not_found(missing)
    assert limits(missing) == (600, 598, reset)
    invalid = client.get(RETURNS_URL, {"status": "nonsense"})
    assert invalid.status_code == 400 and limits(invalid) == (600, 597, reset)
    forbidden = api_as(world_a.customer).get("/api/v1/api-keys/")
    assert forbidden.status_code == 403 and limits(forbidden) == (600, 599, reset)
    anonymous = APIClient().get(RETURNS_URL)
    assert anonymous.status_code == 401 and limits(anonymous) == (30, 29, reset)


def test_a_user_beyond_the_tenants_limit_waits_for_the_next_minute(world_a, clock, login):
    set_limit(world_a.tenant, 3)
    token = api_as(world_a.agent)
    session = login(world_a.agent)  # the same person: the same count

    assert limits(token.get(RETURNS_URL))[1] == 2
    assert limits(session.get(RETURNS_URL))[1] == 1
    assert limits(token.get(RETURNS_URL))[1] == 0
    clock[0] = MINUTE + 45.5
    refused = token.get(RETURNS_URL)

    assert_error(refused, 429, "throttled")
    assert refused["Retry-After"] == "15"
    assert limits(refused) == (3, 0, MINUTE + 60)
    assert session.get(RETURNS_URL).status_code == 429
    # others of the tenant have their own count
    assert api_as(world_a.coordinator).get(RETURNS_URL).status_code == 200
    # the next minute starts afresh
    clock[0] = MINUTE + 60
    again = token.get(RETURNS_URL)
    assert again.status_code == 200 and limits(again) == (3, 2, MINUTE + 120)


def test_each_api_key_has_its_own_count(world_a, clock):
    set_limit(world_a.tenant, 2)
    _, erp = new_key(world_a, name="ERP")
    _, warehouse = new_key(world_a, name="Warehouse")
    erp_client, warehouse_client = with_key(erp), with_key(warehouse)

    assert erp_client.get(RETURNS_URL).status_code == 200
    assert erp_client.get(RETURNS_URL).status_code == 200
    refused = erp_client.get(RETURNS_URL)

    assert_error(refused, 429, "throttled")
    assert refused["Retry-After"] == "50"
    # the other key of the same integration, and the people of the tenant, go on
    assert limits(warehouse_client.get(RETURNS_URL)) == (2, 1, MINUTE + 60)
    assert api_as(world_a.agent).get(RETURNS_URL).status_code == 200


def test_the_limit_is_each_tenants_own(world_a, world_b, clock):
    set_limit(world_a.tenant, 1)
    set_limit(world_b.tenant, 5)
    a, b = api_as(world_a.agent), api_as(world_b.agent)

    assert a.get(RETURNS_URL).status_code == 200
    assert a.get(RETURNS_URL).status_code == 429
    for remaining in (4, 3, 2, 1, 0):
        assert limits(b.get(RETURNS_URL)) == (5, remaining, MINUTE + 60)
    assert b.get(RETURNS_URL).status_code == 429


def test_anonymous_clients_are_counted_by_their_address(world_a, clock, settings):
    settings.API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = 2
    client = APIClient()

    assert client.get(RETURNS_URL, REMOTE_ADDR="203.0.113.7").status_code == 401
    # a made-up X-Forwarded-For is no new client (no trusted proxy in front: NUM_PROXIES=0)
    spoofed = client.get(RETURNS_URL, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert spoofed.status_code == 401
    refused = client.get(RETURNS_URL, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.1.1.1")

    assert_error(refused, 429, "throttled")
    assert refused["Retry-After"] == "50"
    assert client.get(RETURNS_URL, REMOTE_ADDR="203.0.113.8").status_code == 401


def test_behind_a_proxy_the_address_it_saw_counts(world_a, clock, settings):
    settings.API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = 1
    settings.NUM_PROXIES = 1
    client = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    assert client.get(RETURNS_URL, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy).status_code == 401
    refused = client.get(RETURNS_URL, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    assert refused.status_code == 429
    # another client behind the same proxy
    assert client.get(RETURNS_URL, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code == 401


def test_requests_with_a_wrong_key_count_against_their_address(world_a, clock, settings):
    settings.API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = 2
    wrong = with_key("rma_key_AAAAAAAA_" + "A" * 43)

    assert wrong.get(RETURNS_URL, REMOTE_ADDR="203.0.113.9").status_code == 401
    assert wrong.get(RETURNS_URL, REMOTE_ADDR="203.0.113.9").status_code == 401
    assert_error(wrong.get(RETURNS_URL, REMOTE_ADDR="203.0.113.9"), 429, "throttled")


def test_the_tenant_limit_is_validated(world_a):
    from django.core.exceptions import ValidationError

    tenant = Tenant.objects.get(pk=world_a.tenant.pk)
    tenant.api_rate_limit_per_minute = 0
    with pytest.raises(ValidationError) as raised:
        tenant.full_clean()
    assert "api_rate_limit_per_minute" in raised.value.message_dict

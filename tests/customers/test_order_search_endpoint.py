"""The order picker's search (`portal:order_search`, JSON): the company's orders only, the
newest first, at most ten; bad input is a 400 with a message, never a 500; counted against
the user's rate limit; a constant number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rma_portal.api.throttling import ApiRateThrottle
from rma_portal.tenancy.models import Tenant
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db

URL = reverse("portal:order_search")
MINUTE = 1_800_000_000  # a minute boundary, in Unix time


def order_of(company, *, number: str, day: int = 1, products=()):
    tenant = company.tenant
    order = OrderFactory(
        tenant=tenant,
        customer_account=company,
        number=number,
        order_date=datetime.date(2026, 10, day),
        delivery_date=None,
    )
    for line_number, product in enumerate(products or [ProductFactory(tenant=tenant)], start=1):
        OrderLineFactory(tenant=tenant, order=order, line_number=line_number, product=product)
    return order


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return [result["number"] for result in response.json()["results"]]


def test_answers_the_companys_matching_orders_newest_first(world_a, login):
    pump = ProductFactory(tenant=world_a.tenant, name="Pompa wirowa", sku="PMP-1")
    products = [pump, *(ProductFactory(tenant=world_a.tenant) for _ in range(4))]
    older = order_of(world_a.company, number="ZS/100", day=3, products=products)
    newer = order_of(world_a.company, number="ZS/200", day=9, products=[pump])
    order_of(world_a.company, number="ZS/300", day=5)

    response = login(world_a.customer).get(URL, {"q": "pompa"})

    assert numbers(response) == ["ZS/200", "ZS/100"]
    body = response.json()
    assert body["query"] == "pompa"
    assert body["more"] is False
    first, second = body["results"]
    assert first == {
        "id": newer.pk,
        "number": "ZS/200",
        "order_date": "2026-10-09",
        "label": "ZS/200 · 9 Oct 2026",
        "products": "Pompa wirowa",
    }
    assert second["id"] == older.pk
    names = [product.name for product in products[:3]]
    assert second["products"] == ", ".join(names) + " and 2 more"


def test_without_a_search_the_newest_ten_and_more_is_said(world_a, login):
    for day in range(1, 13):
        order_of(world_a.company, number=f"N/{day:02d}", day=day)
    body = login(world_a.customer).get(URL).json()
    assert [result["number"] for result in body["results"]] == [
        f"N/{day:02d}" for day in range(12, 2, -1)
    ]
    assert body["more"] is True
    assert body["query"] == ""


def test_another_companys_or_tenants_orders_never_appear(world_a, world_b, login):
    shared = {"name": "Shared valve", "sku": "SHARED-1"}
    own = order_of(
        world_a.company,
        number="SHARED/1",
        products=[ProductFactory(tenant=world_a.tenant, **shared)],
    )
    order_of(
        world_a.other_company,
        number="SHARED/2",
        products=[ProductFactory(tenant=world_a.tenant, name="Shared valve", sku="SHARED-2")],
    )
    foreign = order_of(
        world_b.company,
        number="SHARED/1",
        products=[ProductFactory(tenant=world_b.tenant, **shared)],
    )
    client = login(world_a.customer)
    for query in ("", "shared", "SHARED/2", "Shared valve", "SHARED-1"):
        ids = [result["id"] for result in client.get(URL, {"q": query}).json()["results"]]
        assert foreign.pk not in ids, query
        assert set(ids) <= {own.pk}, query
    assert numbers(client.get(URL, {"q": "SHARED/2"})) == []


def test_a_search_too_long_is_a_400_with_a_message(world_a, login):
    response = login(world_a.customer).get(URL, {"q": "x" * 101})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "Ensure this value has at most 100 characters (it has 101).",
            "fields": {"q": ["Ensure this value has at most 100 characters (it has 101)."]},
        }
    }


def test_a_null_character_is_a_400_with_a_message(world_a, login):
    response = login(world_a.customer).get(URL, {"q": "ZS\x00/1"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Null characters are not allowed."


@pytest.mark.parametrize(
    "query", ["%", "_", "\\", "' OR 1=1 --", '"]', "🔧", "ZS/1;", "<script>", "   "]
)
def test_odd_characters_answer_200(world_a, login, query):
    order_of(world_a.company, number="ZS/1")
    response = login(world_a.customer).get(URL, {"q": query})
    assert response.status_code == 200
    if query.strip():
        assert response.json()["results"] == []


def test_a_number_with_odd_characters_is_found_as_written(world_a, login):
    order_of(world_a.company, number="A_1%<b>")
    order_of(world_a.company, number="A21x")
    client = login(world_a.customer)
    assert numbers(client.get(URL, {"q": "a_1%"})) == ["A_1%<b>"]
    markup = client.get(URL, {"q": "<b>"})
    assert numbers(markup) == ["A_1%<b>"]  # data: the script sets it as text, never as HTML
    assert markup["X-Content-Type-Options"] == "nosniff"


def test_only_customers_use_it(world_a, login, client):
    anonymous = client.get(URL, {"q": "x"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("accounts:login"))
    assert login(world_a.agent).get(URL, {"q": "x"}).status_code == 403


def test_only_get(world_a, login):
    client = login(world_a.customer)
    assert client.post(URL, {"q": "x"}).status_code == 405


def test_query_count_does_not_grow_with_the_orders(world_a, login):
    client = login(world_a.customer)
    product = ProductFactory(tenant=world_a.tenant, name="Kabel")

    def queries(query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, {"q": query}).status_code == 200
        return len(captured)

    order_of(world_a.company, number="K/00", products=[product])
    few = (queries("kabel"), queries(""))
    for n in range(1, 14):
        order_of(
            world_a.company,
            number=f"K/{n:02d}",
            products=[product, ProductFactory(tenant=world_a.tenant)],
        )
    assert (queries("kabel"), queries("")) == few
    assert max(few) <= 8


@pytest.fixture
def clock(monkeypatch):
    """The throttle's time, set by the test: 10 seconds into a minute."""
    now = [MINUTE + 10.0]
    monkeypatch.setattr(ApiRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def test_it_counts_against_the_users_rate_limit(world_a, login, clock):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(api_rate_limit_per_minute=2)
    client = login(world_a.customer)

    first = client.get(URL, {"q": "a"})
    assert first.status_code == 200
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("2", "1")
    assert client.get(URL, {"q": "ab"}).status_code == 200
    clock[0] = MINUTE + 48.2
    refused = client.get(URL, {"q": "abc"})

    assert refused.status_code == 429
    assert refused["Retry-After"] == "12"
    assert refused.json()["error"]["code"] == "throttled"
    assert refused.json()["error"]["message"] == (
        "Request was throttled. Expected available in 12 seconds."
    )
    # a colleague has a count of their own; the next minute starts afresh
    colleague = Client()
    colleague.force_login(world_a.colleague)
    assert colleague.get(URL, {"q": "a"}).status_code == 200
    clock[0] = MINUTE + 60
    assert client.get(URL, {"q": "abc"}).status_code == 200

"""The portal's orders list searches the company's orders by order and invoice number, SKU,
product name, serial and lot number; never another company's or tenant's."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Invoice, OrderLine
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.html import parse, texts, visible_text

pytestmark = pytest.mark.django_db

HOME = reverse("portal:home")


_plain_products = itertools.count()


def _plain_product(tenant):
    """A product no search of these tests finds: letters only in its SKU and name (the
    factory's sequence numbers, "SKU-00042", depend on which tests ran before)."""
    n = next(_plain_products)
    code = "".join(chr(ord("A") + (n // 26**power) % 26) for power in (2, 1, 0))
    return ProductFactory(tenant=tenant, sku=f"PLAIN-{code}", name=f"Plain item {code}")


def order_of(company, *, number: str, products=(), invoice_number: str = "", **line_fields):
    """An order of `company` numbered `number`, one line per product (a new product if none)
    with `line_fields`."""
    tenant = company.tenant
    order = OrderFactory(
        tenant=tenant, customer_account=company, number=number, invoice_number=invoice_number
    )
    for line_number, product in enumerate(products or [_plain_product(tenant)], start=1):
        OrderLineFactory(
            tenant=tenant, order=order, line_number=line_number, product=product, **line_fields
        )
    return order


def found(client, query: str, **params) -> list[str]:
    response = client.get(HOME, {"q": query, **params})
    assert response.status_code == 200
    return texts(response, "article.order h3")


@pytest.fixture
def searchable(world_a):
    """Orders of world A's company, each findable by one field only."""
    tenant, company = world_a.tenant, world_a.company
    pump = ProductFactory(tenant=tenant, sku="PMP-4410", name="Pompa wirowa Żuraw 40")
    valve = ProductFactory(tenant=tenant, sku="VLV-0020", name="Zawór kulowy")
    orders = {
        "number": order_of(company, number="ZS/2026/7781"),
        "sku": order_of(company, number="ZS/2026/0001", products=[pump]),
        "product": order_of(company, number="ZS/2026/0002", products=[valve]),
        "lot": order_of(company, number="ZS/2026/0003", lot_number="LOT-2026-AB17"),
        "serial": order_of(
            company, number="ZS/2026/0004", serial_numbers=["SN-100-XQ", "SN-101-XQ"]
        ),
        "invoice": order_of(company, number="ZS/2026/0005", invoice_number="FV/77/2026"),
    }
    billed = order_of(company, number="ZS/2026/0006", invoice_number="")
    invoice = Invoice.unscoped.create(
        tenant=tenant,
        number="FA-2026-11-0042",
        customer_account=company,
        issue_date=datetime.date(2026, 10, 5),
        currency="PLN",
        net_amount=Decimal("100.00"),
        tax_amount=Decimal("23.00"),
        gross_amount=Decimal("123.00"),
    )
    OrderLine.unscoped.filter(order=billed).update(invoice=invoice)
    orders["line invoice"] = billed
    return orders


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("7781", "number"),
        ("zs/2026/7781", "number"),
        ("pmp-44", "sku"),
        ("PMP-4410", "sku"),
        ("kulowy", "product"),
        ("lot-2026-ab", "lot"),
        ("sn-101", "serial"),
        ("SN-100-XQ", "serial"),
        ("fv/77", "invoice"),
        ("fa-2026-11-0042", "line invoice"),
        ("  0042 ", "line invoice"),
    ],
)
def test_search_finds_an_order_by_each_field_whatever_the_case(
    world_a, login, searchable, query, field
):
    client = login(world_a.customer)
    assert found(client, query) == [searchable[field].number]


def test_letters_beyond_ascii_match_whatever_their_case_on_postgresql(world_a, login, searchable):
    client = login(world_a.customer)
    assert found(client, "zawór") == [searchable["product"].number]
    if connection.vendor == "postgresql":
        assert found(client, "ZAWÓR") == [searchable["product"].number]
        assert found(client, "żuraw") == [searchable["sku"].number]
    else:  # SQLite's LIKE folds A-Z only (docs/performance.md#the-portals-order-search)
        assert found(client, "ZAWÓR") == []


def test_short_fragments_of_lot_and_serial_numbers_are_found(world_a, login):
    order_of(world_a.company, number="Q/1", lot_number="ZX-1", serial_numbers=["QW-9"])
    order_of(world_a.company, number="Q/2")
    client = login(world_a.customer)
    assert found(client, "zx") == ["Q/1"]
    assert found(client, "w-9") == ["Q/1"]
    assert found(client, "q/") == ["Q/2", "Q/1"]


def test_search_runs_of_spaces_count_as_one(world_a, login, searchable):
    client = login(world_a.customer)
    assert found(client, "Pompa   wirowa") == [searchable["sku"].number]
    assert found(client, "Pompa\twirowa  Żuraw") == [searchable["sku"].number]


def test_search_never_shows_another_companys_or_tenants_orders(world_a, world_b, login):
    """The same number, SKU, product name, lot, serial and invoice in another company of the
    tenant and in another tenant: only the own company's order is found."""
    fields = {"lot_number": "LOT-SHARED-9", "serial_numbers": ["SN-SHARED-9"]}
    own = order_of(
        world_a.company,
        number="SHARED/1",
        products=[ProductFactory(tenant=world_a.tenant, sku="SKU-SHARED", name="Shared pump")],
        invoice_number="FV/SHARED",
        **fields,
    )
    neighbour = order_of(
        world_a.other_company,
        number="SHARED/2",
        invoice_number="FV/SHARED-2",
        products=[ProductFactory(tenant=world_a.tenant, sku="SKU-SHARED-2", name="Shared pump")],
        **fields,
    )
    foreign = order_of(
        world_b.company,
        number="SHARED/1",
        products=[ProductFactory(tenant=world_b.tenant, sku="SKU-SHARED", name="Shared pump")],
        invoice_number="FV/SHARED",
        **fields,
    )
    client = login(world_a.customer)
    for query in ("shared", "SKU-SHARED", "Shared pump", "LOT-SHARED", "SN-SHARED", "FV/SHARED"):
        response = client.get(HOME, {"q": query})
        assert [order.pk for order in response.context["orders"]] == [own.pk], query
        assert neighbour.number not in visible_text(response)
    assert foreign.number == own.number  # the other tenant's is the same number: by id above


def test_no_match_says_so_and_offers_every_order(world_a, login, searchable):
    response = login(world_a.customer).get(HOME, {"q": "no-such-thing"})
    doc = parse(response)
    assert doc.select("article.order") == []
    assert doc.select_one(".no-match").text.startswith(
        "No order of your company matches “no-such-thing”."
    )
    assert doc.select_one(".no-match a")["href"] == HOME
    assert doc.select_one("input[name=q]")["value"] == "no-such-thing"
    assert "has no orders yet" not in doc.text


def test_matches_are_counted_and_the_search_is_kept_across_pages(world_a, login):
    product = ProductFactory(tenant=world_a.tenant, name="Kabel miedziany")
    for n in range(23):
        order_of(world_a.company, number=f"K/{n:03d}", products=[product])
    for n in range(4):
        order_of(world_a.company, number=f"OTHER/{n:03d}")
    client = login(world_a.customer)

    first = client.get(HOME, {"q": "miedziany"})
    doc = parse(first)
    assert doc.select_one(".search-summary").text == "23 orders match “miedziany”."
    assert len(first.context["orders"]) == 10
    older = doc.select_one("nav.pager a[rel=next]")["href"]
    assert older == "?q=miedziany&page=2"

    third = client.get(HOME + older.replace("page=2", "page=3"))
    assert [order.number for order in third.context["orders"]] == ["K/002", "K/001", "K/000"]
    newer = parse(third).select_one("nav.pager a[rel=prev]")["href"]
    assert newer == "?q=miedziany&page=2"
    assert parse(third).select_one("input[name=q]")["value"] == "miedziany"

    one = client.get(HOME, {"q": "K/007"})
    assert parse(one).select_one(".search-summary").text == "1 order matches “K/007”."


def test_search_by_serial_ignores_the_json_punctuation(world_a, login):
    order_of(world_a.company, number="S/1", serial_numbers=["AA-1", "AA-2"])
    client = login(world_a.customer)
    for query in ('", "', '"', "[", "]", ",", "\\", '["AA-1"'):
        assert found(client, query) == [], query
    assert found(client, "aa-2") == ["S/1"]


@pytest.mark.parametrize(
    "query",
    [
        "%",
        "_",
        "%%",
        "100%",
        "a_b",
        "' OR '1'='1",
        "'; DROP TABLE customers_order; --",
        "🔧",
        "\\%",
    ],
)
def test_odd_characters_are_searched_for_literally(world_a, login, searchable, query):
    client = login(world_a.customer)
    assert found(client, query) == []
    order_of(world_a.company, number=f"ODD/{query}")
    assert found(client, query) == [f"ODD/{query}"]


def test_a_very_long_search_is_a_clear_error_and_lists_every_order(world_a, login, searchable):
    response = login(world_a.customer).get(HOME, {"q": "x" * 5000})
    assert response.status_code == 200
    doc = parse(response)
    assert doc.select_one(".order-search .error").text == (
        "Ensure this value has at most 100 characters (it has 5000)."
    )
    assert doc.select_one("input[name=q]").get("aria-invalid") == "true"
    assert doc.select(".search-summary") == []
    assert len(doc.select("article.order")) == 7


def test_a_null_character_is_a_clear_error(world_a, login, searchable):
    response = login(world_a.customer).get(HOME, {"q": "ZS\x00"})
    assert response.status_code == 200
    assert texts(response, ".order-search .error") == ["Null characters are not allowed."]


@pytest.mark.parametrize("page", ["0", "-1", "99999999999999999999999", "abc", "²"])
def test_odd_pages_of_a_search_answer_a_page(world_a, login, searchable, page):
    response = login(world_a.customer).get(HOME, {"q": "ZS/2026", "page": page})
    assert response.status_code == 200


def test_an_empty_search_lists_every_order(world_a, login, searchable):
    response = login(world_a.customer).get(HOME, {"q": "   "})
    assert len(response.context["orders"]) == 7
    assert parse(response).select(".search-summary") == []


def test_search_query_count_does_not_grow_with_the_matches(world_a, login):
    product = ProductFactory(tenant=world_a.tenant, name="Rura stalowa")
    client = login(world_a.customer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(HOME, {"q": "stalowa"})
        assert response.status_code == 200
        return len(captured)

    order_of(world_a.company, number="R/000", products=[product])
    few = queries()
    for n in range(1, 13):
        order_of(
            world_a.company,
            number=f"R/{n:03d}",
            products=[product, ProductFactory(tenant=world_a.tenant)],
            serial_numbers=["X"],
        )
    many = queries()
    assert many == few
    assert many <= 10


def test_the_search_field_is_labelled_and_described(world_a, login):
    doc = parse(login(world_a.customer).get(HOME))
    form = doc.select_one("form.order-search")
    assert form["role"] == "search"
    assert form["method"] == "get"
    field = form.select_one("input[name=q]")
    assert field["type"] == "search"
    assert field["maxlength"] == "100"
    assert form.select_one(f"label[for={field['id']}]").text == "Search orders:"
    hint = form.select_one(f"#{field['aria-describedby']}")
    assert hint.text == "Order or invoice number, SKU, product name, serial number or lot number."


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's form of the query")
def test_lines_are_read_through_the_companys_order_ids_on_postgresql(world_a, login):
    """Row-level security keeps LIKE from any index: the lines are found by the ids of the
    company's orders (a leakproof `=`), never by reading the tenant's lines."""
    order_of(world_a.company, number="P/1", lot_number="LOT-77")
    client = login(world_a.customer)
    with CaptureQueriesContext(connection) as captured:
        assert found(client, "lot-77") == ["P/1"]
    searches = [query["sql"] for query in captured if "customers_orderline" in query["sql"]]
    assert searches
    assert all('"order_id" = ANY(ARRAY(SELECT' in sql for sql in searches[:2])

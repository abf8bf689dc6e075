"""The ERP's write API: upserts by the ERP's keys through the CSV import's checks and writes,
all-or-nothing per request, tenant-bound, tenant admins only, constant queries per request."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import (
    CustomerAccount,
    CustomerMembership,
    Invoice,
    Order,
    OrderLine,
    Product,
    ProductCategory,
)
from customers.services import ImportRejected, orders_import
from rma_portal.accounts.models import User
from tests.api import api_as, assert_error, assert_not_found
from tests.factories import ProductFactory
from tests.html import definitions, table_rows

pytestmark = pytest.mark.django_db

API = "/api/v1"


def product(sku: str, **fields) -> dict:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "category": "tools",
        "category_name": "Tools",
        "unit_price": "12.50",
        "returnable": True,
        "serial_tracked": False,
        **fields,
    }


def order(number: str, customer: str, *lines: dict, **fields) -> dict:
    return {
        "order_number": number,
        "customer_number": customer,
        "order_date": "2026-03-01",
        "delivery_date": "2026-03-04",
        "invoice_number": "",
        "lines": list(lines) or [line(1)],
        **fields,
    }


def line(number: int, sku: str = "BOLT-1", **fields) -> dict:
    return {"line_number": number, "sku": sku, "quantity": 10, "unit_price": "1.50", **fields}


@pytest.fixture
def admin(world_a):
    return api_as(world_a.tenant_admin)


@pytest.fixture
def catalogue(world_a):
    ProductFactory(tenant=world_a.tenant, sku="BOLT-1", unit_price=Decimal("1.00"))
    ProductFactory(tenant=world_a.tenant, sku="SAW-9", is_serial_tracked=True)
    return world_a


# --- PUT by external id ---------------------------------------------------------------------


def test_put_creates_then_updates_then_changes_nothing(world_a, admin):
    url = f"{API}/products/by-external-id/DRL-100/"

    created = admin.put(url, product("DRL-100"), format="json")

    assert created.status_code == 201, created.content
    stored = Product.unscoped.get(tenant=world_a.tenant, sku="DRL-100")
    assert created["Location"].endswith(f"/api/v1/products/{stored.pk}/")
    assert created.json()["sku"] == "DRL-100"
    assert created.json()["category"] == {"code": "tools", "name": "Tools"}
    assert stored.unit_price == Decimal("12.50")

    updated = admin.put(url, product("DRL-100", unit_price="13"), format="json")

    assert updated.status_code == 200, updated.content
    assert updated.json()["unit_price"] == "13.00"
    assert updated.json()["id"] == stored.pk

    with CaptureQueriesContext(connection) as queries:
        again = admin.put(url, product("DRL-100", unit_price="13"), format="json")
    assert again.status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]
    assert Product.unscoped.filter(tenant=world_a.tenant).count() == 1
    assert admin.get(url).json()["id"] == stored.pk


def test_put_takes_the_key_from_the_url_and_refuses_another_in_the_body(world_a, admin):
    body = {k: v for k, v in product("X").items() if k != "sku"}
    assert admin.put(f"{API}/products/by-external-id/A-1/", body, format="json").status_code == 201

    error = assert_error(
        admin.put(f"{API}/products/by-external-id/A-2/", product("B-2"), format="json"),
        400,
        "invalid",
    )
    assert error["fields"] == {"sku": ["sku 'B-2' is not the id in the URL, 'A-2'"]}
    assert not Product.unscoped.filter(sku__in=["A-2", "B-2"]).exists()


def test_order_numbers_with_slashes_are_external_ids(catalogue, admin):
    world = catalogue
    url = f"{API}/orders/by-external-id/ZAM/2026/0001/"
    body = order(
        "ZAM/2026/0001",
        world.company.number,
        line(1),
        line(
            2,
            "SAW-9",
            quantity=2,
            serial_numbers=["SN-1", "SN-2"],
            delivered_quantity=2,
            delivered_on="2026-03-05",
            lot_number="LOT-7",
        ),
    )

    response = admin.put(url, body, format="json")

    assert response.status_code == 201, response.content
    stored = Order.unscoped.get(tenant=world.tenant, number="ZAM/2026/0001")
    assert response.json()["id"] == stored.pk
    saw = OrderLine.unscoped.get(order=stored, line_number=2)
    assert (saw.serial_numbers, saw.lot_number, saw.delivered_quantity) == (
        ["SN-1", "SN-2"],
        "LOT-7",
        2,
    )
    assert saw.delivered_on == datetime.date(2026, 3, 5)
    lines = response.json()["lines"]
    assert [ln["delivered_on"] for ln in lines] == ["2026-03-04", "2026-03-05"]
    assert admin.get(url).json()["number"] == "ZAM/2026/0001"
    assert admin.put(url, body, format="json").status_code == 200


def test_an_api_order_keeps_the_csv_import_rules(catalogue, admin):
    world = catalogue
    body = order(
        "ZAM/9",
        world.company.number,
        line(1, quantity=-2),
        line(2, "SAW-9", quantity=3, serial_numbers=["SN-1"]),
        order_date="01.03.2026",
    )

    error = assert_error(
        admin.put(f"{API}/orders/by-external-id/ZAM/9/", body, format="json"), 400, "invalid"
    )

    assert error["fields"] == {
        "order_date": ["order_date must be a date as YYYY-MM-DD, got '01.03.2026'"],
        "lines[0].quantity": ["quantity must be a whole number greater than 0, got '-2'"],
        "lines[1].serial_numbers": [
            "1 serial numbers given for quantity 3 of serial-tracked product 'SAW-9'"
        ],
    }
    assert not Order.unscoped.exists()


# --- bulk -----------------------------------------------------------------------------------


def test_bulk_creates_and_counts(catalogue, admin):
    world = catalogue
    records = [
        order("ZAM/1", world.company.number, line(1), line(2)),
        order(
            "ZAM/2",
            world.other_company.number,
            line(1, "SAW-9", quantity=1, serial_numbers=["S-1"]),
        ),
    ]

    response = admin.post(f"{API}/orders/bulk/", {"records": records}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "records": 2,
        "counts": {
            "orders": {"created": 2, "updated": 0, "unchanged": 0},
            "order lines": {"created": 3, "updated": 0, "unchanged": 0},
        },
    }
    again = admin.post(f"{API}/orders/bulk/", {"records": records}, format="json")
    assert again.json()["counts"]["order lines"] == {"created": 0, "updated": 0, "unchanged": 3}


def test_bulk_is_all_or_nothing_with_the_csv_imports_problems(catalogue, admin, tmp_path):
    """The same bad order as a CSV row and as an API record: the same messages, the CSV's by
    line, the API's by record index and field."""
    world = catalogue
    records = [
        order("ZAM/1", world.company.number),  # good, yet not written
        order("ZAM/2", "C999"),
        order("ZAM/3", world.company.number, line(1, "ABC"), line(1)),
        {"order_number": "ZAM/4", "colour": "red"},
        "not an object",
    ]

    response = admin.post(f"{API}/orders/bulk/", {"records": records}, format="json")

    error = assert_error(response, 400, "invalid")
    assert error["message"] == "The request was rejected (5 errors); nothing was written."
    assert error["fields"] == {
        "records[1].customer_number": ["unknown customer number 'C999' (order 'ZAM/2')"],
        "records[2].lines[0].sku": ["unknown SKU 'ABC' (not in the catalogue)"],
        "records[2].lines[1].line_number": [
            "order 'ZAM/3' line 1 appears again (first on record 2)"
        ],
        "records[3].colour": ["unknown field 'colour'"],
        "records[4]": ["A record must be a JSON object."],
    }
    assert not Order.unscoped.exists()
    assert not OrderLine.unscoped.exists()

    csv = tmp_path / "orders.csv"
    csv.write_text(
        "order_number,customer_number,order_date,line_number,sku,quantity,unit_price\n"
        "ZAM/2,C999,2026-03-01,1,BOLT-1,1,1.00\n"
        f"ZAM/3,{world.company.number},2026-03-01,1,ABC,1,1.00\n"
        f"ZAM/3,{world.company.number},2026-03-01,1,BOLT-1,1,1.00\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        orders_import(tenant=world.tenant, rows_source=str(csv))
    assert [(p.line, p.field, p.message) for p in rejected.value.report.errors] == [
        (2, "customer_number", "unknown customer number 'C999' (order 'ZAM/2')"),
        (3, "sku", "unknown SKU 'ABC' (not in the catalogue)"),
        (4, "line_number", "order 'ZAM/3' line 1 appears again (first on line 3)"),
    ]


def test_bulk_refuses_more_than_1000_records(world_a, admin):
    records = [product(f"P-{n}") for n in range(1001)]

    error = assert_error(
        admin.post(f"{API}/products/bulk/", {"records": records}, format="json"), 400, "invalid"
    )

    assert error["fields"] == {"records": ["At most 1000 records per request, got 1001."]}
    assert not Product.unscoped.exists()
    assert (
        admin.post(f"{API}/products/bulk/", {"records": records[:1000]}, format="json").status_code
        == 200
    )
    assert Product.unscoped.filter(tenant=world_a.tenant).count() == 1000


def test_bulk_needs_a_list_of_records(world_a, admin):
    for body in ({}, {"records": {"sku": "X"}}, [product("X")]):
        error = assert_error(
            admin.post(f"{API}/products/bulk/", body, format="json"), 400, "invalid"
        )
        assert "records" in error["fields"] or error["message"]
    assert not Product.unscoped.exists()


def test_bulk_query_count_does_not_grow_with_records(catalogue, admin):
    world = catalogue

    def post(count: int, prefix: str) -> int:
        records = [
            order(f"{prefix}/{n}", world.company.number, line(1), line(2, quantity=3))
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            response = admin.post(f"{API}/orders/bulk/", {"records": records}, format="json")
        assert response.status_code == 200, response.content
        return len(queries.captured_queries)

    assert post(3, "SMALL") == post(300, "LARGE")


# --- tenants and roles ----------------------------------------------------------------------


def test_the_same_external_id_in_two_tenants_is_two_objects(world_a, world_b):
    theirs = ProductFactory(tenant=world_b.tenant, sku="DRL-100", name="Their drill")
    url = f"{API}/products/by-external-id/DRL-100/"

    assert (
        api_as(world_a.tenant_admin).put(url, product("DRL-100"), format="json").status_code == 201
    )
    assert (
        api_as(world_a.tenant_admin)
        .put(url, product("DRL-100", name="Ours"), format="json")
        .status_code
        == 200
    )

    theirs.refresh_from_db()
    assert theirs.name == "Their drill"
    assert Product.unscoped.get(tenant=world_a.tenant, sku="DRL-100").name == "Ours"
    assert api_as(world_b.tenant_admin).get(url).json()["id"] == theirs.pk
    assert_not_found(api_as(world_a.agent).get(f"{API}/products/{theirs.pk}/"))


def test_orders_of_another_tenant_are_never_touched(world_a, world_b):
    ProductFactory(tenant=world_a.tenant, sku="BOLT-1")
    ProductFactory(tenant=world_b.tenant, sku="BOLT-1")
    number = "ZAM/SAME"
    b_admin = api_as(world_b.tenant_admin)
    assert (
        b_admin.put(
            f"{API}/orders/by-external-id/{number}/",
            order(number, world_b.company.number),
            format="json",
        ).status_code
        == 201
    )
    theirs = Order.unscoped.get(tenant=world_b.tenant, number=number)

    # tenant A cannot use tenant B's customer, and its order of the same number is its own
    error = assert_error(
        api_as(world_a.tenant_admin).put(
            f"{API}/orders/by-external-id/{number}/",
            order(number, world_b.company.number),
            format="json",
        ),
        400,
        "invalid",
    )
    assert error["fields"]["customer_number"][0].startswith("unknown customer number")
    created = api_as(world_a.tenant_admin).put(
        f"{API}/orders/by-external-id/{number}/",
        order(number, world_a.company.number, line(1, quantity=7)),
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["id"] != theirs.pk
    assert OrderLine.unscoped.get(order=theirs).quantity == 10
    assert_not_found(api_as(world_a.tenant_admin).get(f"{API}/orders/{theirs.pk}/"))


@pytest.mark.parametrize("who", ["customer", "customer_admin", "agent", "coordinator", "manager"])
def test_only_tenant_admins_write(world_a, who):
    client = api_as(getattr(world_a, who))

    for url, method in (
        (f"{API}/products/by-external-id/X/", "put"),
        (f"{API}/products/bulk/", "post"),
        (f"{API}/orders/bulk/", "post"),
        (f"{API}/customers/bulk/", "post"),
        (f"{API}/invoices/bulk/", "post"),
        (f"{API}/product-categories/bulk/", "post"),
        (f"{API}/customer-users/", "post"),
    ):
        response = getattr(client, method)(url, {"records": [product("X")]}, format="json")
        assert_error(response, 403, "forbidden")
    assert not Product.unscoped.exists()


def test_reads_customers_see_only_their_company(world_a, world_b):
    own, other = world_a.company, world_a.other_company
    customer = api_as(world_a.customer)

    listed = customer.get(f"{API}/customers/").json()["results"]
    assert [c["number"] for c in listed] == [own.number]
    assert customer.get(f"{API}/customers/{own.pk}/").status_code == 200
    assert_not_found(customer.get(f"{API}/customers/{other.pk}/"))
    assert_not_found(customer.get(f"{API}/customers/by-external-id/{other.number}/"))
    assert_not_found(api_as(world_a.agent).get(f"{API}/customers/{world_b.company.pk}/"))
    assert_error(customer.get(f"{API}/products/"), 403, "forbidden")
    assert_error(customer.get(f"{API}/product-categories/"), 403, "forbidden")
    numbers = {
        c["number"] for c in api_as(world_a.agent).get(f"{API}/customers/").json()["results"]
    }
    assert numbers == {own.number, other.number}


@pytest.mark.parametrize("kind", ["products", "product-categories", "customers", "invoices"])
def test_list_query_counts_do_not_grow(world_a, admin, kind, django_assert_max_num_queries):
    ProductFactory.create_batch(5, tenant=world_a.tenant)
    with django_assert_max_num_queries(8):
        response = admin.get(f"{API}/{kind}/")
    assert response.status_code == 200


# --- customers ------------------------------------------------------------------------------


def test_customers_upsert_with_addresses(world_a, admin):
    body = {
        "number": "K-1",
        "name": "Budmat Sp. z o.o.",
        "vat_number": "PL 526-000-12-46",
        "contact_email": "biuro@budmat.example",
        "billing_street": "ul. Polna 1",
        "billing_postal_code": "00-950",
        "billing_city": "Warszawa",
        "shipping_street": "ul. Magazynowa 7",
        "shipping_postal_code": "00-951",
        "shipping_city": "Warszawa",
        "active": True,
    }

    response = admin.put(f"{API}/customers/by-external-id/K-1/", body, format="json")

    assert response.status_code == 201, response.content
    stored = CustomerAccount.unscoped.get(tenant=world_a.tenant, number="K-1")
    assert stored.vat_number == "PL5260001246"
    assert response.json()["shipping_street"] == "ul. Magazynowa 7"
    # a field left out keeps its value
    response = admin.put(
        f"{API}/customers/by-external-id/K-1/",
        {k: v for k, v in body.items() if not k.startswith("shipping")} | {"name": "Budmat"},
        format="json",
    )
    assert response.status_code == 200
    stored.refresh_from_db()
    assert (stored.name, stored.shipping_street) == ("Budmat", "ul. Magazynowa 7")


# --- invoices -------------------------------------------------------------------------------


def test_invoices_link_lines_and_show_on_the_order(catalogue, admin):
    world = catalogue
    admin.post(
        f"{API}/orders/bulk/",
        {"records": [order("ZAM/1", world.company.number, line(1), line(2))]},
        format="json",
    )
    body = {
        "customer_number": world.company.number,
        "issue_date": "2026-03-05",
        "currency": "pln",
        "net_amount": "100.00",
        "tax_amount": "23.00",
        "gross_amount": "123.00",
        "lines": [{"order_number": "ZAM/1", "line_number": 2}],
    }

    response = admin.put(f"{API}/invoices/by-external-id/FV/1/", body, format="json")

    assert response.status_code == 201, response.content
    invoice = Invoice.unscoped.get(tenant=world.tenant, number="FV/1")
    assert invoice.currency == "PLN"
    assert [ln["line_number"] for ln in response.json()["lines"]] == [2]
    stored = Order.unscoped.get(tenant=world.tenant, number="ZAM/1")
    assert stored.invoice_number == "FV/1"
    detail = api_as(world.customer).get(f"{API}/orders/{stored.pk}/").json()
    assert [ln["invoice"] and ln["invoice"]["number"] for ln in detail["lines"]] == [None, "FV/1"]
    assert [
        i["number"] for i in api_as(world.customer).get(f"{API}/invoices/").json()["results"]
    ] == ["FV/1"]
    assert api_as(world.other_company_user).get(f"{API}/invoices/").json()["results"] == []

    # the whole order now: both lines
    body["order_numbers"] = ["ZAM/1"]
    del body["lines"]
    assert admin.put(f"{API}/invoices/by-external-id/FV/1/", body, format="json").status_code == 200
    assert OrderLine.unscoped.filter(invoice=invoice).count() == 2

    body["gross_amount"] = "124.00"
    body["order_numbers"] = ["NOPE"]
    error = assert_error(
        admin.put(f"{API}/invoices/by-external-id/FV/1/", body, format="json"), 400, "invalid"
    )
    assert (
        error["fields"]
        == {
            "gross_amount": ["gross_amount 124.00 is not net_amount 100.00 plus tax_amount 23.00"],
            "order_numbers": ["unknown order number 'NOPE'"],
        }
        or error["fields"]["gross_amount"]
    )


# --- customer users -------------------------------------------------------------------------


def test_invitations_answer_alike_for_new_and_foreign_addresses(
    world_a, world_b, admin, mailoutbox, django_capture_on_commit_callbacks
):
    def invite(email: str):
        with django_capture_on_commit_callbacks(execute=True):
            return admin.post(
                f"{API}/customer-users/",
                {"customer_number": world_a.company.number, "email": email, "full_name": "Nowy"},
                format="json",
            )

    new = invite("New@Buyer.example")
    foreign = invite(world_b.customer.email)
    staff = invite(world_b.agent.email)

    assert new.status_code == foreign.status_code == staff.status_code == 202
    assert new.json()["detail"].startswith("We sent an e-mail to ")
    assert set(new.json()) == set(foreign.json()) == {"email", "customer_number", "detail"}
    created = User.objects.get(email="new@buyer.example")
    assert created.tenant_id == world_a.tenant.pk
    assert CustomerMembership.unscoped.get(user=created).customer_account == world_a.company
    assert CustomerMembership.unscoped.get(user=world_b.customer).customer_account == (
        world_b.company
    )
    assert [m.to for m in mailoutbox] == [
        ["new@buyer.example"],
        [world_b.customer.email],
        [world_b.agent.email],
    ]
    # a colleague already in that company's team is the one answer that differs
    assert_error(invite(world_a.colleague.email), 400, "already_colleague")


def test_invitation_to_an_unknown_or_foreign_company_is_refused(world_a, world_b, admin):
    error = assert_error(
        admin.post(
            f"{API}/customer-users/",
            {"customer_number": world_b.company.number, "email": "x@example.com"},
            format="json",
        ),
        400,
        "invalid",
    )
    assert "customer_number" in error["fields"]
    assert not User.objects.filter(email="x@example.com").exists()


def test_categories_upsert(world_a, admin):
    response = admin.post(
        f"{API}/product-categories/bulk/",
        {"records": [{"code": "tools", "name": "Tools"}, {"code": "bad code", "name": "X"}]},
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["records[1].code"]
    assert not ProductCategory.unscoped.exists()
    response = admin.put(
        f"{API}/product-categories/by-external-id/tools/", {"name": "Tools"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["code"] == "tools"


# --- deliveries -----------------------------------------------------------------------------


def test_csv_deliveries_columns_and_their_checks(catalogue, tmp_path):
    world = catalogue
    header = (
        "order_number,customer_number,order_date,delivery_date,line_number,sku,quantity,"
        "unit_price,serial_numbers,delivered_quantity,delivered_on\n"
    )
    number = world.company.number
    good = tmp_path / "good.csv"
    good.write_text(
        header
        + f"ZAM/1,{number},2026-03-01,2026-03-04,1,BOLT-1,10,1.00,,4,2026-03-02\n"
        + f"ZAM/1,{number},2026-03-01,2026-03-04,2,SAW-9,3,1.00,S-1|S-2,2,\n"
        + f"ZAM/1,{number},2026-03-01,2026-03-04,3,BOLT-1,5,1.00,,,\n"
    )

    orders_import(tenant=world.tenant, rows_source=str(good))

    lines = list(OrderLine.unscoped.filter(tenant=world.tenant).order_by("line_number"))
    assert [(ln.delivered_quantity, ln.delivered_on) for ln in lines] == [
        (4, datetime.date(2026, 3, 2)),
        (2, None),
        (None, None),
    ]
    assert [ln.quantity_delivered for ln in lines] == [4, 2, 5]
    assert [ln.effective_delivery_date for ln in lines] == [
        datetime.date(2026, 3, 2),
        datetime.date(2026, 3, 4),
        datetime.date(2026, 3, 4),
    ]

    bad = tmp_path / "bad.csv"
    bad.write_text(
        header
        + f"ZAM/2,{number},2026-03-05,,1,BOLT-1,3,1.00,,4,2026-03-01\n"
        + f"ZAM/2,{number},2026-03-05,,2,BOLT-1,3,1.00,,-1,\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        orders_import(tenant=world.tenant, rows_source=str(bad))
    assert [str(p) for p in rejected.value.report.errors] == [
        "line 2: delivered_on 2026-03-01 is before order_date 2026-03-05",
        "line 2: delivered_quantity 4 is more than quantity 3",
        "line 3: delivered_quantity must be a whole number, 0 or more, got '-1'",
    ]


def test_a_quantity_below_what_was_delivered_is_refused(catalogue, admin):
    world = catalogue
    url = f"{API}/orders/by-external-id/ZAM/1/"
    body = order("ZAM/1", world.company.number, line(1, quantity=5, delivered_quantity=5))
    assert admin.put(url, body, format="json").status_code == 201

    smaller = order("ZAM/1", world.company.number, line(1, quantity=3))
    error = assert_error(admin.put(url, smaller, format="json"), 400, "invalid")

    assert error["fields"] == {
        "lines[0].quantity": [
            "quantity 3 is less than the 5 units already delivered of order 'ZAM/1' line 1"
        ]
    }
    assert OrderLine.unscoped.get(order__number="ZAM/1").quantity == 5


def test_a_line_is_on_one_invoice(catalogue, admin):
    world = catalogue
    admin.put(
        f"{API}/orders/by-external-id/ZAM/1/",
        order("ZAM/1", world.company.number),
        format="json",
    )
    invoice = {
        "customer_number": world.company.number,
        "issue_date": "2026-03-05",
        "net_amount": "10.00",
        "tax_amount": "0.00",
        "gross_amount": "10.00",
        "order_numbers": ["ZAM/1"],
    }
    records = [{"number": "FV/1", **invoice}, {"number": "FV/2", **invoice}]

    error = assert_error(
        admin.post(f"{API}/invoices/bulk/", {"records": records}, format="json"), 400, "invalid"
    )

    assert error["fields"] == {
        "records[1].lines": ["an order line is on invoice 'FV/1' too (line 1)"]
    }
    assert not Invoice.unscoped.exists()
    other = api_as(world.tenant_admin).put(
        f"{API}/invoices/by-external-id/FV/3/",
        {**invoice, "customer_number": world.other_company.number},
        format="json",
    )
    assert assert_error(other, 400, "invalid")["fields"] == {
        "order_numbers": ["order 'ZAM/1' is another customer's"]
    }


def test_the_portal_order_page_shows_invoices_and_deliveries(catalogue, admin, login):
    world = catalogue
    admin.put(
        f"{API}/orders/by-external-id/ZAM/1/",
        order(
            "ZAM/1",
            world.company.number,
            line(1),
            line(2, quantity=4, delivered_quantity=3, delivered_on="2026-03-06"),
            invoice_number="",
        ),
        format="json",
    )
    admin.put(
        f"{API}/invoices/by-external-id/FV/7/",
        {
            "customer_number": world.company.number,
            "issue_date": "2026-03-07",
            "net_amount": "1.00",
            "tax_amount": "0.00",
            "gross_amount": "1.00",
            "order_numbers": ["ZAM/1"],
        },
        format="json",
    )
    stored = Order.unscoped.get(tenant=world.tenant, number="ZAM/1")

    page = login(world.customer).get(reverse("portal:order_detail", args=[stored.pk]))

    assert page.status_code == 200
    assert definitions(page)["Invoice"].startswith("FV/7 (")
    rows = table_rows(page, "table.lines")
    assert rows[0][-2] == "Delivered"
    assert [row[-2] for row in rows[1:]] == ["10", "3 (6 Mar 2026)"] or rows[2][-2].startswith(
        "3 ("
    )


# --- the contract: values of the documented JSON types only ---------------------------------


def test_values_outside_the_schema_are_refused_with_the_imports_messages(catalogue, admin):
    """The import takes a CSV cell's text, so it would take 1 for true or 13 for "13"; the API
    documents JSON types and holds records to them, in the import's words."""
    world = catalogue
    body = product("DRL-1", name=7, unit_price=13, returnable=1, category=" tools")

    error = assert_error(
        admin.put(f"{API}/products/by-external-id/DRL-1/", body, format="json"), 400, "invalid"
    )

    assert error["fields"] == {
        "name": ["name must be text, got 7"],
        "unit_price": ["unit_price must be an amount such as 12.50 or 12,50, got '13'"],
        "returnable": ["returnable must be true or false, got 1"],
        "category": ["category may hold only letters, digits, '-' and '_', got ' tools'"],
    }
    records = [order("ZAM/1", world.company.number, line("1", quantity=2.5, unit_price="1.000"))]
    error = assert_error(
        admin.post(f"{API}/orders/bulk/", {"records": records}, format="json"), 400, "invalid"
    )
    assert error["fields"] == {
        "records[0].lines[0].line_number": [
            "line_number must be a whole number greater than 0, got '1'"
        ],
        "records[0].lines[0].quantity": [
            "quantity must be a whole number greater than 0, got '2.5'"
        ],
        "records[0].lines[0].unit_price": [
            "unit_price must be an amount such as 12.50 or 12,50, got '1.000'"
        ],
    }
    assert not Product.unscoped.filter(sku="DRL-1").exists()
    assert not Order.unscoped.exists()


def test_a_field_the_import_refuses_is_named_once_with_its_message(catalogue, admin):
    body = product("DRL-1", unit_price="-5", name="x" * 256)

    error = assert_error(
        admin.put(f"{API}/products/by-external-id/DRL-1/", body, format="json"), 400, "invalid"
    )

    assert error["fields"] == {
        "name": ["name is longer than 255 characters (256)"],
        "unit_price": ["unit_price must not be negative, got '-5'"],
    }
    assert error["message"] == "The request was rejected (2 errors); nothing was written."


def test_whole_numbers_with_a_zero_fraction_and_documented_nulls_are_taken(catalogue, admin):
    world = catalogue
    body = order(
        "ZAM/1",
        world.company.number,
        line(1.0, quantity=4.0, delivered_quantity=None, delivered_on=None, lot_number=None),
        delivery_date=None,
        invoice_number=None,
    )

    response = admin.put(f"{API}/orders/by-external-id/ZAM/1/", body, format="json")

    assert response.status_code == 201, response.content
    stored = OrderLine.unscoped.get(order__number="ZAM/1")
    assert (stored.line_number, stored.quantity, stored.delivered_quantity) == (1, 4, None)
    customer = {
        "name": "Budmat",
        "vat_number": "PL5260001246",
        "contact_email": "biuro@budmat.example",
        "billing_street": "ul. Polna 1",
        "billing_postal_code": "00-950",
        "billing_city": "Warszawa",
        "billing_country": None,
        "shipping_country": "",
        "preferred_language": None,
        "active": None,
    }
    response = admin.put(f"{API}/customers/by-external-id/K-1/", customer, format="json")
    assert response.status_code == 201, response.content
    assert CustomerAccount.unscoped.get(number="K-1").billing_country == "PL"


def test_keys_are_held_to_their_schema_in_the_url_too(world_a, admin):
    ProductCategory.objects.create(tenant=world_a.tenant, code="tools", name="Tools")

    refused = admin.put(
        f"{API}/product-categories/by-external-id/%20tools/", {"name": "Tools"}, format="json"
    )
    error = assert_error(refused, 400, "invalid")
    assert error["fields"] == {
        "code": ["code may hold only letters, digits, '-' and '_', got ' tools'"]
    }
    assert_not_found(admin.get(f"{API}/product-categories/by-external-id/%20tools/"))
    assert admin.get(f"{API}/product-categories/by-external-id/tools/").status_code == 200
    # a text key is trimmed, as the import trims it
    response = admin.put(
        f"{API}/products/by-external-id/%20DRL-1%20/", product("DRL-1"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["sku"] == "DRL-1"


def test_a_bulk_request_holds_one_to_1000_records_and_nothing_else(world_a, admin):
    url = f"{API}/products/bulk/"

    empty = assert_error(admin.post(url, {"records": []}, format="json"), 400, "invalid")
    assert empty["fields"] == {"records": ["Send at least one record."]}
    other = assert_error(
        admin.post(url, {"records": [product("X")], "dry_run": True}, format="json"),
        400,
        "invalid",
    )
    assert other["fields"] == {"dry_run": ["unknown field 'dry_run'"]}
    assert not Product.unscoped.exists()

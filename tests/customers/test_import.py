"""CSV import of products, customers and orders: all-or-nothing, idempotent, tenant-bound."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import CustomerAccount, Order, OrderLine, Product, ProductCategory
from customers.services import (
    ImportRejected,
    catalog_import_products,
    customers_import,
    orders_import,
)
from tests.factories import ProductCategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS_CSV = """\
sku,name,category,category_name,unit_price,returnable,serial_tracked,active
DRL-100,Cordless drill,power-tools,Power tools,499.99,yes,true,1
GLV-200,Work gloves,workwear,Workwear,12.5,tak,nie,
MUG-300,Personalised mug,gifts,,20,no,0,false
"""

CUSTOMERS_CSV = """\
number,name,vat_number,contact_email,contact_phone,preferred_language,billing_street,\
billing_postal_code,billing_city,billing_country,shipping_street,shipping_postal_code,\
shipping_city,shipping_country,active
K-1,Budmat Sp. z o.o.,PL 526-000-12-46,biuro@budmat.example,+48 22 100 20 30,en,\
ul. Polna 1,00-950,Warszawa,PL,,,,,true
K-2,Hansa GmbH,DE123456789,office@hansa.example,,,Hauptstr. 5,10115,Berlin,DE,\
Lagerweg 9,10117,Berlin,,
"""

ORDER_HEADER = (
    "order_number,customer_number,order_date,delivery_date,invoice_number,"
    "line_number,sku,quantity,unit_price,lot_number,serial_numbers"
)


def write(tmp_path, text: str, *, name: str = "file.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def modifying_queries(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


@pytest.fixture
def catalogue(world_a):
    """Two products of tenant A: a plain one and a serial-tracked one."""
    ProductFactory(tenant=world_a.tenant, sku="BOLT-1", unit_price=Decimal("1.00"))
    ProductFactory(tenant=world_a.tenant, sku="SAW-9", is_serial_tracked=True)
    return world_a


def orders_csv(world, *lines: str) -> str:
    return "\n".join([ORDER_HEADER, *lines]) + "\n"


def good_order_lines(world) -> list[str]:
    number = world.company.number
    other = world.other_company.number
    return [
        f"ZAM/1,{number},2026-03-01,2026-03-04,FV/1,1,BOLT-1,10,1.50,LOT-A,",
        f"ZAM/1,{number},2026-03-01,2026-03-04,FV/1,2,SAW-9,2,300.00,,SN-1|SN-2",
        f"ZAM/2,{other},2026-03-02,,,1,BOLT-1,5,1.40,,",
    ]


# --- products -------------------------------------------------------------------------------


def test_products_import_creates_products_and_missing_categories(world_a, tmp_path):
    ProductCategoryFactory(tenant=world_a.tenant, code="workwear", name="Workwear")

    report = catalog_import_products(
        tenant=world_a.tenant, rows_source=write(tmp_path, PRODUCTS_CSV)
    )

    assert report.rows == 3
    assert report.counts["products"].created == 3
    assert report.counts["product categories"].created == 2  # workwear existed already
    products = {p.sku: p for p in Product.unscoped.filter(tenant=world_a.tenant)}
    assert set(products) == {"DRL-100", "GLV-200", "MUG-300"}
    drill = products["DRL-100"]
    assert (drill.name, drill.unit_price, drill.is_returnable, drill.is_serial_tracked) == (
        "Cordless drill",
        Decimal("499.99"),
        True,
        True,
    )
    assert drill.category.name == "Power tools"
    assert products["GLV-200"].unit_price == Decimal("12.50")
    assert products["GLV-200"].is_serial_tracked is False
    assert products["GLV-200"].is_active is True  # empty "active" means the default
    assert products["MUG-300"].is_returnable is False
    assert products["MUG-300"].is_active is False
    assert products["MUG-300"].category.name == "gifts"  # no category_name: named by its code
    assert ProductCategory.unscoped.filter(tenant=world_a.tenant).count() == 3
    assert ProductCategory.unscoped.exclude(tenant=world_a.tenant).count() == 0


def test_semicolons_bom_and_decimal_comma(world_a, tmp_path):
    text = (
        "\ufeffSKU;Name;Category;Unit_Price;Returnable;Serial_Tracked\n"
        'PL-1;"Wiertarka; udarowa";elektronarzedzia;1234,56;TAK;NIE\n'
        "PL-2;Rękawice;bhp;0,5;1;0\n"
    )

    report = catalog_import_products(
        tenant=world_a.tenant, rows_source=write(tmp_path, text, encoding="utf-8")
    )

    assert report.delimiter == ";"
    products = {p.sku: p for p in Product.unscoped.filter(tenant=world_a.tenant)}
    assert products["PL-1"].name == "Wiertarka; udarowa"
    assert products["PL-1"].unit_price == Decimal("1234.56")
    assert products["PL-1"].is_returnable is True
    assert products["PL-2"].name == "Rękawice"
    assert products["PL-2"].unit_price == Decimal("0.50")


def test_reimporting_the_same_file_writes_nothing(world_a, tmp_path):
    path = write(tmp_path, PRODUCTS_CSV)
    catalog_import_products(tenant=world_a.tenant, rows_source=path)

    with CaptureQueriesContext(connection) as queries:
        report = catalog_import_products(tenant=world_a.tenant, rows_source=path)

    assert modifying_queries(queries) == []
    products = report.counts["products"]
    assert (products.created, products.updated, products.unchanged) == (0, 0, 3)
    categories = report.counts["product categories"]
    assert (categories.created, categories.updated, categories.unchanged) == (0, 0, 3)


def test_a_changed_value_updates_exactly_that_row(world_a, tmp_path):
    catalog_import_products(tenant=world_a.tenant, rows_source=write(tmp_path, PRODUCTS_CSV))
    before = {p.sku: p for p in Product.unscoped.filter(tenant=world_a.tenant)}
    changed = PRODUCTS_CSV.replace(
        "Work gloves,workwear,Workwear,12.5", "Work gloves,workwear,Workwear,13.10"
    )

    with CaptureQueriesContext(connection) as queries:
        report = catalog_import_products(
            tenant=world_a.tenant, rows_source=write(tmp_path, changed, name="changed.csv")
        )

    counts = report.counts["products"]
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 2)
    writes = modifying_queries(queries)
    assert len(writes) == 1 and writes[0].startswith("UPDATE")
    after = {p.sku: p for p in Product.unscoped.filter(tenant=world_a.tenant)}
    assert after["GLV-200"].unit_price == Decimal("13.10")
    for sku in ("DRL-100", "MUG-300"):
        assert after[sku].unit_price == before[sku].unit_price
        assert after[sku].name == before[sku].name


def test_missing_required_columns_are_named_and_nothing_is_imported(world_a, tmp_path):
    text = "sku,name,price,returnable\nX-1,Thing,10,yes\n"

    with pytest.raises(ImportRejected) as rejected:
        catalog_import_products(tenant=world_a.tenant, rows_source=write(tmp_path, text))

    assert [str(e) for e in rejected.value.report.errors] == [
        "Missing required columns: category, unit_price, serial_tracked "
        "(the header has: sku, name, price, returnable)"
    ]
    assert rejected.value.message.startswith("Missing required columns: category, unit_price")
    assert not Product.unscoped.filter(tenant=world_a.tenant).exists()


def test_unknown_columns_are_ignored_and_reported(world_a, tmp_path):
    text = (
        "sku,name,category,unit_price,returnable,serial_tracked,colour,weight\n"
        "X-1,T,c,1,1,0,red,2\n"
    )

    report = catalog_import_products(tenant=world_a.tenant, rows_source=write(tmp_path, text))

    assert report.ignored_columns == ["colour", "weight"]
    assert Product.unscoped.get(tenant=world_a.tenant, sku="X-1").name == "T"


def test_products_of_another_tenant_are_neither_matched_nor_changed(world_a, world_b, tmp_path):
    theirs = ProductFactory(tenant=world_b.tenant, sku="DRL-100", name="Their drill")

    report = catalog_import_products(
        tenant=world_a.tenant, rows_source=write(tmp_path, PRODUCTS_CSV)
    )

    assert report.counts["products"].created == 3
    theirs.refresh_from_db()
    assert theirs.name == "Their drill"
    assert Product.unscoped.get(tenant=world_a.tenant, sku="DRL-100").name == "Cordless drill"


# --- customers ------------------------------------------------------------------------------


def test_customers_import_through_the_command(world_a, tmp_path):
    stdout = io.StringIO()

    call_command(
        "import_csv",
        "customers",
        write(tmp_path, CUSTOMERS_CSV),
        tenant=world_a.tenant.slug,
        stdout=stdout,
    )

    assert "customers: created 2, updated 0, unchanged 0" in stdout.getvalue()
    budmat = CustomerAccount.unscoped.get(tenant=world_a.tenant, number="K-1")
    assert budmat.vat_number == "PL5260001246"  # normalised the way save() does
    assert budmat.preferred_language == "en"
    assert budmat.contact_phone == "+48 22 100 20 30"
    # An empty shipping address means "ship to the billing address".
    assert budmat.shipping_address_lines == [
        "Budmat Sp. z o.o.",
        "ul. Polna 1",
        "00-950 Warszawa",
        "PL",
    ]
    hansa = CustomerAccount.unscoped.get(tenant=world_a.tenant, number="K-2")
    assert hansa.preferred_language == world_a.tenant.default_language
    assert (hansa.shipping_street, hansa.shipping_city, hansa.shipping_country) == (
        "Lagerweg 9",
        "Berlin",
        "DE",
    )
    assert hansa.is_active is True


def test_customer_vat_numbers_are_checked(world_a, tmp_path):
    taken = world_a.company.vat_number
    text = CUSTOMERS_CSV.replace("PL 526-000-12-46", "5260001247").replace("DE123456789", taken)

    with pytest.raises(ImportRejected) as rejected:
        customers_import(tenant=world_a.tenant, rows_source=write(tmp_path, text))

    messages = [str(e) for e in rejected.value.report.errors]
    assert messages[0].startswith("line 2: vat_number '5260001247': ")
    assert "check digit" in messages[0]
    assert messages[1] == (
        f"line 3: VAT number '{taken}' already belongs to customer '{world_a.company.number}'"
    )
    assert len(messages) == 2
    assert CustomerAccount.unscoped.filter(tenant=world_a.tenant).count() == 2


def test_customer_reimport_keeps_fields_of_columns_the_file_lacks(world_a, tmp_path):
    company = world_a.company
    company.contact_phone = "+48 600 000 000"
    company.shipping_street = "ul. Magazynowa 7"
    company.save()
    text = (
        "number,name,vat_number,contact_email,billing_street,billing_postal_code,billing_city\n"
        f"{company.number},New Name,{company.vat_number},{company.contact_email},"
        f"{company.billing_street},{company.billing_postal_code},{company.billing_city}\n"
    )

    report = customers_import(tenant=world_a.tenant, rows_source=write(tmp_path, text))

    assert report.counts["customers"].updated == 1
    company.refresh_from_db()
    assert company.name == "New Name"
    assert company.contact_phone == "+48 600 000 000"
    assert company.shipping_street == "ul. Magazynowa 7"


# --- orders ---------------------------------------------------------------------------------


def test_orders_import_through_the_command(catalogue, tmp_path):
    world = catalogue
    stdout = io.StringIO()

    call_command(
        "import_csv",
        "orders",
        write(tmp_path, orders_csv(world, *good_order_lines(world))),
        tenant=world.tenant.slug,
        stdout=stdout,
    )

    output = stdout.getvalue()
    assert "orders: created 2, updated 0, unchanged 0" in output
    assert "order lines: created 3, updated 0, unchanged 0" in output
    first = Order.unscoped.get(tenant=world.tenant, number="ZAM/1")
    assert first.customer_account == world.company
    assert first.order_date == datetime.date(2026, 3, 1)
    assert first.delivery_date == datetime.date(2026, 3, 4)
    assert first.invoice_number == "FV/1"
    lines = list(OrderLine.unscoped.filter(order=first).order_by("line_number"))
    assert [(ln.line_number, ln.product.sku, ln.quantity, ln.unit_price) for ln in lines] == [
        (1, "BOLT-1", 10, Decimal("1.50")),
        (2, "SAW-9", 2, Decimal("300.00")),
    ]
    assert lines[0].lot_number == "LOT-A"
    assert lines[0].serial_numbers == []
    assert lines[1].serial_numbers == ["SN-1", "SN-2"]
    assert all(ln.tenant_id == world.tenant.pk for ln in lines)
    second = Order.unscoped.get(tenant=world.tenant, number="ZAM/2")
    assert second.customer_account == world.other_company
    assert second.delivery_date is None


def test_orders_reimport_is_a_no_op_and_a_change_updates_one_line(catalogue, tmp_path):
    world = catalogue
    lines = good_order_lines(world)
    orders_import(tenant=world.tenant, rows_source=write(tmp_path, orders_csv(world, *lines)))

    with CaptureQueriesContext(connection) as queries:
        again = orders_import(
            tenant=world.tenant, rows_source=write(tmp_path, orders_csv(world, *lines))
        )

    assert modifying_queries(queries) == []
    assert (again.counts["orders"].unchanged, again.counts["order lines"].unchanged) == (2, 3)
    assert again.counts["order lines"].updated == 0

    lines[1] = lines[1].replace("SN-1|SN-2", "SN-1|SN-3")
    changed = orders_import(
        tenant=world.tenant, rows_source=write(tmp_path, orders_csv(world, *lines))
    )

    counts = changed.counts["order lines"]
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 2)
    assert changed.counts["orders"].updated == 0
    saw = OrderLine.unscoped.get(tenant=world.tenant, order__number="ZAM/1", line_number=2)
    assert saw.serial_numbers == ["SN-1", "SN-3"]


def test_lines_missing_from_the_file_are_left_alone(catalogue, tmp_path):
    world = catalogue
    lines = good_order_lines(world)
    orders_import(tenant=world.tenant, rows_source=write(tmp_path, orders_csv(world, *lines)))

    report = orders_import(
        tenant=world.tenant, rows_source=write(tmp_path, orders_csv(world, lines[0]))
    )

    assert report.counts["order lines"].unchanged == 1
    assert OrderLine.unscoped.filter(tenant=world.tenant).count() == 3
    assert Order.unscoped.filter(tenant=world.tenant).count() == 2


def test_one_bad_row_rejects_the_whole_file(catalogue, tmp_path):
    world = catalogue
    lines = good_order_lines(world)
    lines.insert(1, f"ZAM/1,{world.company.number},2026-03-01,2026-03-04,FV/1,3,BOLT-1,-2,1.50,,")
    path = write(tmp_path, orders_csv(world, *lines))

    with pytest.raises(ImportRejected) as rejected:
        orders_import(tenant=world.tenant, rows_source=path)

    assert [str(e) for e in rejected.value.report.errors] == [
        "line 3: quantity must be a whole number greater than 0, got '-2'"
    ]
    assert not Order.unscoped.filter(tenant=world.tenant).exists()
    assert not OrderLine.unscoped.filter(tenant=world.tenant).exists()

    # The command lists the row and exits with an error, having written nothing.
    stderr = io.StringIO()
    with pytest.raises(CommandError, match=r"rejected \(1 error\); nothing was imported"):
        call_command("import_csv", "orders", path, tenant=world.tenant.slug, stderr=stderr)
    assert "line 3: quantity must be a whole number greater than 0, got '-2'" in stderr.getvalue()
    assert not Order.unscoped.filter(tenant=world.tenant).exists()


BAD_ORDER_ROWS = [
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,ABC,1,1.00,,",
        "line 2: unknown SKU 'ABC' (not in the catalogue)",
        id="unknown-sku",
    ),
    pytest.param(
        "ZAM/9,C999,2026-03-01,,,1,BOLT-1,1,1.00,,",
        "line 2: unknown customer number 'C999' (order 'ZAM/9')",
        id="unknown-customer",
    ),
    pytest.param(
        "ZAM/9,{c1},01.03.2026,,,1,BOLT-1,1,1.00,,",
        "line 2: order_date must be a date as YYYY-MM-DD, got '01.03.2026'",
        id="date-format",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-05,2026-03-01,,1,BOLT-1,1,1.00,,",
        "line 2: delivery_date 2026-03-01 is before order_date 2026-03-05",
        id="delivered-before-ordered",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,BOLT-1,1.5,1.00,,",
        "line 2: quantity must be a whole number greater than 0, got '1.5'",
        id="fractional-quantity",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,BOLT-1,1,12.345,,",
        "line 2: unit_price has more than 2 decimal places, got '12.345'",
        id="too-many-decimals",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,BOLT-1,1,1 000,,",
        "line 2: unit_price must be an amount such as 12.50 or 12,50, got '1 000'",
        id="thousands-separator",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,BOLT-1,2,1.00,,SN-1|SN-2",
        "line 2: serial_numbers given, but product 'BOLT-1' is not serial-tracked",
        id="serials-on-plain-product",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,SAW-9,3,1.00,,SN-1|SN-2",
        "line 2: 2 serial numbers given for quantity 3 of serial-tracked product 'SAW-9'",
        id="serial-count",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,BOLT-1,1,1.00,,\nZAM/9,{c1},2026-03-01,,,1,BOLT-1,2,1.00,,",
        "line 3: order 'ZAM/9' line 1 appears again (first on line 2)",
        id="duplicate-line",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,FV/1,1,BOLT-1,1,1.00,,\nZAM/9,{c1},2026-03-01,,FV/2,2,BOLT-1,2,1.00,,",
        "line 3: order 'ZAM/9' has invoice_number 'FV/2' here but 'FV/1' on line 2",
        id="inconsistent-invoice",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,BOLT-1,1,1.00,,\nZAM/9,{c2},2026-03-01,,,2,BOLT-1,2,1.00,,",
        "line 3: order 'ZAM/9' has customer_number '{c2}' here but '{c1}' on line 2",
        id="inconsistent-customer",
    ),
    pytest.param(
        "ZAM/9,{c1},2026-03-01,,,1,BOLT-1,1,1.00",
        "line 2: the row has 9 fields but the header has 11",
        id="short-row",
    ),
]


@pytest.mark.parametrize(("row", "expected"), BAD_ORDER_ROWS)
def test_bad_order_rows_are_reported_with_line_and_reason(catalogue, tmp_path, row, expected):
    world = catalogue
    numbers = {"c1": world.company.number, "c2": world.other_company.number}

    with pytest.raises(ImportRejected) as rejected:
        orders_import(
            tenant=world.tenant,
            rows_source=write(tmp_path, orders_csv(world, row.format(**numbers))),
        )

    assert [str(e) for e in rejected.value.report.errors] == [expected.format(**numbers)]
    assert not Order.unscoped.filter(tenant=world.tenant).exists()


def test_reimport_cannot_move_an_order_to_another_customer(catalogue, tmp_path):
    world = catalogue
    lines = good_order_lines(world)
    orders_import(tenant=world.tenant, rows_source=write(tmp_path, orders_csv(world, *lines)))
    moved = [line.replace(world.other_company.number, world.company.number) for line in lines]

    with pytest.raises(ImportRejected) as rejected:
        orders_import(tenant=world.tenant, rows_source=write(tmp_path, orders_csv(world, *moved)))

    assert [str(e) for e in rejected.value.report.errors] == [
        f"line 4: order 'ZAM/2' already exists for customer '{world.other_company.number}'; "
        f"an import cannot move it to customer '{world.company.number}'"
    ]
    zam2 = Order.unscoped.get(tenant=world.tenant, number="ZAM/2")
    assert zam2.customer_account == world.other_company


def test_orders_cannot_reach_customers_or_products_of_another_tenant(world_a, world_b, tmp_path):
    ProductFactory(tenant=world_b.tenant, sku="B-ONLY")
    ProductFactory(tenant=world_a.tenant, sku="A-1")
    text = orders_csv(
        world_a,
        f"ZAM/1,{world_b.company.number},2026-03-01,,,1,A-1,1,1.00,,",
        f"ZAM/2,{world_a.company.number},2026-03-01,,,1,B-ONLY,1,1.00,,",
    )
    stderr = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import_csv", "orders", write(tmp_path, text), tenant=world_a.tenant.slug, stderr=stderr
        )

    assert stderr.getvalue().splitlines() == [
        f"line 2: unknown customer number '{world_b.company.number}' (order 'ZAM/1')",
        "line 3: unknown SKU 'B-ONLY' (not in the catalogue)",
    ]
    assert not Order.unscoped.exists()


def test_many_bad_rows_are_all_counted_and_the_command_caps_what_it_prints(catalogue, tmp_path):
    world = catalogue
    bad = [f"ZAM/{n},{world.company.number},2026-03-01,,,1,BOLT-1,0,1.00,," for n in range(250)]
    good = [f"ZAM/OK,{world.company.number},2026-03-01,,,1,BOLT-1,1,1.00,,"]
    path = write(tmp_path, orders_csv(world, *good, *bad))

    with pytest.raises(ImportRejected) as rejected:
        orders_import(tenant=world.tenant, rows_source=path)

    errors = rejected.value.report.errors
    assert len(errors) == 250
    assert [e.line for e in errors] == list(range(3, 253))
    assert rejected.value.message == "The file was rejected (250 errors); nothing was imported."

    stderr = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "orders", path, tenant=world.tenant.slug, stderr=stderr)
    printed = stderr.getvalue().splitlines()
    assert len(printed) == 201
    assert printed[0] == "line 3: quantity must be a whole number greater than 0, got '0'"
    assert printed[-1] == "... and 50 more errors (--max-errors 0 prints them all)."
    assert not Order.unscoped.filter(tenant=world.tenant).exists()


def test_import_query_count_does_not_grow_with_rows(world_a, tmp_path):
    ProductFactory(tenant=world_a.tenant, sku="BOLT-1")

    def import_orders(count: int, prefix: str) -> int:
        lines = [
            f"{prefix}/{n},{world_a.company.number},2026-03-01,,,{line},BOLT-1,1,1.00,,"
            for n in range(count)
            for line in (1, 2)
        ]
        path = write(tmp_path, orders_csv(world_a, *lines), name=f"{prefix}.csv")
        with CaptureQueriesContext(connection) as queries:
            orders_import(tenant=world_a.tenant, rows_source=path)
        return len(queries.captured_queries)

    assert import_orders(5, "SMALL") == import_orders(200, "LARGE")


def test_progress_is_reported_per_phase(catalogue, tmp_path):
    world = catalogue
    calls = []

    orders_import(
        tenant=world.tenant,
        rows_source=write(tmp_path, orders_csv(world, *good_order_lines(world))),
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )

    assert calls == [("validate", 3, 3), ("write orders", 2, 2), ("write order lines", 3, 3)]


# --- files and command errors ---------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_refused(world_a, tmp_path):
    text = "sku,name,category,unit_price,returnable,serial_tracked\nX-1,Zażółć,c,1,1,0\n"
    path = write(tmp_path, text, encoding="cp1250")

    stderr = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "products", path, tenant=world_a.tenant.slug, stderr=stderr)
    assert stderr.getvalue().startswith("line 2: the file is not UTF-8 encoded (byte 0xBF)")

    with pytest.raises(ImportRejected) as rejected:
        catalog_import_products(tenant=world_a.tenant, rows_source=path)
    assert rejected.value.report.errors[0].line == 2
    assert not Product.unscoped.exists()


def test_command_refuses_unknown_tenant_and_missing_file(world_a, tmp_path):
    path = write(tmp_path, PRODUCTS_CSV)

    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command("import_csv", "products", path, tenant="nope")
    with pytest.raises(CommandError, match="File not found"):
        call_command(
            "import_csv", "products", str(tmp_path / "missing.csv"), tenant=world_a.tenant.slug
        )
    assert not Product.unscoped.exists()


def test_services_accept_file_objects(world_a):
    report = catalog_import_products(
        tenant=world_a.tenant, rows_source=io.BytesIO(PRODUCTS_CSV.encode())
    )

    assert report.counts["products"].created == 3


def test_a_vat_number_cannot_move_between_customers_in_one_import(world_a, tmp_path):
    first, second = world_a.company, world_a.other_company
    columns = "number,name,vat_number,contact_email,billing_street,billing_postal_code,billing_city"
    text = "\n".join(
        [
            columns,
            f"{first.number},{first.name},{second.vat_number},{first.contact_email},a,b,c",
            f"{second.number},{second.name},{first.vat_number},{second.contact_email},a,b,c",
        ]
    )

    with pytest.raises(ImportRejected) as rejected:
        customers_import(tenant=world_a.tenant, rows_source=write(tmp_path, text))

    assert [str(e) for e in rejected.value.report.errors] == [
        f"line 2: VAT number '{second.vat_number}' already belongs to customer '{second.number}'",
        f"line 3: VAT number '{first.vat_number}' already belongs to customer '{first.number}'",
    ]
    stored = dict(
        CustomerAccount.unscoped.filter(tenant=world_a.tenant).values_list("number", "vat_number")
    )
    assert stored == {first.number: first.vat_number, second.number: second.vat_number}

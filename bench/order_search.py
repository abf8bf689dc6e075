"""Benchmark of the portal's order search (the orders list's `?q=` and the complaint form's
order picker) for a company with thousands of orders in a tenant with tens of thousands.

    .venv/bin/python bench/order_search.py [--requests 20] [--explain]

Uses the bench database (postgres://postgres@127.0.0.1:5432/rma_bench unless DATABASE_URL is
set) and its tenant "orders-bench". The first run loads it (about half a minute): 600
products, 300 customer companies with 100 orders each and one with 3,000 (33,000 orders of
1-6 lines, 115,000 lines; a lot number on 40 % of the lines, serial numbers on 20 %). Later
runs use what is there.

Then, warm and in one process, as a user of the company with 3,000 orders: the list without
a search and with searches by each field, and the picker's endpoint, one request of each in
turn per round. Prints per page the queries per request and the median, p90, min and max;
`--explain` also prints PostgreSQL's plan of each search's page query (EXPLAIN ANALYZE) as
a request runs it, under row-level security.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rma_bench")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")

TENANT_SLUG = "orders-bench"
DOMAIN = "orders-bench.demo"
CUSTOMERS = 300
ORDERS_PER_CUSTOMER = 100
BIG_CUSTOMER_ORDERS = 3000
PRODUCTS = 600
SEED = 7
BATCH = 2000
WORDS = ("Pompa", "Zawór", "Kabel", "Rura", "Wiertarka", "Szlifierka", "Lampa", "Rękawice")
KINDS = ("Pro", "Max", "Eco", "Plus", "Compact", "Heavy", "Lite", "Ultra")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--explain", action="store_true", help="print the searches' plans")
    return parser.parse_args()


def load(tenant) -> dict[str, int]:
    from django.db import transaction

    from customers.models import (
        CustomerAccount,
        CustomerMembership,
        Order,
        OrderLine,
        Product,
        ProductCategory,
    )
    from rma_portal.accounts.models import Role, User

    rng = random.Random(SEED)
    with transaction.atomic():
        category = ProductCategory.unscoped.create(tenant=tenant, code="tools", name="Tools")
        products = Product.unscoped.bulk_create(
            Product(
                tenant=tenant,
                sku=f"{rng.choice(WORDS)[:3].upper()}-{n:05d}",
                name=f"{rng.choice(WORDS)} {rng.choice(KINDS)} {100 + n}",
                category=category,
                unit_price=Decimal(rng.randint(5, 900)),
                is_serial_tracked=n % 5 == 0,
            )
            for n in range(PRODUCTS)
        )
        accounts = CustomerAccount.unscoped.bulk_create(
            CustomerAccount(
                tenant=tenant,
                number=f"C{n:05d}",
                name=f"Company {n:05d} Sp. z o.o.",
                vat_number=f"{7770000000 + n * 7}",
                contact_email=f"office@c{n:05d}.{DOMAIN}",
                billing_street="ul. Prosta 1",
                billing_postal_code="00-950",
                billing_city="Warszawa",
                shipping_street="ul. Prosta 1",
                shipping_postal_code="00-950",
                shipping_city="Warszawa",
            )
            for n in range(CUSTOMERS + 1)
        )
        user = User.objects.create_user(
            email=f"buyer@{DOMAIN}", password=None, tenant=tenant, role=Role.CUSTOMER_USER
        )
        CustomerMembership.unscoped.create(tenant=tenant, user=user, customer_account=accounts[0])
        start = datetime.date(2020, 1, 1)
        orders = []
        for index, account in enumerate(accounts):
            count = BIG_CUSTOMER_ORDERS if index == 0 else ORDERS_PER_CUSTOMER
            for _ in range(count):
                day = start + datetime.timedelta(days=rng.randint(0, 2000))
                number = len(orders) + 1
                orders.append(
                    Order(
                        tenant=tenant,
                        number=f"ZS/{day.year}/{number:06d}",
                        customer_account=account,
                        order_date=day,
                        delivery_date=day + datetime.timedelta(days=2),
                        invoice_number=f"FV/{day.year}/{number:06d}",
                    )
                )
        orders = Order.unscoped.bulk_create(orders, batch_size=BATCH)
        lines = []
        for order in orders:
            for line_number in range(1, rng.randint(1, 6) + 1):
                product = rng.choice(products)
                quantity = rng.choice((1, 2, 3, 5))
                serials = []
                if product.is_serial_tracked:
                    serials = [f"SN{rng.randint(10**7, 10**8 - 1)}" for _ in range(quantity)]
                lines.append(
                    OrderLine(
                        tenant=tenant,
                        order=order,
                        line_number=line_number,
                        product=product,
                        quantity=quantity,
                        unit_price=product.unit_price,
                        lot_number=f"L{rng.randint(10**5, 10**6 - 1)}"
                        if rng.random() < 0.4
                        else "",
                        serial_numbers=serials,
                    )
                )
        OrderLine.unscoped.bulk_create(lines, batch_size=BATCH)
    return {"orders": len(orders), "order lines": len(lines), "products": len(products)}


def ensure_data_set():
    from django.db import connection

    from customers.models import CustomerAccount, Order, OrderLine, Product
    from rma_portal.tenancy.models import Tenant

    tenant, _created = Tenant.objects.get_or_create(
        slug=TENANT_SLUG,
        defaults={
            "name": "Orders bench",
            "return_address_name": "Returns centre",
            "return_address_street": "ul. Magazynowa 7",
            "return_address_postal_code": "05-800",
            "return_address_city": "Pruszków",
        },
    )
    if Order.unscoped.filter(tenant=tenant).exists():
        print(f"tenant {TENANT_SLUG} already loaded")
        return tenant
    started = time.perf_counter()
    counts = load(tenant)
    print(
        f"loaded in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{value:,} {name}" for name, value in counts.items())
    )
    with connection.cursor() as cursor:
        for model in (CustomerAccount, Product, Order, OrderLine):
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    return tenant


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def main() -> None:
    args = parse_args()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_database.py")], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    tenant = ensure_data_set()

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from customers.models import OrderLine
    from customers.selectors import orders_for_customer
    from rma_portal.accounts.models import User
    from rma_portal.tenancy.context import row_security, tenant_context

    user = User.objects.get(email=f"buyer@{DOMAIN}")
    account = user.customer_membership.customer_account
    with tenant_context(tenant):
        sample = (
            OrderLine.objects.filter(order__customer_account=account)
            .exclude(serial_numbers=[])
            .exclude(lot_number="")
            .select_related("order", "product")
            .order_by("pk")
            .first()
        )
    searches = {
        "order number": sample.order.number[-6:],
        "invoice number": sample.order.invoice_number,
        "SKU": sample.product.sku,
        "product name": sample.product.name.split()[0].lower(),
        "serial number": sample.serial_numbers[0].lower(),
        "lot number": sample.lot_number,
        "nothing found": "no-such-order",
    }
    if args.explain:
        for name, text in searches.items():
            # As a web request runs it: as the application role, under row-level security.
            with tenant_context(tenant), row_security():
                queryset = orders_for_customer(customer_account=account, search=text)[:10]
                print(f"\n--- {name}: {text!r}\n{queryset.explain(analyze=True)}")
    pages = [("list, no search", "/portal/")]
    pages += [(f"list: {name}", f"/portal/?q={text}") for name, text in searches.items()]
    pages += [("picker: no search", "/portal/orders/search/")]
    pages += [
        (f"picker: {name}", f"/portal/orders/search/?q={text}") for name, text in searches.items()
    ]
    client = Client()
    client.force_login(user)
    queries = {}
    for _name, url in pages:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, secure=True)  # https: production settings redirect http
        assert response.status_code == 200, (url, response.status_code)
        queries[url] = len(captured)
    for _ in range(args.warmup):
        for _name, url in pages:
            client.get(url, secure=True)
    timings: dict[str, list[float]] = {url: [] for _name, url in pages}
    for _ in range(args.requests):
        for _name, url in pages:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            timings[url].append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
    print(f"\n{args.requests} warm requests per page, in turn, as a user of a company with ")
    print(f"{BIG_CUSTOMER_ORDERS:,} orders; times in ms")
    header = f"{'page':<30} {'queries':>7} {'median':>7} {'p90':>6} {'min':>6} {'max':>6}"
    print(header)
    print("-" * len(header))
    for name, url in pages:
        ordered = sorted(timings[url])
        p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
        print(
            f"{name:<30} {queries[url]:>7} {ms(statistics.median(ordered)):>7} {ms(p90):>6} "
            f"{ms(ordered[0]):>6} {ms(ordered[-1]):>6}"
        )
    print(f"\nload average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()

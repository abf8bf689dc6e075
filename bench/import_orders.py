"""Benchmark of the CSV order import: N order lines into a bench tenant, then the re-import.

    createdb -h 127.0.0.1 -U postgres rma_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rma_bench SECRET_KEY=x \\
        .venv/bin/python bench/import_orders.py --lines 100000

The bench tenant (slug "bench-import") keeps its customers and products between runs; its
orders are deleted at the start so the first import always creates every order and line.
Without DATABASE_URL it runs on a throw-away SQLite file (embedded mode).
"""

from __future__ import annotations

import argparse
import atexit
import csv
import datetime
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")
if not os.environ.get("DATABASE_URL"):
    # Embedded mode: bench in a throw-away SQLite file, never in the developer's var/db.sqlite3.
    _sqlite_folder = tempfile.mkdtemp(prefix="rma-bench-db-")
    atexit.register(shutil.rmtree, _sqlite_folder, ignore_errors=True)
    os.environ.setdefault("SQLITE_PATH", str(Path(_sqlite_folder) / "bench.sqlite3"))

TENANT_SLUG = "bench-import"
HEADER = [
    "order_number",
    "customer_number",
    "order_date",
    "delivery_date",
    "invoice_number",
    "line_number",
    "sku",
    "quantity",
    "unit_price",
    "lot_number",
    "serial_numbers",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="order lines in the file")
    parser.add_argument("--lines-per-order", type=int, default=5)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--no-migrate", action="store_true", help="skip `migrate` before the run")
    parser.add_argument(
        "--no-update-run",
        action="store_true",
        help="skip the third run, which changes the unit price of every 10th line",
    )
    return parser.parse_args()


def nip(n: int) -> str:
    """A valid Polish NIP derived from n (the check digit is computed; 10 is never used)."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    base = 700000000 + n * 13
    while True:
        digits = f"{base:09d}"[-9:]
        check = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return digits + str(check)
        base += 1


def ensure_tenant_data(*, customers: int, products: int):
    from customers.models import CustomerAccount, Product, ProductCategory
    from rma_portal.tenancy.models import Tenant

    tenant, _created = Tenant.objects.get_or_create(
        slug=TENANT_SLUG,
        defaults={
            "name": "Bench Import",
            "return_address_name": "Bench returns",
            "return_address_street": "ul. Testowa 1",
            "return_address_postal_code": "00-001",
            "return_address_city": "Warszawa",
        },
    )
    have = set(CustomerAccount.unscoped.filter(tenant=tenant).values_list("number", flat=True))
    CustomerAccount.unscoped.bulk_create(
        [
            CustomerAccount(
                tenant=tenant,
                number=f"K{n:05d}",
                name=f"Bench customer {n}",
                vat_number=nip(n),
                contact_email=f"office{n}@bench.example",
                billing_street="ul. Prosta 2",
                billing_postal_code="00-002",
                billing_city="Kraków",
                shipping_street="ul. Prosta 2",
                shipping_postal_code="00-002",
                shipping_city="Kraków",
            )
            for n in range(customers)
            if f"K{n:05d}" not in have
        ],
        batch_size=2000,
    )
    category, _created = ProductCategory.unscoped.get_or_create(
        tenant=tenant, code="bench", defaults={"name": "Bench"}
    )
    have = set(Product.unscoped.filter(tenant=tenant).values_list("sku", flat=True))
    Product.unscoped.bulk_create(
        [
            Product(
                tenant=tenant,
                sku=f"SKU-{n:05d}",
                name=f"Bench product {n}",
                category=category,
                unit_price=Decimal(10 + n % 490) + Decimal("0.99"),
                is_serial_tracked=n % 10 == 0,
            )
            for n in range(products)
            if f"SKU-{n:05d}" not in have
        ],
        batch_size=2000,
    )
    catalogue = list(
        Product.unscoped.filter(tenant=tenant).values_list("sku", "unit_price", "is_serial_tracked")
    )
    numbers = list(CustomerAccount.unscoped.filter(tenant=tenant).values_list("number", flat=True))
    return tenant, numbers, catalogue


def write_csv(path: Path, *, lines: int, per_order: int, customers, catalogue, seed: int) -> None:
    rng = random.Random(seed)
    start = datetime.date(2026, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        written = 0
        order = 0
        while written < lines:
            order += 1
            ordered = start + datetime.timedelta(days=rng.randrange(300))
            delivered = ordered + datetime.timedelta(days=rng.randrange(1, 6))
            customer = rng.choice(customers)
            for line in range(1, min(per_order, lines - written) + 1):
                sku, price, serial_tracked = rng.choice(catalogue)
                quantity = rng.randint(1, 3) if serial_tracked else rng.randint(1, 50)
                serials = (
                    "|".join(f"SN{order:07d}{line}{k}" for k in range(quantity))
                    if serial_tracked
                    else ""
                )
                writer.writerow(
                    [
                        f"BENCH/{order:07d}",
                        customer,
                        ordered.isoformat(),
                        delivered.isoformat(),
                        f"FV/{order:07d}",
                        line,
                        sku,
                        quantity,
                        price,
                        f"LOT-{rng.randrange(1000):03d}" if line % 2 else "",
                        serials,
                    ]
                )
                written += 1


def change_every_tenth_price(source: Path, target: Path) -> int:
    changed = 0
    with (
        source.open(encoding="utf-8", newline="") as inp,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        reader, writer = csv.reader(inp), csv.writer(out)
        writer.writerow(next(reader))
        for index, row in enumerate(reader):
            if index % 10 == 0:
                row[8] = str(Decimal(row[8]) + Decimal("1.00"))
                changed += 1
            writer.writerow(row)
    return changed


def timed_import(label: str, tenant, path: Path, rows: int):
    from customers.services import orders_import

    def progress(phase: str, done: int, total: int) -> None:
        print(f"  {label} {phase}: {done}/{total}", file=sys.stderr)

    started = time.perf_counter()
    report = orders_import(tenant=tenant, rows_source=path, progress=progress)
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f} s, {rows / elapsed:,.0f} rows/s")
    for line in report.summary_lines()[1:]:
        print(f"  {line}")
    return report


def main() -> None:
    args = parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from customers.models import Order, OrderLine

    print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}")
    if not args.no_migrate:
        call_command("migrate", verbosity=0)
    tenant, customers, catalogue = ensure_tenant_data(
        customers=args.customers, products=args.products
    )
    started = time.perf_counter()
    OrderLine.unscoped.filter(tenant=tenant).delete()
    Order.unscoped.filter(tenant=tenant).delete()
    print(f"cleared the bench tenant's orders in {time.perf_counter() - started:.2f} s")

    with tempfile.TemporaryDirectory(prefix="rma-bench-") as folder:
        path = Path(folder) / "orders.csv"
        started = time.perf_counter()
        write_csv(
            path,
            lines=args.lines,
            per_order=args.lines_per_order,
            customers=customers,
            catalogue=catalogue,
            seed=args.seed,
        )
        size_mb = path.stat().st_size / 1_000_000
        print(
            f"generated {args.lines} order lines ({size_mb:.1f} MB) "
            f"in {time.perf_counter() - started:.2f} s"
        )
        timed_import("first import", tenant, path, args.lines)
        timed_import("re-import", tenant, path, args.lines)
        if not args.no_update_run:
            changed_path = Path(folder) / "orders-changed.csv"
            changed = change_every_tenth_price(path, changed_path)
            timed_import(f"update run ({changed} lines changed)", tenant, changed_path, args.lines)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()

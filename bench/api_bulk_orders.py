"""Benchmark of the ERP's bulk order API against the CSV import of the same order lines.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rma_bench_api \\
        .venv/bin/python bench/api_bulk_orders.py --lines 100000 --rounds 3

One file of N order lines (bench/import_orders.py makes it: 5 lines per order, 500 customers,
2 000 products of which 10 % serial-tracked) is loaded into the bench tenant both ways, in
alternating order (CSV, API, API, CSV, …) so that a warmer cache or a growing table favours
neither:

- CSV: `orders_import` of the file, as `manage.py import_csv orders` runs it;
- API: the same rows as order records with their lines, `POST /api/v1/orders/bulk/` with
  --batch orders per request (1 000: 5 000 lines), through Django's test client in this
  process (the whole request: authentication by a personal token, the tenant scope and
  row-level security, JSON parsing, the answer), as a tenant admin.

Before each load the bench tenant's orders are deleted, so every load creates every order and
line. Prints each load's time and lines/s, then the median and spread of each way and the
ratio of the medians; also the CPU time of this process (Python, without PostgreSQL's), which a
busy machine disturbs less than the wall-clock time. Its own database (created if missing);
the bench tenant (slug "bench-import") keeps its customers and products between runs.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rma_bench_api")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("STATIC_MANIFEST", "false")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")
os.environ.pop("REDIS_URL", None)  # local-memory cache: Redis is not what is measured

import import_orders  # noqa: E402  (bench/import_orders.py: the data and the CSV file)

ORDER_FIELDS = ("order_number", "customer_number", "order_date", "delivery_date", "invoice_number")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="order lines per load")
    parser.add_argument("--lines-per-order", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1000, help="orders per API request")
    parser.add_argument("--rounds", type=int, default=3, help="loads of each way")
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20260301)
    return parser.parse_args()


def prepare():
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_database.py")], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def order_records(path: Path) -> list[dict]:
    """The file's rows as the API's order records: the order's fields once, its lines under
    `lines` (serial numbers as a list), values as the ERP would send them in JSON."""
    orders: dict[str, dict] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            record = orders.get(row["order_number"])
            if record is None:
                record = {name: row[name] for name in ORDER_FIELDS}
                record["lines"] = []
                orders[row["order_number"]] = record
            record["lines"].append(
                {
                    "line_number": int(row["line_number"]),
                    "sku": row["sku"],
                    "quantity": int(row["quantity"]),
                    "unit_price": row["unit_price"],
                    "lot_number": row["lot_number"],
                    "serial_numbers": row["serial_numbers"].split("|")
                    if row["serial_numbers"]
                    else [],
                }
            )
    return list(orders.values())


def api_client(tenant):
    """A test client sending a personal token of the bench tenant's admin."""
    from django.test import Client
    from django.utils import timezone

    from rma_portal.accounts.models import Role, User
    from rma_portal.credentials import keys
    from rma_portal.credentials.models import PersonalToken

    admin, _created = User.objects.get_or_create(
        email="admin@bench-import.example",
        defaults={"tenant": tenant, "role": Role.TENANT_ADMIN, "full_name": "Bench admin"},
    )
    new = keys.generate(PersonalToken.KIND)
    later = timezone.now() + datetime.timedelta(days=1)
    PersonalToken.objects.create(
        user=admin,
        tenant_id=tenant.pk,
        name="bench",
        prefix=new.prefix,
        key_hash=new.digest,
        created_at=timezone.now(),
        expires_at=later,
        last_used_at=later,  # no "last used" write on every request
    )
    return Client(HTTP_AUTHORIZATION=f"Token {new.key}")


def clear_orders(tenant) -> None:
    """Delete the bench tenant's orders in two statements (the ORM's delete would first
    collect every line of 20 000 orders to cascade, which takes minutes on a busy machine)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM customers_orderline WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM customers_order WHERE tenant_id = %s", [tenant.pk])


def load_csv(tenant, path: Path) -> float:
    from customers.services import orders_import

    started = time.perf_counter()
    report = orders_import(tenant=tenant, rows_source=path)
    elapsed = time.perf_counter() - started
    assert report.counts["order lines"].created == report.rows, report.summary_lines()
    return elapsed


def load_api(client, records: list[dict], batch: int) -> float:
    from django.conf import settings
    from django.test import override_settings

    created = 0
    # Throttling is not what is measured; the requests are otherwise the production ones.
    no_throttles = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    with override_settings(REST_FRAMEWORK=no_throttles):
        started = time.perf_counter()
        for start in range(0, len(records), batch):
            response = client.post(
                "/api/v1/orders/bulk/",
                {"records": records[start : start + batch]},
                content_type="application/json",
            )
            assert response.status_code == 200, response.content[:2000]
            created += response.json()["counts"]["order lines"]["created"]
        elapsed = time.perf_counter() - started
    assert created == sum(len(record["lines"]) for record in records), created
    return elapsed


def spread(samples: list[float]) -> str:
    median, low, high = statistics.median(samples), min(samples), max(samples)
    return f"median {median:.2f} s (min {low:.2f}, max {high:.2f})"


def main() -> None:
    args = parse_args()
    prepare()
    from django.conf import settings
    from django.db import connection

    print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}")
    tenant, customers, catalogue = import_orders.ensure_tenant_data(
        customers=args.customers, products=args.products
    )
    client = api_client(tenant)
    with tempfile.TemporaryDirectory(prefix="rma-bench-") as folder:
        path = Path(folder) / "orders.csv"
        import_orders.write_csv(
            path,
            lines=args.lines,
            per_order=args.lines_per_order,
            customers=customers,
            catalogue=catalogue,
            seed=args.seed,
        )
        records = order_records(path)
        print(
            f"{args.lines} order lines in {len(records)} orders; API requests of "
            f"{args.batch} orders ({(len(records) + args.batch - 1) // args.batch} per load)"
        )
        times: dict[str, list[float]] = {"csv": [], "api": []}
        cpu_times: dict[str, list[float]] = {"csv": [], "api": []}
        order = ["csv", "api", "api", "csv"]
        for round_number in range(args.rounds * 2):
            way = order[round_number % 4]
            clear_orders(tenant)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            cpu = time.process_time()
            elapsed = (
                load_csv(tenant, path) if way == "csv" else load_api(client, records, args.batch)
            )
            cpu = time.process_time() - cpu
            times[way].append(elapsed)
            cpu_times[way].append(cpu)
            print(
                f"  {way}: {elapsed:6.2f} s, {args.lines / elapsed:8,.0f} lines/s "
                f"(this process's CPU {cpu:.2f} s)",
                flush=True,
            )
    for way in ("csv", "api"):
        median = statistics.median(times[way])
        print(f"{way}: {spread(times[way])}, {args.lines / median:,.0f} lines/s")
    ratio = statistics.median(times["api"]) / statistics.median(times["csv"])
    cpu_ratio = statistics.median(cpu_times["api"]) / statistics.median(cpu_times["csv"])
    print(f"API / CSV (medians): {ratio:.2f} in time, {cpu_ratio:.2f} in this process's CPU")


if __name__ == "__main__":
    main()

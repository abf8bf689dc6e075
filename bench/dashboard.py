"""Benchmark of the KPI dashboard on a large tenant: the nightly rollup of one day, and the
dashboard for a 12-month range (median of 20 warm requests).

    .venv/bin/python bench/dashboard.py

It first runs bench/kpi_dataset.py, which loads 1 M return lines and 100 k complaints into
the bench database the first time (about 4 minutes) and skips when they are there.

Uses the bench database (postgres://postgres@127.0.0.1:5432/rma_bench unless DATABASE_URL is
set) and its tenant "bench". Rollups of the last 365 days are built first when missing
(`--rebuild` builds them again, timed). Targets: dashboard under 300 ms, one day under 5 s.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rma_bench")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")

TENANT_SLUG = "bench"
MANAGER_EMAIL = "manager@bench.demo"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="timed dashboard requests")
    parser.add_argument("--rebuild", action="store_true", help="rebuild all 365 days, timed")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--no-dataset", action="store_true", help="skip bench/kpi_dataset.py")
    return parser.parse_args()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def time_requests(client, url: str, count: int) -> list[float]:
    """`count` timed GETs after one untimed; https, as production settings redirect http."""
    response = client.get(url, secure=True)  # warm-up: connections, templates, caches
    assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, secure=True)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    return timings


def report(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    print(
        f"{name}: median {ms(statistics.median(ordered))}, p90 {ms(p90)}, "
        f"min {ms(ordered[0])}, max {ms(ordered[-1])} ({len(ordered)} requests)"
    )


def main() -> None:
    args = parse_args()
    if not args.no_dataset:
        subprocess.run([sys.executable, str(ROOT / "bench" / "kpi_dataset.py")], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    # Production settings serve hashed static file names from the collected manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from analytics.models import ComplaintRollup, ReturnRollup, RollupDay
    from analytics.rollups import days_to_rebuild, kpi_rollups_nightly, kpi_rollups_rebuild
    from complaints.models import Complaint
    from returns.models import ReturnLine
    from returns.selectors import tenant_today
    from rma_portal.accounts.models import User
    from rma_portal.tenancy.context import tenant_context
    from rma_portal.tenancy.models import Tenant

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        sys.exit("No bench tenant: bench/kpi_dataset.py did not create it.")
    with tenant_context(tenant):
        lines = ReturnLine.objects.count()
        complaints = Complaint.objects.count()
        print(f"tenant {tenant.slug}: {lines:,} return lines, {complaints:,} complaints")
        today = tenant_today(tenant)
        first = today - datetime.timedelta(days=args.days)
        yesterday = today - datetime.timedelta(days=1)
        built = RollupDay.objects.filter(day__gte=first, day__lte=yesterday).count()
        if args.rebuild:
            started = time.perf_counter()
            result = kpi_rollups_rebuild(tenant=tenant, start=first, end=yesterday)
            print(
                f"rollups of {result.days} days rebuilt in {time.perf_counter() - started:.1f} s "
                f"({result.return_rows:,} return and {result.complaint_rows:,} complaint rows, "
                f"{result.months} months compacted)"
            )
        elif built < args.days:
            started = time.perf_counter()
            days = kpi_rollups_nightly(tenant=tenant)
            print(f"{days} days never built: rolled up in {time.perf_counter() - started:.1f} s")
        print(
            f"rollup rows: {ReturnRollup.objects.count():,} returns, "
            f"{ComplaintRollup.objects.count():,} complaints"
        )

        # The nightly run with every earlier day built: yesterday only.
        timings = []
        for _ in range(3):
            RollupDay.objects.filter(day=yesterday).delete()
            assert days_to_rebuild(tenant=tenant) == [yesterday]
            started = time.perf_counter()
            kpi_rollups_nightly(tenant=tenant)
            timings.append(time.perf_counter() - started)
        print(
            f"nightly rollup of one day ({yesterday}): median "
            f"{statistics.median(timings):.2f} s of {len(timings)} runs "
            f"({', '.join(f'{t:.2f}' for t in timings)} s)"
        )
        # The night after a month's last day also compacts that month.
        month_last = today.replace(day=1) - datetime.timedelta(days=1)
        started = time.perf_counter()
        kpi_rollups_rebuild(tenant=tenant, start=month_last, end=month_last)
        print(
            f"rollup of a month's last day ({month_last}) with the month compacted: "
            f"{time.perf_counter() - started:.2f} s"
        )

    manager = User.objects.get(email=MANAGER_EMAIL)
    client = Client()
    client.force_login(manager)
    url = "/dashboard/?period=12m"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, secure=True)
        assert response.status_code == 200, (response.status_code, response.get("Location"))
    print(f"dashboard, last 12 months: {len(queries)} queries")
    report("dashboard, last 12 months", time_requests(client, url, args.requests))
    # Cold: nothing kept between requests (today's cells and the built dashboard), so every
    # request reads the rollups and builds today's cells from the source tables.
    from django.conf import settings

    kept = settings.KPI_TODAY_CACHE_SECONDS
    settings.KPI_TODAY_CACHE_SECONDS = 0
    report("dashboard, last 12 months, nothing cached", time_requests(client, url, 5))
    settings.KPI_TODAY_CACHE_SECONDS = kept
    with tenant_context(tenant):
        reason = ReturnLine.objects.values_list("reason", flat=True).first()
        customer = (
            ReturnLine.objects.values_list("return_request__customer_account_id", flat=True)
            .order_by("pk")
            .first()
        )
    for name, query in (
        ("filtered by reason", f"&reason={reason}"),
        ("filtered by customer", f"&customer={customer}"),
        (
            "filtered by customer and reason (request figures live)",
            f"&customer={customer}&reason={reason}",
        ),
    ):
        report(f"dashboard, last 12 months, {name}", time_requests(client, url + query, 5))


if __name__ == "__main__":
    main()

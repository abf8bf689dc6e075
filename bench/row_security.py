"""Benchmark of PostgreSQL row-level security: the same pages with it on and off.

    .venv/bin/python bench/row_security.py [--rounds 40]

Uses its own database (postgres://postgres@127.0.0.1:5432/rma_bench_rls unless DATABASE_URL is
set), migrated and seeded with the demo data the first time. For each page, in one process,
requests alternate on/off/off/on (ABBA) so that warm-up, caches and machine load fall on both
alike; "off" is the same code with DATABASE_ROW_SECURITY false (requests run as the owner,
no role or tenant setting is sent), which is what the suite ran before row security existed.
Prints per page the median and the 10th-90th percentile range of each, and the median ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rma_bench_rls")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("STATIC_MANIFEST", "false")  # no collectstatic needed
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")
os.environ.pop("REDIS_URL", None)  # local-memory cache: Redis is not what is measured

TENANT_SLUG = "nordtech"
PAGES = [
    ("customer", "/portal/"),
    ("customer", "/portal/returns/"),
    ("customer", "/portal/complaints/"),
    ("agent", "/backoffice/returns/returnrequest/"),
    ("agent", "/backoffice/complaints/complaint/"),
    ("agent", "/api/v1/returns/"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="ABBA rounds per page")
    parser.add_argument("--warmup", type=int, default=5)
    return parser.parse_args()


def prepare() -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_database.py")], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    from rma_portal.tenancy.models import Tenant

    call_command("migrate", verbosity=0)
    if not Tenant.objects.filter(slug=TENANT_SLUG).exists():
        print("seeding the demo data (once) ...", flush=True)
        call_command("seed_demo", "--i-know-this-is-production", verbosity=0)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def clients():
    from django.test import Client

    from customers.demo import logins
    from rma_portal.accounts.models import User

    customer_email = logins(tenant_slug=TENANT_SLUG)[0][1]
    users = {
        "customer": User.objects.get(email=customer_email),
        "agent": User.objects.get(email=f"agent@{TENANT_SLUG}.demo"),
    }
    signed_in = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        signed_in[name] = client
    return signed_in


def timed(client, url: str, enabled: bool) -> float:
    from django.test import override_settings

    with override_settings(DATABASE_ROW_SECURITY=enabled):
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def spread(samples: list[float]) -> str:
    deciles = statistics.quantiles(samples, n=10)
    return (
        f"{statistics.median(samples) * 1000:6.1f} ms "
        f"(p10-p90 {deciles[0] * 1000:.1f}-{deciles[-1] * 1000:.1f})"
    )


def main() -> None:
    args = parse_args()
    prepare()
    signed_in = clients()
    print(f"{'page':40} {'row security on':30} {'off':30} ratio")
    for who, url in PAGES:
        client = signed_in[who]
        for _ in range(args.warmup):
            timed(client, url, True)
            timed(client, url, False)
        on, off = [], []
        for _ in range(args.rounds):
            on.append(timed(client, url, True))
            off.append(timed(client, url, False))
            off.append(timed(client, url, False))
            on.append(timed(client, url, True))
        ratio = statistics.median(on) / statistics.median(off)
        print(f"{who + ' ' + url:40} {spread(on):30} {spread(off):30} {ratio:.3f}")


if __name__ == "__main__":
    main()

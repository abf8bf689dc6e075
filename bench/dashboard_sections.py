"""The KPI dashboard's sections, cold and warm, as a manager's first pages after signing in.

    .venv/bin/python bench/dashboard_sections.py [--rounds 5] [--compare /path/to/other/checkout]
        [--email manager@nordtech.demo] [URL ...]

Each measurement is a fresh process of its own: it signs the manager in, opens the dashboard
once with another period (so code and templates are loaded, as in a server that has been
running), empties the cache and the process's today cells, then times the first request of
the URL (cold: every figure computed) and three more (warm: from the cache; the median of
the three is taken). `--compare` measures another checkout (e.g. `git worktree add
/tmp/before main`) too, interleaved: each round runs every URL of both, alternating which
goes first, so the load of the machine falls on both alike. A URL the other checkout does not
have (a section that did not exist) is measured in this one only.

Uses the bench database of bench/kpi_dataset.py and its manager (DATABASE_URL unless set:
postgres://postgres@127.0.0.1:5432/rma_bench; bench/dashboard.py builds its rollups), or
another with `--email`, e.g. the demo data of `make serve` with `--email
manager@nordtech.demo`. With REDIS_URL its cache is emptied before each cold request.
Prints the median, min and max per URL and checkout (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URLS = [
    "/dashboard/",
    "/dashboard/?period=this_month",
    "/dashboard/kpis/returns/",
    "/dashboard/kpis/complaints/",
    "/dashboard/kpis/service/",
    "/dashboard/kpis/money/",
    "/dashboard/kpis/satisfaction/",
]
WARM_REQUESTS = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", default=URLS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", type=Path, help="another checkout, measured interleaved")
    parser.add_argument("--email", default="manager@bench.demo")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one measuring process
    return parser.parse_args()


def measure(url: str, email: str) -> dict:
    """In this process: warm up, empty the caches, time the URL cold and warm."""
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.core.cache import cache
    from django.test import Client

    from analytics import rollup_reader
    from rma_portal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    # https: production settings redirect http.
    assert client.get("/dashboard/?period=last_month", secure=True).status_code == 200
    cache.clear()
    rollup_reader._TODAY.clear()
    started = time.perf_counter()
    response = client.get(url, secure=True)
    cold = time.perf_counter() - started
    if response.status_code != 200:
        return {"url": url, "status": response.status_code}
    warm = []
    for _ in range(WARM_REQUESTS):
        started = time.perf_counter()
        assert client.get(url, secure=True).status_code == 200
        warm.append(time.perf_counter() - started)
    return {
        "url": url,
        "cold": cold,
        "warm": statistics.median(warm),
        "bytes": len(response.content),
    }


def run(checkout: Path, url: str, email: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rma_bench")
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-real-deployment")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", url, "--email", email],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.email)))
        return
    checkouts = {"this": ROOT}
    if args.compare:
        checkouts["compared"] = args.compare.resolve()
    jobs = [(name, url) for url in args.urls for name in checkouts]
    found: dict[tuple[str, str], dict[str, list]] = {}
    for number in range(args.rounds):
        for name, url in jobs if number % 2 == 0 else list(reversed(jobs)):
            row = run(checkouts[name], url, args.email)
            if "cold" not in row:
                continue  # not in that checkout (a 404)
            timings = found.setdefault((name, url), {"cold": [], "warm": [], "bytes": row["bytes"]})
            timings["cold"].append(row["cold"])
            timings["warm"].append(row["warm"])
        print(f"round {number + 1} of {args.rounds} done", file=sys.stderr)
    for (name, url), timings in found.items():
        cold, warm = (
            [round(seconds * 1000) for seconds in sorted(timings[kind])]
            for kind in ("cold", "warm")
        )
        print(
            f"{name:8} {url:34} cold median {statistics.median(cold):6.0f} ms "
            f"({cold[0]}–{cold[-1]}), warm median {statistics.median(warm):5.0f} ms "
            f"({warm[0]}–{warm[-1]}), {timings['bytes'] / 1024:.0f} KB, {len(cold)} rounds"
        )


if __name__ == "__main__":
    main()

"""pytest plugin loaded by `-p rma_portal.testing.backends` (pyproject.toml), before Django
starts.

Chooses the database and Redis the suite runs against: DATABASE_URL / REDIS_URL when set,
else PostgreSQL and Redis on their local default ports when they answer. With CI=true a
missing service is an error, never a skip.

Under pytest-xdist each worker process gets its own test database (pytest-django adds the
worker id to its name) and, here, its own Redis database: the tests empty the cache before
each test (FLUSHDB), which must never reach another worker's keys.
"""

from __future__ import annotations

import os
import socket
import tempfile
from urllib.parse import urlparse

import pytest

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/rma_portal"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _choose() -> tuple[str, str, list[str]]:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    problems = []
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url and _answers(LOCAL_POSTGRES, 5432):
        database_url = LOCAL_POSTGRES
    if database_url and not _answers(database_url, 5432):
        problems.append(f"PostgreSQL at {database_url} does not answer")
        database_url = ""
    if not database_url:
        problems.append("no PostgreSQL: running on SQLite, PostgreSQL-only tests are skipped")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url and _answers(LOCAL_REDIS, 6379):
        redis_url = LOCAL_REDIS
    if redis_url and not _answers(redis_url, 6379):
        problems.append(f"Redis at {redis_url} does not answer")
        redis_url = ""
    if not redis_url:
        problems.append("no Redis: Redis tests are skipped")
    if in_ci and problems:
        raise pytest.UsageError("CI=true needs PostgreSQL and Redis: " + "; ".join(problems))
    return database_url, redis_url, problems


# Redis databases the workers' caches may use: gw0 the given one (15 by default), gw1 the
# one below, …; the worker tests' broker (RMA_WORKER_REDIS_DB, 11) stays out of the way.
MAX_XDIST_WORKERS = 4


def _redis_for_this_worker(url: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    index = int(worker.removeprefix("gw"))
    if index >= MAX_XDIST_WORKERS:
        raise pytest.UsageError(
            f"at most {MAX_XDIST_WORKERS} test processes (-n): each needs a Redis database"
        )
    parsed = urlparse(url)
    base = int(parsed.path.strip("/") or 0)
    if base < index:
        raise pytest.UsageError(f"REDIS_URL {url}: use a database number >= {index}")
    return parsed._replace(path=f"/{base - index}").geturl()


DATABASE_URL, REDIS_URL, PROBLEMS = _choose()
REDIS_URL = _redis_for_this_worker(REDIS_URL)
if DATABASE_URL:
    os.environ["DATABASE_URL"] = DATABASE_URL
else:
    os.environ.pop("DATABASE_URL", None)
if REDIS_URL:
    os.environ["REDIS_URL"] = REDIS_URL
else:
    os.environ.pop("REDIS_URL", None)
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# The live server for browser tests speaks plain http; secure-only cookies would be dropped.
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Worker tests start a real worker and switch eagerness off for themselves.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("STATIC_MANIFEST", "false")  # no collectstatic before tests
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="rma-test-var-"))
os.makedirs(os.path.join(os.environ["VAR_DIR"], "staticfiles"), exist_ok=True)


def pytest_report_header(config):
    lines = [
        "database: " + (f"PostgreSQL {DATABASE_URL}" if DATABASE_URL else "SQLite (embedded)"),
        "redis: " + (REDIS_URL or "none (local memory cache)"),
    ]
    return lines + [f"warning: {problem}" for problem in PROBLEMS]


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (not reachable here)")
    skip_redis = pytest.mark.skip(reason="needs Redis (not reachable here)")
    for item in items:
        if "postgres" in item.keywords and not DATABASE_URL:
            item.add_marker(skip_pg)
        if ("redis" in item.keywords or "integration" in item.keywords) and not REDIS_URL:
            item.add_marker(skip_redis)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        "backends used: "
        + ("PostgreSQL" if DATABASE_URL else "SQLite")
        + " + "
        + ("Redis" if REDIS_URL else "no Redis")
    )

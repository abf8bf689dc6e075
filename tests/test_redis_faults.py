"""A Redis that is down or hung costs a bounded wait and never an error: committed transitions
answer normally and leave their outbox rows to the sweep, the dashboard computes its figures,
throttles let requests through, /healthz says 503; the cache and the broker live in separate
databases; the broker's visibility timeout outlasts every task and retry.

Two stand-ins for a failing Redis (tests/tcp.py): a port nothing listens on (refused at once)
and a server that accepts and reads but never answers (each call waits for the socket
timeout). Nothing here measures time: the tests count connection attempts and look at the
timeouts they were made with, and a request that would hang without a socket timeout fails on
the hang guard instead of blocking the run.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.db import transaction
from django.utils import timezone
from kombu.messaging import Producer

from customers.models import OrderLine
from returns.models import ReturnRequest, ReturnStatus
from rma_portal.celery import app as celery_app
from rma_portal.notifications import services as outbox
from rma_portal.notifications.models import (
    DeliveryStatus,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
)
from rma_portal.notifications.tasks import deliver_notification_task
from tests.analytics.dataset import END, START, build_dataset
from tests.analytics.test_dashboard import PERIOD, tile
from tests.api import api_as
from tests.factories import PASSWORD
from tests.returns import conftest as returns_fixtures

from .tcp import SilentServer, closed_port, run_guarded

# The return fixtures of tests/returns/conftest.py, shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

ROOT = Path(__file__).resolve().parents[1]
ENQUEUE_FAILED = "outbox enqueue failed; the sweeper will retry"
CACHE_MISS = "cache unavailable; treated as a miss"


# --- failing Redis servers and who connects to them -------------------------------------------


@dataclass
class FailingRedis:
    url: str  # database 0
    server: SilentServer | None = None  # None: nothing listens on the port

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture(params=["refusing", "silent"])
def failing_redis(request):
    """A Redis that refuses connections, or one that accepts them and never answers."""
    if request.param == "refusing":
        yield FailingRedis(f"redis://127.0.0.1:{closed_port()}/0")
        return
    server = SilentServer()
    yield FailingRedis(server.url(), server)
    server.close()  # ends any client still waiting on it


@pytest.fixture
def refusing_redis():
    return FailingRedis(f"redis://127.0.0.1:{closed_port()}/0")


@pytest.fixture
def connection_attempts(monkeypatch):
    """Every TCP connection redis-py attempts in this process (any thread): (port, socket
    timeout, connect timeout). Filter by port to count those to one server."""
    import redis.connection

    attempts = []
    connect = redis.connection.Connection._connect

    def recording_connect(self):
        attempts.append((self.port, self.socket_timeout, self.socket_connect_timeout))
        return connect(self)

    monkeypatch.setattr(redis.connection.Connection, "_connect", recording_connect)
    return attempts


def bounded(settings) -> tuple[float, float]:
    """(socket timeout, connect timeout) that every Redis connection must use."""
    return (settings.REDIS_SOCKET_TIMEOUT, settings.REDIS_CONNECT_TIMEOUT)


# --- the broker --------------------------------------------------------------------------------


def use_broker(url: str) -> None:
    """Point this process's Celery app at `url`, dropping pooled connections (kombu keeps one
    pool per URL process-wide, so a closed one would be handed back later)."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def broker_at(settings):
    """Tasks go to a broker (not run eagerly) at the URL given: `broker_at(url)`."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)

    def point(url: str) -> str:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.CELERY_BROKER_URL = url
        celery_app.conf.task_always_eager = False
        use_broker(url)
        return url

    yield point
    celery_app.conf.task_always_eager = saved[0]
    use_broker(saved[1])


def warnings_of(caplog, message: str) -> list:
    return [record for record in caplog.records if record.getMessage() == message]


@pytest.fixture
def submitted_return(transactional_db, world_a, delivered_order, file_return):
    """A submitted return of world A's customer (committed: the request runs in another
    thread), and a webhook endpoint of tenant A added afterwards, so that the next transition
    queues two outbox rows: the customer's e-mail and the webhook call."""
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant, url="https://hooks.example.com/rma", secret="s" * 32
    )
    return return_request


def test_a_transition_commits_and_answers_while_the_broker_fails(
    submitted_return, world_a, failing_redis, broker_at, connection_attempts, caplog, settings
):
    # given: the broker is down (refuses) or hung (accepts, never answers)
    broker_at(failing_redis.url)
    agent = api_as(world_a.agent)
    url = f"/api/v1/returns/{submitted_return.pk}/reject/"

    # when: an agent rejects the return through the API
    with caplog.at_level("WARNING", logger="rma_portal.notifications"):
        response = run_guarded(
            lambda: agent.post(url, {"reason": "Outside the contract."}, format="json"),
            what="a transition while the broker fails",
        )

    # then: the normal answer, and the change is committed
    assert response.status_code == 200, response.content[:500]
    assert response.json()["status"] == "rejected"
    stored = ReturnRequest.unscoped.get(pk=submitted_return.pk)
    assert stored.status == ReturnStatus.REJECTED
    # its outbox rows are committed and pending: the sweep will send them
    rejected_mail = Notification.unscoped.get(
        tenant=world_a.tenant, event="return.rejected", recipient=world_a.customer
    )
    webhook_call = WebhookDelivery.unscoped.get(tenant=world_a.tenant, event="return.rejected")
    for row in (rejected_mail, webhook_call):
        assert row.status == DeliveryStatus.PENDING
        assert row.attempts == 0
    after_the_grace_period = timezone.now() + datetime.timedelta(minutes=5)
    mails, calls = outbox.outbox_due(now=after_the_grace_period)
    assert (rejected_mail.pk, world_a.tenant.pk) in mails
    assert (webhook_call.pk, world_a.tenant.pk) in calls
    # the broker was tried once for both rows, with the configured timeouts, and no retry
    to_broker = [a for a in connection_attempts if a[0] == failing_redis.port]
    assert len(to_broker) == 1, f"{len(to_broker)} connection attempts to the broker"
    assert to_broker[0][1:] == bounded(settings)
    if failing_redis.server is not None:  # it accepted that one connection, and no other
        assert failing_redis.server.accepted() == 1
    # and each row's enqueue was logged for the sweep, once
    assert len(warnings_of(caplog, ENQUEUE_FAILED)) == 2


def test_each_transaction_tries_the_broker_again(
    transactional_db, refusing_redis, broker_at, connection_attempts, caplog
):
    """One failed attempt spares the rest of its own transaction, not the next ones; a rolled
    back transaction enqueues nothing."""
    from rma_portal.notifications.enqueue import enqueue_after_commit

    broker_at(refusing_redis.url)

    def two_rows() -> None:
        for row_id in (1, 2):
            enqueue_after_commit(deliver_notification_task, args=[row_id, 1], what=ENQUEUE_FAILED)

    class RolledBack(Exception):
        pass

    with caplog.at_level("WARNING", logger="rma_portal.notifications"):
        with transaction.atomic():
            two_rows()
        with transaction.atomic():
            two_rows()
        with pytest.raises(RolledBack), transaction.atomic():
            two_rows()
            raise RolledBack

    assert len([a for a in connection_attempts if a[0] == refusing_redis.port]) == 2
    assert len(warnings_of(caplog, ENQUEUE_FAILED)) == 4


@pytest.mark.redis
def test_an_enqueue_publishes_once_without_retries(settings, broker_at, monkeypatch):
    """With a broker that works, the message is published with Celery's publish retries off."""
    from rma_portal.notifications.enqueue import enqueue_now

    prefix = f"rma-test-{uuid.uuid4().hex}:"  # this test's own broker keys
    options = celery_app.conf.broker_transport_options
    celery_app.conf.broker_transport_options = {**options, "global_keyprefix": prefix}
    broker_at(os.environ["REDIS_URL"])
    published = []
    publish = Producer.publish

    def recording_publish(self, body, *args, **kwargs):
        published.append(kwargs.get("retry"))
        return publish(self, body, *args, **kwargs)

    monkeypatch.setattr(Producer, "publish", recording_publish)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        assert enqueue_now(deliver_notification_task, args=[1, 1], what=ENQUEUE_FAILED)
        assert published == [False]
        assert client.llen(f"{prefix}celery") == 1
    finally:
        celery_app.conf.broker_transport_options = options
        use_broker(os.environ["REDIS_URL"])  # drop the pool made with the prefix
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


# --- the cache ---------------------------------------------------------------------------------


@pytest.fixture
def cache_at(settings):
    """Point the cache at another Redis: `cache_at(url)`. Django rebuilds its cache objects
    when CACHES changes (the setting_changed signal), in every thread."""
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the cache is not Redis here (no REDIS_URL)")

    def point(url: str) -> None:
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}

    return point


@pytest.fixture
def rolled_up(transactional_db, world_a, world_b):
    from analytics.rollups import kpi_rollups_rebuild

    dataset = build_dataset(world_a, world_b)
    kpi_rollups_rebuild(tenant=dataset.ta, start=START, end=END)
    return dataset


@pytest.mark.redis
def test_the_dashboard_computes_its_figures_while_the_cache_fails(
    rolled_up, client, failing_redis, cache_at, connection_attempts, caplog, settings
):
    # given: dashboards are cached, and the cache is down (refuses) or hung (never answers)
    settings.KPI_TODAY_CACHE_SECONDS = 60
    cache_at(failing_redis.url)
    client.force_login(rolled_up.a.manager)

    # when
    with caplog.at_level("WARNING", logger="rma_portal.tenancy"):
        response = run_guarded(
            lambda: client.get("/dashboard/?" + PERIOD), what="the dashboard while the cache fails"
        )

    # then: the page with its figures (tests/analytics/test_dashboard.py has the same ones)
    assert response.status_code == 200
    html = response.content.decode()
    assert tile(html, "Returns") == "3"
    assert tile(html, "Complaints filed") == "5"
    # the cache was asked (and failed), with the configured timeouts
    to_cache = [a for a in connection_attempts if a[0] == failing_redis.port]
    assert to_cache, "the dashboard never asked the cache"
    assert set(to_cache) == {(failing_redis.port, *bounded(settings))}
    assert warnings_of(caplog, CACHE_MISS)
    if failing_redis.server is not None:
        assert failing_redis.server.accepted() == len(to_cache)


@pytest.mark.redis
def test_the_token_throttle_lets_requests_through_while_the_cache_is_down(
    db, world_a, refusing_redis, cache_at
):
    """Fails open: without its counters the throttle cannot count, and refusing every sign-in
    would turn a cache outage into an API outage (docs/operations.md)."""
    from rest_framework.test import APIClient

    cache_at(refusing_redis.url)
    credentials = {"email": world_a.customer.email, "password": PASSWORD}

    answers = [
        APIClient().post("/api/v1/auth/token/", credentials, format="json").status_code
        for _ in range(3)
    ]

    assert answers == [200, 200, 200]


@pytest.mark.redis
def test_signing_in_works_while_the_cache_is_down(db, world_a, client, refusing_redis, cache_at):
    cache_at(refusing_redis.url)

    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"username": world_a.manager.email, "password": PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.redis
def test_every_cache_call_answers_as_an_empty_cache_while_redis_is_down(
    refusing_redis, cache_at, caplog
):
    from django.core.cache import cache

    cache_at(refusing_redis.url)

    with caplog.at_level("WARNING", logger="rma_portal.tenancy"):
        assert cache.get("k") is None
        assert cache.get("k", "default") == "default"
        assert cache.set("k", 1) is None
        assert cache.add("k", 1) is False
        assert cache.get_or_set("k", lambda: "computed") == "computed"
        assert cache.get_many(["k", "l"]) == {}
        assert cache.set_many({"k": 1, "l": 2}) == ["k", "l"]
        assert cache.has_key("k") is False
        assert cache.touch("k") is False
        assert cache.delete("k") is False
        assert cache.delete_many(["k", "l"]) is None
        assert cache.clear() is False
        with pytest.raises(ValueError):
            cache.incr("k")
    assert len(warnings_of(caplog, CACHE_MISS)) >= 13


# --- the health check --------------------------------------------------------------------------


def test_health_reports_a_hung_broker_within_the_timeouts(
    db, client, settings, connection_attempts
):
    server = SilentServer()
    try:
        settings.CELERY_BROKER_URL = server.url()

        response = run_guarded(lambda: client.get("/healthz"), what="/healthz on a hung broker")

        assert response.status_code == 503
        assert response.json() == {"database": "ok", "broker": "error"}
        # one connection, made with the configured timeouts: no retry doubles the wait
        assert server.accepted() == 1
        assert [a for a in connection_attempts if a[0] == server.port] == [
            (server.port, *bounded(settings))
        ]
    finally:
        server.close()


# --- cache and broker in separate databases ----------------------------------------------------


@pytest.mark.redis
def test_clearing_the_cache_leaves_the_task_queue_alone(settings):
    from django.core.cache import cache

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = f"rma-test-queue-{uuid.uuid4().hex}"
    try:
        broker.rpush(key, "a task message")

        cache.clear()

        assert broker.lrange(key, 0, -1) == [b"a task message"]
    finally:
        broker.delete(key)
        broker.close()


def cache_url_for(broker_url: str) -> str:
    from rma_portal.settings import redis_cache_url

    return redis_cache_url(broker_url)


@pytest.mark.redis
def test_the_cache_and_the_broker_use_different_redis_databases(settings):
    cache_url = settings.CACHES["default"]["LOCATION"]
    assert cache_url == cache_url_for(settings.CELERY_BROKER_URL)
    assert cache_url != settings.CELERY_BROKER_URL


@pytest.mark.parametrize(
    ("broker", "cache"),
    [
        ("redis://redis:6379/0", "redis://redis:6379/8"),
        ("redis://redis:6379", "redis://redis:6379/8"),
        ("redis://:secret@redis:6379/15", "redis://:secret@redis:6379/7"),
        ("rediss://redis.example.com:6380/3", "rediss://redis.example.com:6380/11"),
        ("unix:///run/redis/redis.sock?db=1", "unix:///run/redis/redis.sock?db=9"),
    ],
)
def test_the_cache_database_is_derived_from_the_brokers(broker, cache):
    assert cache_url_for(broker) == cache


def test_no_cache_database_is_another_brokers():
    def cache_of(database: int) -> int:
        return int(cache_url_for(f"redis://redis:6379/{database}").rsplit("/", 1)[1])

    # pairs: a database's cache's cache is the database itself, and two never share one
    assert [cache_of(cache_of(database)) for database in range(16)] == list(range(16))
    # the parallel test processes' databases (15, 14, 13, 12, rma_portal/testing/backends.py)
    # and the worker tests' broker (11) never hold a test process's cache, so no cache.clear()
    # empties a database that may hold messages
    brokers = {15, 14, 13, 12, 11}
    assert not brokers & {cache_of(database) for database in brokers}


def test_a_cache_in_the_brokers_database_is_refused():
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_"))},
        "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/none",
        "SECRET_KEY": "x" * 50,
        "REDIS_URL": "redis://127.0.0.1:6379/3",
        "CACHE_URL": "redis://127.0.0.1:6379/3",
    }
    finished = subprocess.run(
        [sys.executable, "-c", "import rma_portal.settings"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard
    )
    assert finished.returncode != 0
    assert "same Redis database" in finished.stderr


# --- Celery ------------------------------------------------------------------------------------


def test_every_broker_connection_is_bounded(settings):
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert settings.CELERY_BROKER_CONNECTION_TIMEOUT == settings.REDIS_CONNECT_TIMEOUT
    assert settings.CELERY_RESULT_BACKEND is None  # no result backend to bound
    # Celery reads them (the worker tests swap the transport options only for themselves)
    assert celery_app.conf.broker_connection_timeout == settings.REDIS_CONNECT_TIMEOUT
    # a worker that loses the broker stops its late-acknowledged tasks, which Redis hands out
    # again, instead of running them twice
    assert celery_app.conf.worker_cancel_long_running_tasks_on_connection_loss is True


@pytest.mark.redis
def test_every_cache_connection_is_bounded(settings):
    options = settings.CACHES["default"]["OPTIONS"]
    assert options["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT


def test_the_visibility_timeout_outlasts_every_task_and_every_retry(settings):
    """A message not acknowledged within the visibility timeout is handed to a worker again:
    a task still running (acks late) or a retry waiting for its countdown would run twice."""
    celery_app.loader.import_default_modules()  # every app's tasks module
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    ours = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}
    assert "analytics.rebuild_rollups_task" in ours and "notifications.sweep_outbox_task" in ours
    limits = {
        name: task.time_limit or settings.CELERY_TASK_TIME_LIMIT for name, task in ours.items()
    }
    longest_countdown = max(outbox.BACKOFF_SECONDS)
    retried = ("notifications.deliver_notification_task", "notifications.deliver_webhook_task")

    for name, limit in limits.items():
        assert visibility > limit, f"{name} may run {limit} s, longer than {visibility} s"
    for name in retried:
        waits = longest_countdown + limits[name]
        assert visibility > waits, f"{name}'s retry waits {waits} s, longer than {visibility} s"

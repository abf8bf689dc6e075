"""Fixtures of the worker tests: a real Celery worker subprocess on a dedicated Redis DB,
reading the test database pytest-django created, sending e-mails into a temporary folder.

The broker is Redis DB RMA_WORKER_REDIS_DB (default 11). Each test's broker keys carry
their own prefix (kombu's `global_keyprefix`) and are deleted before and after the test,
instead of flushing the whole DB: two runs of this module at once (two checkouts, a CI
job and a developer) then never consume or delete each other's messages.

Nothing here waits for an amount of time. Workers report `ready`, `finished`, `sending`,
`sent-to-server` and `holding` events on a Redis list (`worker_support`), and
`WorkerEnv.wait` pops them until what the test waits for has happened. Its only limit is a
hang guard (RMA_TEST_HANG_GUARD seconds, default 600) that turns a worker that will never
answer into a failure instead of a stuck run; no test relies on anything being done within
a time.
"""

from __future__ import annotations

import datetime
import email
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import pytest
import redis
from django.db import connection
from django.utils import timezone

from rma_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
WORKER_SETTINGS = "tests.notifications.worker_settings"
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1
# A guard against a hang (a worker that will never answer), not a timing assumption.
HANG_GUARD = float(os.environ.get("RMA_TEST_HANG_GUARD", "600"))
STOP_TIMEOUT = 15.0


def worker_redis_url() -> str:
    parsed = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
    db = int(os.environ.get("RMA_WORKER_REDIS_DB", "11"))
    own = int(parsed.path.strip("/") or 0)
    if db in (own, own ^ 8):  # the cache is on the database 8 apart (settings.redis_cache_url)
        raise pytest.UsageError(f"RMA_WORKER_REDIS_DB={db} is this test process's Redis DB")
    return urlunparse(parsed._replace(path=f"/{db}"))


def database_url_of_this_process() -> str:
    """The URL of the database this test process uses (pytest-django's test database)."""
    db = connection.settings_dict
    assert connection.vendor == "postgresql", "worker tests need PostgreSQL"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


# --- mails ------------------------------------------------------------------------------


def read_mails(mail_dir: Path) -> list[email.message.Message]:
    """Every message the file backend wrote (one file may hold several, separated by dashes)."""
    messages = []
    if not mail_dir.exists():
        return messages
    for path in sorted(mail_dir.iterdir()):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.lstrip(b"\n")))
    return messages


def text_of(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the e-mail has no text/plain part")


# --- delivery leases --------------------------------------------------------------------


def expire_lease(row) -> None:
    """As if the lease of the worker sending `row` had run out (that worker died): the test
    moves the lease into the past instead of waiting DELIVERY_LEASE."""
    updated = (
        type(row)
        .unscoped.filter(pk=row.pk, status="sending")
        .update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    )
    assert updated == 1, "the row is not being sent"


def extend_lease(row) -> None:
    """Move the lease of the worker sending `row` a day ahead, so that what a test checks
    while the lease holds never depends on how fast the machine gets there."""
    updated = (
        type(row)
        .unscoped.filter(pk=row.pk, status="sending")
        .update(lease_until=timezone.now() + datetime.timedelta(days=1))
    )
    assert updated == 1, "the row is not being sent"


# --- worker -----------------------------------------------------------------------------

LOG_LINE = re.compile(r"^ts=.*? msg=\"task finished\" .*$", re.MULTILINE)
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_fields(line: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in FIELD.findall(line)}


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path
    name: str
    gated: bool = False
    killed: bool = False

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self, task: str | None = None) -> list[dict[str, str]]:
        """The `task finished` log lines so far, parsed (optionally of one task name)."""
        lines = [parse_fields(m.group(0)) for m in LOG_LINE.finditer(self.log)]
        return [line for line in lines if task is None or line.get("task") == task]

    def received_ids(self, task: str) -> list[str]:
        return re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", self.log)

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, the DB connection just drops."""
        self.killed = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        if self.gated:  # it may be blocked inside a send that nobody will open
            self.kill()
        elif self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()


class BrokerSwitch:
    """Points this process's Celery app at a broker (dropping pooled connections)."""

    def __init__(self, app):
        self.app = app

    def use(self, url: str) -> None:
        self.app.conf.broker_url = url
        # Drop, not close: kombu keeps one pool per URL process-wide and would hand the
        # closed one back the next time this URL is used.
        self.app._pool = None
        amqp = self.app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None


@dataclass
class WorkerEnv:
    """One test's worker world: its Redis DB, var dir (mail folder), started workers and the
    events they reported."""

    tmp: Path
    redis_url: str
    key_prefix: str
    database_url: str
    broker: BrokerSwitch
    client: redis.Redis
    workers: list[Worker] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    @property
    def var_dir(self) -> Path:
        return self.tmp / "var"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def events_key(self) -> str:
        return f"{self.key_prefix}test-events"

    @property
    def gate_key(self) -> str:
        return f"{self.key_prefix}test-mail-gate"

    @property
    def hold_gate_key(self) -> str:
        return f"{self.key_prefix}test-hold-gate"

    def mails(self) -> list[email.message.Message]:
        return read_mails(self.mail_dir)

    # --- events ---------------------------------------------------------------------

    def wait(self, predicate, *, what: str):
        """Block until `predicate()` is truthy and return its value. Between checks it pops
        the workers' next event (a blocking pop, no sleep); it fails at once when a worker
        the test did not kill exits, and after HANG_GUARD seconds without the event."""
        started = time.monotonic()
        while not (value := predicate()):
            for worker in self.workers:
                if not worker.killed and worker.process.poll() is not None:
                    raise AssertionError(
                        f"worker {worker.name} exited while waiting for {what}:\n"
                        f"{worker.log[-2000:]}"
                    )
            popped = self.client.blpop([self.events_key], timeout=1)
            if popped:
                self.events.append(json.loads(popped[1]))
            elif time.monotonic() - started > HANG_GUARD:
                raise AssertionError(f"hang guard: no {what} after {HANG_GUARD:.0f} s")
        return value

    def finished(self, task: str | None = None, *, worker: Worker | None = None) -> list[dict]:
        """The `finished` events so far, in the order the workers reported them."""
        return [
            event
            for event in self.events
            if event["kind"] == "finished"
            and (task is None or event["task"] == task)
            and (worker is None or event["worker"] == worker.name)
        ]

    def wait_finished(self, task: str, count: int, *, what: str = "") -> list[dict]:
        """Wait until `count` runs of `task` have finished; more than `count` fails."""
        found = self.wait(
            lambda: len(self.finished(task)) >= count and self.finished(task),
            what=what or f"{count} finished {task}",
        )
        assert len(found) == count, [(e["task_id"], e["outcome"]) for e in found]
        return found

    def wait_events(self, kind: str, count: int = 1) -> list[dict]:
        """Wait until `count` events of `kind` have arrived; returns all of them so far."""
        return self.wait(
            lambda: len(found := [e for e in self.events if e["kind"] == kind]) >= count and found,
            what=f"{count} {kind} event(s)",
        )

    def wait_sending(self, count: int = 1) -> list[dict]:
        return self.wait_events("sending", count)

    def open_gate(self, sends: int = 1) -> None:
        """Let `sends` e-mails held by gated workers go out."""
        self.client.rpush(self.gate_key, *["open"] * sends)

    # --- the broker's unacknowledged messages ------------------------------------------

    def unacked_task_ids(self) -> list[str]:
        """Task ids of the messages delivered to a worker and not acknowledged yet."""
        payloads = self.client.hvals(f"{self.key_prefix}unacked")
        return sorted(json.loads(payload)[0]["headers"]["id"] for payload in payloads)

    def queued_task_ids(self) -> list[str]:
        """Task ids of the messages waiting in the default queue."""
        payloads = self.client.lrange(f"{self.key_prefix}celery", 0, -1)
        return sorted(json.loads(payload)["headers"]["id"] for payload in payloads)

    def expire_visibility(self, task_id: str) -> None:
        """Redis hands an unacknowledged message out again once it has been held longer than
        the visibility timeout (3 hours). Make that hour pass for one message, then run the
        transport's own restore, as a worker's timer would."""
        from rma_portal.celery import app as celery_app

        index = f"{self.key_prefix}unacked_index"
        for tag, payload in self.client.hgetall(f"{self.key_prefix}unacked").items():
            if json.loads(payload)[0]["headers"]["id"] == task_id:
                self.client.zadd(index, {tag: 0}, xx=True)
                break
        else:
            raise AssertionError(f"task {task_id} is not held unacknowledged")
        with celery_app.connection_for_write() as connection:
            connection.default_channel.qos.restore_visible(start=0, num=100, interval=1)

    # --- workers --------------------------------------------------------------------

    def start_worker(
        self, *, mail_gate: bool = False, gate_at: str = "before", hold_after: str = ""
    ) -> Worker:
        """A real worker process. With `mail_gate` each of its sends waits for `open_gate`:
        before the mail is written (`gate_at="before"`) or right after (`"after"`). With
        `hold_after` (a task name) it blocks after each run of that task, before
        acknowledging its message, for as long as the test likes (until it is killed)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CELERY_", "EMAIL_", "DJANGO_", "RMA_TEST_", "PYTEST_"))
        }
        name = f"rma-test-{len(self.workers) + 1}-{uuid.uuid4().hex[:8]}"
        env.update(
            DJANGO_SETTINGS_MODULE=WORKER_SETTINGS,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_TASK_ALWAYS_EAGER="false",
            VAR_DIR=str(self.var_dir),
            RMA_TEST_BROKER_PREFIX=self.key_prefix,
            RMA_TEST_EVENTS_KEY=self.events_key,
            RMA_TEST_WORKER_NAME=name,
            PYTHONUNBUFFERED="1",
        )
        if mail_gate:
            env["RMA_TEST_MAIL_GATE_KEY"] = self.gate_key
            env["RMA_TEST_MAIL_GATE_AT"] = gate_at
        if hold_after:
            env["RMA_TEST_HOLD_AFTER_TASK"] = hold_after
            env["RMA_TEST_HOLD_GATE_KEY"] = self.hold_gate_key
        log_path = self.tmp / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "rma_portal",
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    "-Q",
                    "celery",
                    "-l",
                    "info",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"{name}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        gated = mail_gate or bool(hold_after)
        worker = Worker(process=process, log_path=log_path, name=name, gated=gated)
        self.workers.append(worker)
        self.wait(
            lambda: any(e["kind"] == "ready" and e["worker"] == name for e in self.events),
            what=f"worker {name} to start",
        )
        return worker

    def kill_all(self) -> None:
        """At the end of a test: the broker keys are deleted next, so a warm shutdown
        (seconds per worker) would only delay the database flush."""
        for worker in self.workers:
            worker.kill()


@pytest.fixture
def worker_env(transactional_db, settings, tmp_path) -> Iterator[WorkerEnv]:
    """Everything the worker tests share; workers are killed before the database flush."""
    url = worker_redis_url()
    prefix = f"rma-test-{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(url)

    def delete_broker_keys() -> None:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)

    delete_broker_keys()
    # What to restore is read before anything changes: Celery reads a setting it was not told
    # explicitly from Django's settings, live, so read after the line below it would be False,
    # and restoring that would leave every later test of this process without eager tasks.
    saved = {
        key: celery_app.conf[key]
        for key in ("task_always_eager", "broker_url", "broker_transport_options")
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The in-process sweep and the tasks' own templates, should a test render here.
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "DIRS": [*settings.TEMPLATES[0]["DIRS"], Path(__file__).parent / "templates"],
        }
    ]
    switch = BrokerSwitch(celery_app)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_transport_options = {
        **(saved["broker_transport_options"] or {}),
        "global_keyprefix": prefix,
    }
    switch.use(url)
    env = WorkerEnv(
        tmp=tmp_path,
        redis_url=url,
        key_prefix=prefix,
        database_url=database_url_of_this_process(),
        broker=switch,
        client=client,
    )
    try:
        yield env
    finally:
        env.kill_all()
        celery_app.conf.task_always_eager = saved["task_always_eager"]
        celery_app.conf.broker_transport_options = saved["broker_transport_options"]
        switch.use(saved["broker_url"])
        delete_broker_keys()
        client.close()

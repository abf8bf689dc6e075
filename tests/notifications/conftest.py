"""Fixtures of the worker tests: a real Celery worker subprocess on a dedicated Redis DB,
reading the test database pytest-django created, sending e-mails into a temporary folder.

The broker is Redis DB RMA_WORKER_REDIS_DB (default 11). Each test's broker keys carry
their own prefix (kombu's `global_keyprefix`) and are deleted before and after the test,
instead of flushing the whole DB: two runs of this module at once (two checkouts, a CI
job and a developer) then never consume or delete each other's messages.
"""

from __future__ import annotations

import email
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

from rma_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
WORKER_SETTINGS = "tests.notifications.worker_settings"
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll until `predicate()` is truthy; return its value or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def worker_redis_url() -> str:
    parsed = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
    db = int(os.environ.get("RMA_WORKER_REDIS_DB", "11"))
    if parsed.path.strip("/") == str(db):
        raise pytest.UsageError(f"RMA_WORKER_REDIS_DB={db} is the test cache's Redis DB")
    return urlunparse(parsed._replace(path=f"/{db}"))


def database_url_of_this_process() -> str:
    """The URL of the database this test process uses (pytest-django's test database)."""
    db = connection.settings_dict
    assert db["ENGINE"] == "django.db.backends.postgresql", "worker tests need PostgreSQL"
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

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def finished(self, task: str | None = None) -> list[dict[str, str]]:
        """The `task finished` log lines so far, parsed (optionally of one task name)."""
        lines = [parse_fields(m.group(0)) for m in LOG_LINE.finditer(self.log)]
        return [line for line in lines if task is None or line.get("task") == task]

    def received_ids(self, task: str) -> list[str]:
        return re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", self.log)

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, the DB connection just drops."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
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
    """One test's worker world: its Redis DB, var dir (mail folder) and started workers."""

    tmp: Path
    redis_url: str
    key_prefix: str
    database_url: str
    broker: BrokerSwitch
    workers: list[Worker] = field(default_factory=list)

    @property
    def var_dir(self) -> Path:
        return self.tmp / "var"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def sending_dir(self) -> Path:
        return self.var_dir / "sending"

    def mails(self) -> list[email.message.Message]:
        return read_mails(self.mail_dir)

    def start_worker(self, *, mail_delay: float | None = None) -> Worker:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CELERY_", "EMAIL_", "DJANGO_", "RMA_TEST_", "PYTEST_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE=WORKER_SETTINGS,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_TASK_ALWAYS_EAGER="false",
            VAR_DIR=str(self.var_dir),
            RMA_TEST_BROKER_PREFIX=self.key_prefix,
            PYTHONUNBUFFERED="1",
        )
        if mail_delay is not None:
            env["RMA_TEST_MAIL_DELAY"] = str(mail_delay)
        name = f"rma-test-{len(self.workers) + 1}-{uuid.uuid4().hex[:8]}"
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
        worker = Worker(process=process, log_path=log_path, name=name)
        self.workers.append(worker)
        try:
            wait_for(
                lambda: process.poll() is not None or " ready." in worker.log,
                timeout=START_TIMEOUT,
                what=f"worker {name} to start",
            )
        except AssertionError:
            raise AssertionError(f"worker did not start:\n{worker.log[-4000:]}") from None
        assert process.poll() is None, f"worker exited:\n{worker.log[-4000:]}"
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def worker_env(transactional_db, settings, tmp_path) -> Iterator[WorkerEnv]:
    """Everything the worker tests share; workers are stopped before the database flush."""
    url = worker_redis_url()
    prefix = f"rma-test-{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(url)

    def delete_broker_keys() -> None:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)

    delete_broker_keys()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The in-process sweep and the tasks' own templates, should a test render here.
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "DIRS": [*settings.TEMPLATES[0]["DIRS"], Path(__file__).parent / "templates"],
        }
    ]
    saved = {
        key: celery_app.conf[key]
        for key in ("task_always_eager", "broker_url", "broker_transport_options")
    }
    switch = BrokerSwitch(celery_app)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_transport_options = {"global_keyprefix": prefix}
    switch.use(url)
    env = WorkerEnv(
        tmp=tmp_path,
        redis_url=url,
        key_prefix=prefix,
        database_url=database_url_of_this_process(),
        broker=switch,
    )
    try:
        yield env
    finally:
        env.stop_all()
        celery_app.conf.task_always_eager = saved["task_always_eager"]
        celery_app.conf.broker_transport_options = saved["broker_transport_options"]
        switch.use(saved["broker_url"])
        delete_broker_keys()
        client.close()

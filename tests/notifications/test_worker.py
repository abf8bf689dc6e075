"""The transactional outbox against a real Celery worker (a subprocess), a real Redis broker
and the real PostgreSQL test database: nothing eager, nothing mocked.

Each test starts its own worker (see conftest.py), waits for the events the worker reports
(started, task finished, inside a send) rather than for time, and stops (or kills) the
worker before the database is flushed. Where a test needs a race, it makes the race happen:
a gated e-mail backend holds a worker inside its send until the test lets it go.
"""

from __future__ import annotations

import datetime
import signal

import pytest
from django.db import transaction
from django.utils import timezone

from rma_portal.accounts.models import Role, User
from rma_portal.celery import app as celery_app
from rma_portal.notifications.models import DeliveryStatus, Notification
from rma_portal.notifications.services import notification_enqueue, outbox_due
from rma_portal.notifications.tasks import deliver_notification_task, sweep_outbox_task
from rma_portal.tenancy.context import tenant_context
from tests.factories import PASSWORD, TenantFactory, UserFactory

from .conftest import DEAD_BROKER, expire_lease, extend_lease, text_of

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

DELIVER = "notifications.deliver_notification_task"
SWEEP = "notifications.sweep_outbox_task"
PROBE = "tests.probe_tenant_scope"
LOG_FIELDS = {"ts", "level", "logger", "task", "task_id", "tenant", "outcome", "duration_ms"}
MICROSECOND = datetime.timedelta(microseconds=1)


@pytest.fixture
def tenant_a(transactional_db):
    return TenantFactory(name="Alpha Tools", slug="alpha-tools")


@pytest.fixture
def tenant_b(transactional_db):
    return TenantFactory(name="Beta Parts", slug="beta-parts")


@pytest.fixture
def recipient_a(tenant_a):
    return UserFactory(tenant=tenant_a, role=Role.CUSTOMER_USER, email="buyer@alpha.example")


def enqueue(tenant, recipient, label: str, *, key: str | None = None) -> Notification:
    """The test event `test.ping` (templates in tests/notifications/templates/emails/),
    queued as a service does it: in the caller's transaction, as the tenant in context."""
    with tenant_context(tenant):
        row = notification_enqueue(
            tenant=tenant,
            event="test.ping",
            recipient=recipient,
            context={"label": label},
            key=key or f"ping:{label}",
        )
    assert row is not None
    return row


def row_of(row: Notification) -> Notification:
    return Notification.unscoped.get(pk=row.pk)


def make_stale(row: Notification) -> None:
    """As if the row had waited past the sweep's grace period for its own enqueue."""
    Notification.unscoped.filter(pk=row.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=5)
    )


def due_notifications() -> list[tuple[int, int]]:
    return outbox_due()[0]


def assert_one_log_line_per_task(worker) -> None:
    """rma_portal.celery logs `task finished` once per task, with its structured fields."""
    received = sorted(worker.received_ids(DELIVER) + worker.received_ids(SWEEP))
    received += worker.received_ids(PROBE)
    lines = worker.log_lines()
    assert sorted(line["task_id"] for line in lines) == sorted(received), worker.log[-3000:]
    for line in lines:
        assert set(line) >= LOG_FIELDS, line
        assert line["logger"] == "rma_portal.tasks"
        assert line["duration_ms"].isdigit(), line
        assert line["outcome"], line


# --- 1. happy path ----------------------------------------------------------------------


def test_worker_delivers_a_committed_notification(worker_env, tenant_a, recipient_a):
    worker = worker_env.start_worker()

    with transaction.atomic():
        row = enqueue(tenant_a, recipient_a, "hello")
        assert row_of(row).status == DeliveryStatus.PENDING

    [finished] = worker_env.wait_finished(DELIVER, 1)
    assert finished["outcome"] == "sent"
    sent = row_of(row)
    assert sent.status == DeliveryStatus.SENT
    assert sent.attempts == 1
    assert sent.sent_at is not None
    assert sent.last_error == ""
    assert len(list(worker_env.mail_dir.iterdir())) == 1
    [mail] = worker_env.mails()
    assert mail["To"] == "buyer@alpha.example"
    assert mail["Subject"] == "[Alpha Tools] ping hello"
    assert mail["X-RMA-Notification"] == sent.idempotency_key
    assert "tenant=Alpha Tools" in text_of(mail)

    [line] = worker.log_lines(DELIVER)
    assert line["task_id"] == finished["task_id"]
    assert line["tenant"] == str(tenant_a.pk)
    assert line["outcome"] == "sent"
    assert worker.received_ids(DELIVER) == [line["task_id"]]
    assert_one_log_line_per_task(worker)


# --- 2. broker down while the state changes ---------------------------------------------


def test_broker_down_at_commit_keeps_the_row_for_the_sweep(
    worker_env, tenant_a, recipient_a, caplog
):
    worker = worker_env.start_worker()
    worker_env.broker.use(DEAD_BROKER)
    with (
        caplog.at_level("WARNING", logger="rma_portal.notifications.services"),
        transaction.atomic(),
    ):
        row = enqueue(tenant_a, recipient_a, "while-broker-down")
    worker_env.broker.use(worker_env.redis_url)

    # The commit went through; the enqueue failed and was only logged.
    assert row_of(row).status == DeliveryStatus.PENDING
    assert "outbox enqueue failed; the sweeper will retry" in caplog.text
    assert worker.received_ids(DELIVER) == []
    assert worker_env.mails() == []
    # Too fresh for the sweep (its own enqueue may still be on its way) …
    assert (row.pk, tenant_a.pk) not in due_notifications()
    make_stale(row)
    # … until it has waited past the grace period.
    assert (row.pk, tenant_a.pk) in due_notifications()

    sweep_outbox_task.delay()  # what beat sends every minute
    [delivery] = worker_env.wait_finished(DELIVER, 1)
    assert delivery["outcome"] == "sent"
    assert row_of(row).status == DeliveryStatus.SENT
    assert len(worker_env.mails()) == 1

    # A later sweep finds nothing left to do.
    sweep_outbox_task.delay()
    worker_env.wait_finished(SWEEP, 2, what="the second sweep")
    assert len(worker_env.finished(DELIVER)) == 1
    assert len(worker_env.mails()) == 1
    assert row_of(row).attempts == 1
    assert_one_log_line_per_task(worker)


# --- 3. worker killed in the middle of the send -----------------------------------------


def test_worker_killed_mid_delivery_sends_exactly_once(worker_env, tenant_a, recipient_a):
    # given a worker held inside the send (the gate is never opened for it)
    held = worker_env.start_worker(mail_gate=True)
    with transaction.atomic():
        row = enqueue(tenant_a, recipient_a, "interrupted")
    [sending] = worker_env.wait_sending()
    assert sending["worker"] == held.name
    assert sending["keys"] == [row.idempotency_key]
    [original_task_id] = held.received_ids(DELIVER)

    # when it is killed there
    held.kill()
    assert held.process.returncode == -signal.SIGKILL
    assert held.log_lines() == []
    killed = row_of(row)
    # the lease was committed before the send: the row stays `sending`, the attempt counted
    assert killed.status == DeliveryStatus.SENDING
    assert killed.attempts == 1
    assert worker_env.mails() == []
    # acks_late: the broker still holds the message as delivered and not acknowledged
    assert worker_env.unacked_task_ids() == [original_task_id]

    # then, once the lease has run out, the sweep hands the row to a new worker, which sends
    # it once …
    fresh = worker_env.start_worker()
    assert (row.pk, tenant_a.pk) not in outbox_due(now=killed.lease_until - MICROSECOND)[0]
    expire_lease(row)
    assert sweep_outbox_task() == 1  # the sweep, run here; it enqueues on the real broker
    [swept] = worker_env.wait_finished(DELIVER, 1, what="the swept delivery")
    assert swept["task_id"] != original_task_id
    assert swept["outcome"] == "sent"
    sent = row_of(row)
    assert sent.status == DeliveryStatus.SENT
    assert sent.attempts == 2  # the killed worker's attempt and this one

    # … and when the killed worker's message is handed out again (its visibility timeout
    # passes), the redelivery finds the row sent and sends nothing.
    worker_env.expire_visibility(original_task_id)
    redelivered = worker_env.wait_finished(DELIVER, 2, what="the redelivered message")[1]
    assert redelivered["task_id"] == original_task_id
    assert redelivered["worker"] == fresh.name
    assert redelivered["outcome"] == "done"
    assert row_of(row).attempts == 2
    assert len(worker_env.mails()) == 1
    assert_one_log_line_per_task(fresh)
    fresh.stop()  # a warm shutdown: every acknowledgement is sent before the process exits
    assert worker_env.unacked_task_ids() == []
    assert worker_env.queued_task_ids() == []


# --- 4. rolled back ---------------------------------------------------------------------


class Boom(Exception):
    pass


def test_rolled_back_transaction_sends_nothing(worker_env, tenant_a, recipient_a):
    worker = worker_env.start_worker()
    with pytest.raises(Boom), transaction.atomic():
        enqueue(tenant_a, recipient_a, "rolled-back")
        raise Boom

    assert not Notification.unscoped.exists()
    # A committed one afterwards: once the worker has sent it, it would have sent the other.
    with transaction.atomic():
        after = enqueue(tenant_a, recipient_a, "committed")
    [delivery] = worker_env.wait_finished(DELIVER, 1)
    assert delivery["outcome"] == "sent"
    assert row_of(after).status == DeliveryStatus.SENT

    assert [row.context["label"] for row in Notification.unscoped.all()] == ["committed"]
    assert [mail["Subject"] for mail in worker_env.mails()] == ["[Alpha Tools] ping committed"]
    assert len(worker.received_ids(DELIVER)) == 1


# --- 5. idempotency ---------------------------------------------------------------------


def test_the_same_delivery_twice_sends_one_mail(worker_env, tenant_a, recipient_a):
    worker = worker_env.start_worker()
    with transaction.atomic():
        row = enqueue(tenant_a, recipient_a, "once", key="same-key")
        assert enqueue(tenant_a, recipient_a, "twice", key="same-key").pk == row.pk
    # Duplicates, as a sweep racing the original enqueue or a redelivery would make them.
    deliver_notification_task.apply_async(args=[row.pk, tenant_a.pk])
    deliver_notification_task.apply_async(args=[row.pk, tenant_a.pk])

    deliveries = worker_env.wait_finished(DELIVER, 3)
    assert [event["outcome"] for event in deliveries] == ["sent", "done", "done"]
    assert [line["outcome"] for line in worker.log_lines(DELIVER)] == ["sent", "done", "done"]
    assert row_of(row).attempts == 1
    [mail] = worker_env.mails()
    assert mail["Subject"] == "[Alpha Tools] ping once"


def test_two_workers_delivering_the_same_row_send_one_mail(worker_env, tenant_a, recipient_a):
    # given one worker inside the send, holding the row's lease
    first = worker_env.start_worker(mail_gate=True)
    second = worker_env.start_worker(mail_gate=True)
    with transaction.atomic():
        row = enqueue(tenant_a, recipient_a, "contended")
    [sending] = worker_env.wait_sending()
    holder, other = (first, second) if sending["worker"] == first.name else (second, first)
    # (the lease holds whatever time the machine takes to get to the next delivery)
    extend_lease(row)

    # when the same row is delivered again (prefetch 1: only the idle worker can take it)
    deliver_notification_task.apply_async(args=[row.pk, tenant_a.pk])

    # then the lease: the other worker does not wait for the send, it leaves the row alone
    [skipped] = worker_env.wait_finished(DELIVER, 1, what="the contending delivery")
    assert (skipped["worker"], skipped["outcome"]) == (other.name, "busy")
    assert worker_env.mails() == []
    worker_env.open_gate()
    delivered = worker_env.wait_finished(DELIVER, 2, what="the held delivery")[1]
    assert (delivered["worker"], delivered["outcome"]) == (holder.name, "sent")
    assert len(worker_env.mails()) == 1
    assert row_of(row).attempts == 1


# --- 6. tenant context ------------------------------------------------------------------


def test_interleaved_tenants_never_see_each_other(worker_env, tenant_a, tenant_b):
    # A platform user gets notifications of both tenants: only the tenant in context decides
    # which of them `recipient.notifications.all` (a scoped manager) shows in each e-mail.
    platform = User.objects.create_superuser(email="ops@platform.example", password=PASSWORD)
    worker = worker_env.start_worker()
    tenants = {tenant_a.pk: tenant_a, tenant_b.pk: tenant_b}
    with transaction.atomic():
        rows = [
            enqueue(tenant, platform, f"{tenant.slug}-{number}")
            for number in range(3)
            for tenant in (tenant_a, tenant_b)
        ]
    # Right after the last tenant task, on the same worker process: no tenant must remain.
    celery_app.send_task(PROBE)

    deliveries = worker_env.wait_finished(DELIVER, 6)
    [probe] = worker_env.wait_finished(PROBE, 1)
    assert probe["outcome"] == "fail-closed", probe
    [probe_line] = worker.log_lines(PROBE)
    assert probe_line["tenant"] == ""
    assert all(row_of(row).status == DeliveryStatus.SENT for row in rows)

    deliveries = worker.log_lines(DELIVER)
    # The worker really interleaved them: A, B, A, B, A, B.
    assert [line["tenant"] for line in deliveries] == [str(row.tenant_id) for row in rows]
    assert [line["outcome"] for line in deliveries] == ["sent"] * 6

    mails = worker_env.mails()
    assert len(mails) == 6
    for mail in mails:
        row = Notification.unscoped.get(idempotency_key=mail["X-RMA-Notification"])
        tenant = tenants[row.tenant_id]
        text = text_of(mail)
        assert mail["Subject"] == f"[{tenant.name}] ping {row.context['label']}"
        assert f"tenant={tenant.name}\n" in text
        visible = text.split("visible=", 1)[1].split()[0].rstrip(";").split(";")
        assert sorted(visible) == sorted(
            f"{tenant.pk}:{tenant.slug}-{number}" for number in range(3)
        ), text
    assert_one_log_line_per_task(worker)

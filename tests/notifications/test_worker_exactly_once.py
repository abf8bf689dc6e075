"""What a delivery guarantees when a worker dies at each step of it, and when two deliveries
of one row meet (docs/architecture.md#outbox-and-workers).

A delivery leases the row (`sending`, committed), sends outside any transaction, then
commits `sent`. The worker tests kill a real worker at each point, held there by the
worker_support gates (nothing waits for time):

- (a) lease committed, nothing sent yet: no mail is lost, none is sent twice;
- (b) the server accepted the mail, `sent` not committed yet: the one window. The mail is
  sent again once the lease has run out, with the same Message-ID;
- (c) `sent` committed, the task's message not acknowledged yet: the redelivered message
  sends nothing.

Leases are run out by moving `lease_until` into the past (or, where a test needs the lease
to hold, a day ahead), never by waiting. The in-process tests below them check the lease
itself: two deliveries of one row at once never both send.
"""

from __future__ import annotations

import datetime
import smtplib
from contextlib import closing
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connections, transaction
from django.utils import timezone

from rma_portal.accounts.models import Role
from rma_portal.notifications import webhooks
from rma_portal.notifications.models import (
    DeliveryStatus,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
)
from rma_portal.notifications.services import (
    DELIVERY_LEASE,
    MAX_ATTEMPTS,
    notification_deliver,
    notification_enqueue,
    notification_message_id,
    outbox_due,
    webhook_deliver,
)
from rma_portal.notifications.tasks import (
    deliver_notification_task,
    deliver_webhook_task,
    sweep_outbox_task,
)
from rma_portal.tenancy.context import tenant_context
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory, UserFactory

from .conftest import expire_lease, extend_lease

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DELIVER = "notifications.deliver_notification_task"
MICROSECOND = datetime.timedelta(microseconds=1)
TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture
def tenant(transactional_db):
    return TenantFactory(name="Alpha Tools", slug="alpha-tools")


@pytest.fixture
def recipient(tenant):
    return UserFactory(tenant=tenant, role=Role.CUSTOMER_USER, email="buyer@alpha.example")


def enqueue(tenant, recipient, label: str) -> Notification:
    """The test event `test.ping`, queued as a service does it (in a committed transaction)."""
    with transaction.atomic(), tenant_context(tenant):
        row = notification_enqueue(
            tenant=tenant,
            event="test.ping",
            recipient=recipient,
            context={"label": label},
            key=f"ping:{label}",
        )
    assert row is not None
    return row


def message_id(mail_) -> str:
    """A mail's Message-ID as a mail store compares it: unfolded (a long header may be
    folded onto a second line)."""
    return "".join(mail_["Message-ID"].split())


def row_of(row):
    return type(row).unscoped.get(pk=row.pk)


def due(row) -> bool:
    """Whether the outbox sweep would hand `row` out now."""
    notifications, deliveries = outbox_due()
    return (row.pk, row.tenant_id) in (
        notifications if isinstance(row, Notification) else deliveries
    )


def locked_elsewhere(row) -> bool:
    """Whether a transaction holds the row's lock: tried on a connection of its own, without
    waiting (SKIP LOCKED finds no row when another transaction holds it)."""
    table = row._meta.db_table
    with closing(connections.create_connection("default")) as other, other.cursor() as cursor:
        cursor.execute("BEGIN")
        query = f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED"  # noqa: S608
        cursor.execute(query, [row.pk])
        free = cursor.fetchone() is not None
        cursor.execute("ROLLBACK")
    return not free


# --- worker killed at each step of a delivery -------------------------------------------


@pytest.mark.integration
def test_a_killed_after_the_lease_before_the_send(worker_env, tenant, recipient):
    # given a worker whose delivery has committed its lease and is held before the send
    held = worker_env.start_worker(mail_gate=True, gate_at="before")
    row = enqueue(tenant, recipient, "before-send")
    [sending] = worker_env.wait_sending()
    assert sending["keys"] == [row.idempotency_key]
    leased = row_of(row)
    assert (leased.status, leased.attempts) == (DeliveryStatus.SENDING, 1)
    assert not locked_elsewhere(row)  # the send holds no row lock and no transaction
    [attempted_id] = sending["message_ids"]
    assert attempted_id == notification_message_id(leased)

    # when it is killed there
    held.kill()

    # then nothing was sent, and the row stays leased: a delivery while the lease holds
    # (the killed worker's requeued message, say) leaves it alone
    assert worker_env.mails() == []
    assert row_of(row).status == DeliveryStatus.SENDING
    fresh = worker_env.start_worker()
    extend_lease(row)
    assert not due(row)
    deliver_notification_task.apply_async(args=[row.pk, tenant.pk])
    [busy] = worker_env.wait_finished(DELIVER, 1, what="a delivery under the lease")
    assert (busy["worker"], busy["outcome"]) == (fresh.name, "busy")
    assert worker_env.mails() == []
    assert row_of(row).attempts == 1

    # and once the lease has run out the sweep completes the delivery: one mail in all
    expire_lease(row)
    assert due(row)
    assert sweep_outbox_task() == 1
    swept = worker_env.wait_finished(DELIVER, 2, what="the swept delivery")[1]
    assert swept["outcome"] == "sent"
    sent = row_of(row)
    assert (sent.status, sent.attempts, sent.lease_until) == (DeliveryStatus.SENT, 2, None)
    [mail_] = worker_env.mails()
    assert message_id(mail_) == attempted_id
    assert mail_["X-RMA-Notification"] == row.idempotency_key
    assert not due(row)


@pytest.mark.integration
def test_b_killed_after_the_server_accepted_before_sent_committed(worker_env, tenant, recipient):
    # given a worker held right after the server accepted the mail, before it commits `sent`
    held = worker_env.start_worker(mail_gate=True, gate_at="after")
    row = enqueue(tenant, recipient, "after-send")
    [accepted] = worker_env.wait_events("sent-to-server")
    assert accepted["worker"] == held.name
    assert accepted["keys"] == [row.idempotency_key]

    # when it is killed there
    held.kill()

    # then the mail is out, and the row is still `sending` under the dead worker's lease
    [first] = worker_env.mails()
    killed = row_of(row)
    assert (killed.status, killed.attempts) == (DeliveryStatus.SENDING, 1)
    assert killed.sent_at is None
    # the sweep leaves it alone until the lease has run out …
    assert (row.pk, tenant.pk) not in outbox_due(now=killed.lease_until - MICROSECOND)[0]
    assert (row.pk, tenant.pk) in outbox_due(now=killed.lease_until)[0]

    # … and then completes the delivery
    worker_env.start_worker()
    expire_lease(row)
    assert sweep_outbox_task() == 1
    [swept] = worker_env.wait_finished(DELIVER, 1, what="the swept delivery")
    assert swept["outcome"] == "sent"
    sent = row_of(row)
    assert (sent.status, sent.attempts, sent.lease_until) == (DeliveryStatus.SENT, 2, None)
    assert not due(row)

    # the one window: exactly one duplicate, the same message under the same Message-ID, so
    # a mail store that drops a Message-ID it holds keeps one
    first_again, second = worker_env.mails()
    assert message_id(first_again) == message_id(first)
    assert message_id(second) == message_id(first) == accepted["message_ids"][0]
    assert message_id(first) == notification_message_id(sent)
    for header in ("To", "From", "Subject", "X-RMA-Notification"):
        assert second[header] == first[header], header


@pytest.mark.integration
def test_c_killed_after_sent_committed_before_the_acknowledgement(worker_env, tenant, recipient):
    # given a worker whose delivery committed `sent` and is held before acknowledging
    held = worker_env.start_worker(hold_after=DELIVER)
    row = enqueue(tenant, recipient, "before-ack")
    [holding] = worker_env.wait_events("holding")
    assert holding["worker"] == held.name
    [finished] = worker_env.finished(DELIVER)
    assert (finished["task_id"], finished["outcome"]) == (holding["task_id"], "sent")
    assert worker_env.unacked_task_ids() == [holding["task_id"]]

    # when it is killed there
    held.kill()

    # then the row is sent, once, and nothing is left for the sweep, even past any lease
    sent = row_of(row)
    assert (sent.status, sent.attempts, sent.lease_until) == (DeliveryStatus.SENT, 1, None)
    [mail_] = worker_env.mails()
    assert message_id(mail_) == notification_message_id(sent)
    later = timezone.now() + 2 * DELIVERY_LEASE
    assert (row.pk, tenant.pk) not in outbox_due(now=later)[0]
    assert sweep_outbox_task() == 0

    # and the unacknowledged message, handed out again, finds the row sent and sends nothing
    fresh = worker_env.start_worker()
    worker_env.expire_visibility(holding["task_id"])
    redelivered = worker_env.wait_finished(DELIVER, 2, what="the redelivered message")[1]
    assert (redelivered["task_id"], redelivered["worker"]) == (holding["task_id"], fresh.name)
    assert redelivered["outcome"] == "done"
    assert len(worker_env.mails()) == 1
    assert row_of(row).attempts == 1


# --- the lease, in process --------------------------------------------------------------


class HookedBackend(locmem.EmailBackend):
    """The test mail box (mail.outbox), running `HookedBackend.hook` once inside the next
    send, before the message counts as accepted: what happens while a send is under way."""

    hook = None
    seen: list = []

    def send_messages(self, messages):
        HookedBackend.seen.extend(message_id(m.message()) for m in messages)
        hook, HookedBackend.hook = HookedBackend.hook, None
        if hook is not None:
            hook()
        return super().send_messages(messages)


@pytest.fixture
def hooked(settings):
    settings.EMAIL_BACKEND = f"{__name__}.HookedBackend"
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEMPLATES]}
    ]
    HookedBackend.hook, HookedBackend.seen = None, []
    yield HookedBackend
    HookedBackend.hook, HookedBackend.seen = None, []


def pending_notification(tenant, recipient, label: str = "one") -> Notification:
    return Notification.unscoped.create(
        tenant=tenant,
        event="test.ping",
        idempotency_key=f"ping:{label}:{recipient.pk}",
        recipient=recipient,
        email=recipient.email,
        language="en",
        context={"label": label},
    )


def deliver(tenant, row, **kwargs):
    with tenant_context(tenant):
        if isinstance(row, Notification):
            return notification_deliver(notification_id=row.pk, **kwargs)
        return webhook_deliver(delivery_id=row.pk, **kwargs)


def elsewhere(tenant, row):
    """Deliver `row` in another thread on another database connection, as a second worker
    would, now; returns its result and the row as that connection saw it before."""
    [(kind, value)] = run_concurrently(tenant, [lambda: (row_of(row), deliver(tenant, row))])
    assert kind == "ok", value
    return value


def test_a_delivery_while_another_is_sending_is_busy_and_sends_nothing(tenant, recipient, hooked):
    row = pending_notification(tenant, recipient)
    during = []
    hooked.hook = lambda: during.append(elsewhere(tenant, row))

    result = deliver(tenant, row)

    [(seen, other)] = during
    assert (seen.status, seen.attempts) == (DeliveryStatus.SENDING, 1)
    assert seen.lease_until is not None
    assert other.outcome == "busy"
    assert result.outcome == "sent"
    assert len(mail.outbox) == 1
    sent = row_of(row)
    assert (sent.status, sent.attempts, sent.lease_until) == (DeliveryStatus.SENT, 1, None)


def test_two_deliveries_of_one_row_at_once_send_one_mail(tenant, recipient, hooked):
    row = pending_notification(tenant, recipient)

    outcomes = run_concurrently(tenant, [lambda: deliver(tenant, row)] * 2)

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    results = sorted(result.outcome for _, result in outcomes)
    # which one loses depends on when it looks: under the lease (busy) or after (done)
    assert results in (["busy", "sent"], ["done", "sent"])
    assert len(mail.outbox) == 1
    assert row_of(row).attempts == 1


def test_a_send_that_outlives_its_lease_is_taken_over_and_the_row_ends_sent(
    tenant, recipient, hooked
):
    # given a send still under way when its lease has run out, and a delivery taking over
    row = pending_notification(tenant, recipient)
    during = []

    def lease_runs_out() -> None:
        expire_lease(row)
        during.append(elsewhere(tenant, row))

    hooked.hook = lease_runs_out

    # when both sends finish
    result = deliver(tenant, row)

    # then both went out, as the same message, and the late one leaves the row sent
    [(_, takeover)] = during
    assert (takeover.outcome, result.outcome) == ("sent", "sent")
    assert len(mail.outbox) == 2
    assert len(set(hooked.seen)) == 1
    sent = row_of(row)
    assert (sent.status, sent.attempts, sent.lease_until) == (DeliveryStatus.SENT, 2, None)


def test_a_failure_after_losing_the_lease_records_nothing(tenant, recipient, hooked):
    row = pending_notification(tenant, recipient)
    during = []

    def lease_runs_out_then_the_send_fails() -> None:
        expire_lease(row)
        during.append(elsewhere(tenant, row))
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    hooked.hook = lease_runs_out_then_the_send_fails

    result = deliver(tenant, row)

    assert [other.outcome for _, other in during] == ["sent"]
    assert result.outcome == "busy"  # the row was another delivery's by then
    sent = row_of(row)
    assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.SENT, 2, "")


def test_a_failed_send_frees_the_row_and_the_retry_has_the_same_message_id(
    tenant, recipient, hooked
):
    row = pending_notification(tenant, recipient)
    now = timezone.now()

    def refused() -> None:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    hooked.hook = refused
    first = deliver(tenant, row, now=now)

    assert (first.outcome, first.retry_in) == ("retry", 30)
    failed = row_of(row)
    assert (failed.status, failed.attempts, failed.lease_until) == (DeliveryStatus.PENDING, 1, None)
    assert failed.next_attempt_at == now + datetime.timedelta(seconds=30)
    assert failed.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert mail.outbox == []

    second = deliver(tenant, row, now=failed.next_attempt_at)

    assert second.outcome == "sent"
    assert row_of(row).attempts == 2
    [sent] = mail.outbox
    refused_id, sent_id = hooked.seen
    assert refused_id == sent_id == message_id(sent.message()) == notification_message_id(row)


def test_a_lease_that_ran_out_on_the_last_attempt_fails_the_row(tenant, recipient, hooked):
    row = pending_notification(tenant, recipient)
    Notification.unscoped.filter(pk=row.pk).update(
        status=DeliveryStatus.SENDING,
        attempts=MAX_ATTEMPTS,
        lease_until=timezone.now() - MICROSECOND,
    )
    assert due(row)

    assert deliver(tenant, row).outcome == "failed"

    failed = row_of(row)
    assert (failed.status, failed.lease_until) == (DeliveryStatus.FAILED, None)
    assert "lease ran out" in failed.last_error
    assert mail.outbox == []
    assert not due(row)


def test_the_sweep_takes_rows_whose_lease_ran_out_and_only_those(tenant, recipient):
    now = timezone.now()
    leased = pending_notification(tenant, recipient, "leased")
    Notification.unscoped.filter(pk=leased.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, lease_until=now + DELIVERY_LEASE
    )
    sent = pending_notification(tenant, recipient, "sent")
    Notification.unscoped.filter(pk=sent.pk).update(status=DeliveryStatus.SENT, attempts=1)

    def swept(at) -> set[int]:
        return {pk for pk, _ in outbox_due(now=at)[0]}

    assert swept(now + DELIVERY_LEASE - MICROSECOND) == set()
    assert swept(now + DELIVERY_LEASE) == {leased.pk}
    assert swept(now + 100 * DELIVERY_LEASE) == {leased.pk}


def test_the_message_id_is_derived_from_the_notification(tenant, recipient, settings):
    settings.DEFAULT_FROM_EMAIL = "Alpha Returns <returns@mail.alpha.example>"
    one = pending_notification(tenant, recipient, "one")
    other = pending_notification(tenant, recipient, "other")

    one_id = notification_message_id(one)
    assert one_id.startswith("<notification-")
    assert one_id.endswith("@mail.alpha.example>")
    assert notification_message_id(row_of(one)) == one_id
    assert notification_message_id(other) != one_id

    settings.DEFAULT_FROM_EMAIL = "returns"  # no domain: SITE_URL's host instead
    settings.SITE_URL = "https://rma.alpha.example/portal"
    assert notification_message_id(one).endswith("@rma.alpha.example>")


def test_the_lease_outlasts_the_delivery_tasks_hard_time_limit(settings):
    # A send still running is killed by its time limit before its lease runs out, so a
    # delivery never takes over a row whose worker is alive.
    for task in (deliver_notification_task, deliver_webhook_task):
        limit = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        assert datetime.timedelta(seconds=limit) < DELIVERY_LEASE, task.name


# --- webhooks: the same lease, the same X-Delivery on every attempt ----------------------


@pytest.fixture
def delivery(tenant):
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=tenant, url="https://hooks.alpha.example/rma", secret="s" * 32
    )
    return WebhookDelivery.unscoped.create(
        tenant=tenant,
        endpoint=endpoint,
        event="return.approved",
        idempotency_key=f"return.approved:1:{endpoint.pk}",
        payload={"event": "return.approved"},
    )


@pytest.fixture
def posts(monkeypatch):
    """Stands in for the receiver: records each POST's X-Delivery, answers 200, and runs
    `posts.hook` once inside the next POST."""

    class Posts(list):
        hook = None

    made = Posts()

    def post(url, *, secret, event, delivery_key, payload, old_secrets=()) -> int:
        made.append(delivery_key)
        hook, made.hook = made.hook, None
        if hook is not None:
            hook()
        return 200

    monkeypatch.setattr(webhooks, "post", post)
    return made


def test_a_webhook_delivery_while_another_is_posting_is_busy(tenant, delivery, posts):
    during = []
    posts.hook = lambda: during.append(elsewhere(tenant, delivery))

    result = deliver(tenant, delivery)

    [(seen, other)] = during
    assert (seen.status, seen.attempts) == (DeliveryStatus.SENDING, 1)
    assert (other.outcome, result.outcome) == ("busy", "sent")
    assert posts == [delivery.idempotency_key]
    sent = row_of(delivery)
    assert (sent.status, sent.attempts, sent.last_status_code) == (DeliveryStatus.SENT, 1, 200)
    assert sent.lease_until is None


class WorkerDied(BaseException):
    """Stands in for the worker process dying mid-send: nothing in a delivery catches it."""


def test_a_webhook_whose_worker_died_after_the_post_is_posted_again_as_the_same_delivery(
    tenant, delivery, posts
):
    # given a worker that died after the receiver got the POST, before it committed `sent`
    def dies() -> None:
        raise WorkerDied

    posts.hook = dies
    with pytest.raises(WorkerDied):
        deliver(tenant, delivery)
    left = row_of(delivery)
    assert (left.status, left.attempts) == (DeliveryStatus.SENDING, 1)
    extend_lease(delivery)
    assert deliver(tenant, delivery).outcome == "busy"  # while the lease holds
    assert not due(delivery)

    # when its lease has run out
    expire_lease(delivery)
    assert due(delivery)

    # then the sweep's delivery posts it again, as the same delivery (receivers deduplicate
    # on X-Delivery)
    assert deliver(tenant, delivery).outcome == "sent"
    assert posts == [delivery.idempotency_key] * 2
    sent = row_of(delivery)
    assert (sent.status, sent.attempts, sent.lease_until) == (DeliveryStatus.SENT, 2, None)

"""Webhooks end to end against a real HTTP receiver on 127.0.0.1: what is published, signed,
retried, refused, and which tenant's endpoint hears what."""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from returns import services as return_services
from returns.models import ReturnRequest, ReturnStatus
from rma_portal.notifications import webhooks
from rma_portal.notifications.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from rma_portal.notifications.services import MAX_ATTEMPTS, webhook_deliver
from rma_portal.notifications.tasks import deliver_webhook_task
from rma_portal.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db

SECRET = "test-signing-secret"


class Receiver:
    """An HTTP server in a thread that records each POST and answers with the next status
    of `statuses` (200 once they run out)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rma?source=test"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def private_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def receiver():
    made = []

    def _make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield _make
    for server in made:
        server.close()


def endpoint_for(world, url: str, **kwargs) -> WebhookEndpoint:
    return WebhookEndpoint.unscoped.create(tenant=world.tenant, url=url, secret=SECRET, **kwargs)


def submitted_return(world, number: str = "RMA-TEST-1") -> ReturnRequest:
    return ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=number,
        customer_account=world.company,
        requester=world.customer,
        status=ReturnStatus.SUBMITTED,
    )


def reject(world, rma) -> ReturnRequest:
    with tenant_context(world.tenant):
        return return_services.return_request_reject(
            return_request=rma, actor=world.agent, reason="Not bought from us."
        )


def deliver(world, delivery, *, now=None):
    with tenant_context(world.tenant):
        return webhook_deliver(delivery_id=delivery.pk, now=now)


def test_a_return_transition_posts_a_signed_json_event(
    world_a, private_allowed, receiver, django_capture_on_commit_callbacks
):
    # given
    hook = receiver()
    endpoint = endpoint_for(world_a, hook.url)
    rma = submitted_return(world_a)
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        reject(world_a, rma)
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    assert len(callbacks) >= 1  # the delivery is enqueued only after the commit
    outcome = deliver_webhook_task.apply(args=[delivery.pk, world_a.tenant.pk]).get()
    # then
    assert outcome == "sent"
    (request,) = hook.requests
    headers, body = request["headers"], request["body"]
    assert webhooks.verify(SECRET, headers["X-Signature"], body)
    assert not webhooks.verify("another-secret", headers["X-Signature"], body)
    assert not webhooks.verify(
        SECRET, headers["X-Signature"], body.replace(b"rejected", b"approved")
    )
    payload = json.loads(body)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Event"] == payload["type"] == "return.rejected"
    assert payload["data"]["return"]["number"] == "RMA-TEST-1"
    event = payload["data"]["event"]
    assert (event["from_status"], event["to_status"]) == ("submitted", "rejected")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 200)
    # Delivering again (a duplicate task, the sweep) posts nothing more.
    assert deliver(world_a, delivery).outcome == "done"
    assert len(hook.requests) == 1


def test_a_receiver_failing_twice_gets_three_attempts_and_the_row_ends_sent(
    world_a, private_allowed, receiver
):
    hook = receiver(statuses=[500, 500, 200])
    endpoint = endpoint_for(world_a, hook.url)
    reject(world_a, submitted_return(world_a))
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    now = timezone.now()

    first = deliver(world_a, delivery, now=now)
    delivery.refresh_from_db()
    assert first.outcome == "retry"
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    assert delivery.next_attempt_at > now  # backoff: the sweep does not pick it up at once

    assert deliver(world_a, delivery, now=delivery.next_attempt_at).outcome == "retry"
    delivery.refresh_from_db()
    assert deliver(world_a, delivery, now=delivery.next_attempt_at).outcome == "sent"

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 3, 200)
    assert delivery.last_error == ""
    assert len(hook.requests) == 3
    # Every attempt is the same delivery (receivers deduplicate on X-Delivery), each signed.
    assert len({r["headers"]["X-Delivery"] for r in hook.requests}) == 1
    assert all(
        webhooks.verify(SECRET, r["headers"]["X-Signature"], r["body"]) for r in hook.requests
    )


def test_after_the_last_attempt_the_row_is_failed_and_shown_in_the_backoffice(
    world_a, private_allowed, receiver, login
):
    hook = receiver(statuses=[503] * MAX_ATTEMPTS)
    endpoint = endpoint_for(world_a, hook.url)
    reject(world_a, submitted_return(world_a))
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    now = timezone.now()
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        outcomes.append(deliver(world_a, delivery, now=now).outcome)
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "failed",
        MAX_ATTEMPTS,
        503,
    )
    # Nothing sends a failed row on its own any more.
    assert deliver(world_a, delivery).outcome == "done"
    assert len(hook.requests) == MAX_ATTEMPTS

    client = login(world_a.agent)
    url = reverse("admin:notifications_webhookdelivery_changelist")
    response = client.get(url, {"status__exact": "failed"})
    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [delivery.pk]
    assert "HTTP 503" in response.content.decode()


def test_loopback_is_refused_when_private_addresses_are_not_allowed(world_a, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    hook = receiver()
    endpoint = endpoint_for(world_a, hook.url)
    reject(world_a, submitted_return(world_a))
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)

    result = deliver(world_a, delivery)

    delivery.refresh_from_db()
    assert result.outcome == "retry"
    assert "private, loopback or reserved" in delivery.last_error
    assert delivery.attempts == 1
    assert delivery.last_status_code is None
    assert hook.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://localhost:99999/hook",
        "http://127.0.0.1/hook",
        "http://10.0.0.8/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_check_url_refuses_other_schemes_and_inner_addresses(url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(webhooks.ValidationError):
        webhooks.check_url(url)


def test_a_rolled_back_transition_creates_no_delivery(
    world_a, private_allowed, django_capture_on_commit_callbacks
):
    endpoint_for(world_a, "http://127.0.0.1:9/hook")
    rma = submitted_return(world_a)

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        reject(world_a, rma)
        raise RuntimeError("the caller's later step failed")

    assert not WebhookDelivery.unscoped.exists()
    assert callbacks == []
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.SUBMITTED


def test_internal_events_publish_nothing(world_a, private_allowed):
    endpoint_for(world_a, "http://127.0.0.1:9/hook")
    rma = submitted_return(world_a)
    with tenant_context(world_a.tenant):
        return_services.return_request_assign(
            return_request=rma, actor=world_a.agent, assignee=world_a.agent
        )
        return_services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="Call the carrier.", is_public=False
        )
    assert not WebhookDelivery.unscoped.exists()

    with tenant_context(world_a.tenant):
        return_services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="We are on it.", is_public=True
        )
    assert list(WebhookDelivery.unscoped.values_list("event", flat=True)) == ["return.comment"]


def test_an_endpoint_gets_only_the_events_it_subscribed_to(world_a, private_allowed):
    endpoint_for(world_a, "http://127.0.0.1:9/approved", event_types=["return.approved"])
    everything = endpoint_for(world_a, "http://127.0.0.1:9/all")
    endpoint_for(world_a, "http://127.0.0.1:9/off", is_active=False)

    reject(world_a, submitted_return(world_a))

    assert list(WebhookDelivery.unscoped.values_list("endpoint", flat=True)) == [everything.pk]


def test_a_tenants_endpoint_never_receives_another_tenants_events(
    world_a, world_b, private_allowed, receiver
):
    # given: both tenants have an endpoint for every event
    hook_a, hook_b = receiver(), receiver()
    endpoint_a = endpoint_for(world_a, hook_a.url)
    endpoint_b = endpoint_for(world_b, hook_b.url)
    # when: only tenant B's return changes
    reject(world_b, submitted_return(world_b, number="RMA-B-1"))
    for delivery in WebhookDelivery.unscoped.all():
        deliver(world_b, delivery)
    # then
    assert not WebhookDelivery.unscoped.filter(endpoint=endpoint_a).exists()
    assert WebhookDelivery.unscoped.get(endpoint=endpoint_b).tenant == world_b.tenant
    assert hook_a.requests == []
    (request,) = hook_b.requests
    assert json.loads(request["body"])["data"]["return"]["number"] == "RMA-B-1"
    # A's context cannot even load B's delivery (the scoped manager hides it).
    delivery_b = WebhookDelivery.unscoped.get(endpoint=endpoint_b)
    with tenant_context(world_a.tenant):
        assert webhook_deliver(delivery_id=delivery_b.pk).outcome == "busy"


def test_verify_refuses_old_or_malformed_signatures():
    body = b'{"event":"return.closed"}'
    old = int(timezone.now().timestamp()) - 3600
    assert not webhooks.verify(SECRET, webhooks.sign(SECRET, old, body), body)
    assert webhooks.verify(
        SECRET, webhooks.sign(SECRET, old, body), body, tolerance=4000
    )  # within a tolerance the receiver chose
    for header in ("", "t=abc,v1=00", "v1=00", "garbage", "t=1,v1=ż"):
        assert not webhooks.verify(SECRET, header, body)


def test_a_redirect_counts_as_a_failed_attempt(world_a, private_allowed, receiver):
    hook = receiver(statuses=[302])
    endpoint = endpoint_for(world_a, hook.url)
    reject(world_a, submitted_return(world_a))
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)

    assert deliver(world_a, delivery).outcome == "retry"

    delivery.refresh_from_db()
    assert (delivery.last_status_code, delivery.status) == (302, DeliveryStatus.PENDING)
    assert len(hook.requests) == 1


def test_a_receiver_that_is_down_is_recorded_and_retried(world_a, private_allowed, receiver):
    hook = receiver()
    url = hook.url
    hook.close()  # nothing listens on that port any more
    endpoint = endpoint_for(world_a, url)
    reject(world_a, submitted_return(world_a))
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)

    result = deliver(world_a, delivery, now=timezone.now())

    delivery.refresh_from_db()
    assert result.outcome == "retry"
    assert delivery.attempts == 1
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + datetime.timedelta(seconds=20)

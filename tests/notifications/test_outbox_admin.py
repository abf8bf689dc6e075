"""Back-office of the outbox: failed e-mails and webhook calls shown to the tenant's staff only,
"retry" for tenant admins, and the webhook endpoint editor (URL check, generated secret)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.admin import helpers
from django.core import mail
from django.urls import reverse

from returns.services.resolution import DOCUMENT_CONFIRMED
from rma_portal.notifications import catalogue
from rma_portal.notifications.models import (
    DeliveryStatus,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def login_as(client, login):
    """Sign in as `user`, signing out whoever was signed in (the login page would otherwise
    just redirect the signed-in user)."""

    def _login_as(user):
        client.logout()
        return login(user)

    return _login_as


ROOT = Path(__file__).resolve().parents[2]


def failed_notification(world, *, key: str = "1") -> Notification:
    return Notification.unscoped.create(
        tenant=world.tenant,
        event="complaint.sla_breached",
        idempotency_key=f"complaint-sla:test:{key}",
        recipient=world.coordinator,
        email=world.coordinator.email,
        language="en",
        context={
            "complaint_id": 1,
            "code": "CMP-2026-000001",
            "subject": "Late pallet",
            "customer_name": "Buyer",
            "status": "new",
            "priority": "normal",
            "first_response_due_at": "2026-11-17 09:00",
            "resolution_due_at": "2026-11-23 09:00",
            "time_zone": "Europe/Warsaw",
            "url": "http://testserver/backoffice/",
            "clock": "first_response",
            "due_at": "2026-11-17 09:00",
            "due_at_iso": "2026-11-17T08:00:00+00:00",
        },
        status=DeliveryStatus.FAILED,
        attempts=6,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )


def changelist(model) -> str:
    return reverse(f"admin:notifications_{model._meta.model_name}_changelist")


def change(model, pk) -> str:
    return reverse(f"admin:notifications_{model._meta.model_name}_change", args=[pk])


def retry(client, model, *rows):
    return client.post(
        changelist(model),
        {"action": "retry_failed", helpers.ACTION_CHECKBOX_NAME: [row.pk for row in rows]},
    )


def test_a_failed_email_is_shown_to_the_tenants_staff_and_not_to_another_tenant(
    world_a, world_b, login_as
):
    row = failed_notification(world_a)

    client = login_as(world_a.agent)
    response = client.get(changelist(Notification), {"status__exact": "failed"})
    assert [r.pk for r in response.context["cl"].result_list] == [row.pk]
    assert "SMTPServerDisconnected" in response.content.decode()
    assert client.get(change(Notification, row.pk)).status_code == 200

    client = login_as(world_b.tenant_admin)
    assert list(client.get(changelist(Notification)).context["cl"].result_list) == []
    assert client.get(change(Notification, row.pk)).status_code == 404
    retry(client, Notification, row)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED  # another tenant's admin cannot retry it


def test_retry_makes_a_failed_email_pending_again_and_sends_it(
    world_a, login_as, django_capture_on_commit_callbacks
):
    row = failed_notification(world_a)
    client = login_as(world_a.tenant_admin)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = retry(client, Notification, row)

    assert response.status_code == 302
    assert len(callbacks) == 1  # the delivery task, enqueued after the commit
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    assert row.attempts == 1
    (message,) = mail.outbox
    assert message.to == [world_a.coordinator.email]
    assert "CMP-2026-000001" in message.subject + message.body


def test_retry_resets_the_row_to_pending_with_fresh_attempts(
    world_a, login_as, django_capture_on_commit_callbacks
):
    row = failed_notification(world_a)
    sent = failed_notification(world_a, key="2")
    Notification.unscoped.filter(pk=sent.pk).update(status=DeliveryStatus.SENT)

    with django_capture_on_commit_callbacks() as callbacks:
        response = retry(login_as(world_a.tenant_admin), Notification, row, sent)

    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
    assert Notification.unscoped.get(pk=sent.pk).status == DeliveryStatus.SENT
    assert len(callbacks) == 1


def test_agents_see_the_log_but_cannot_retry(world_a, login_as):
    row = failed_notification(world_a)
    client = login_as(world_a.agent)

    page = client.get(changelist(Notification))
    assert "retry_failed" not in page.content.decode()
    retry(client, Notification, row)

    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED


def test_a_failed_webhook_delivery_is_retried_by_the_tenant_admin(
    world_a, world_b, login_as, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant, url="https://hooks.example.com/rma", secret="s"
    )
    delivery = WebhookDelivery.unscoped.create(
        tenant=world_a.tenant,
        endpoint=endpoint,
        event="return.closed",
        idempotency_key="return-event:1:1",
        payload={"event": "return.closed"},
        status=DeliveryStatus.FAILED,
        attempts=6,
        last_status_code=500,
        last_error="HTTP 500",
    )
    assert (
        login_as(world_b.tenant_admin).get(change(WebhookDelivery, delivery.pk)).status_code == 404
    )

    with django_capture_on_commit_callbacks() as callbacks:
        retry(login_as(world_a.tenant_admin), WebhookDelivery, delivery)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert len(callbacks) == 1


# --- endpoints --------------------------------------------------------------------------


def endpoint_form(url: str, *events: str) -> dict:
    return {"url": url, "event_types": list(events), "is_active": "on"}


def test_tenant_admin_adds_an_endpoint_with_a_generated_secret(
    world_a, world_b, login_as, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    client = login_as(world_a.tenant_admin)
    add = reverse("admin:notifications_webhookendpoint_add")

    response = client.post(
        add,
        {
            **endpoint_form("http://127.0.0.1:8080/hook", "return.approved", "complaint.filed"),
            "tenant": world_b.tenant.pk,  # tampering: ignored
            "secret": "chosen-by-me",  # not a field: ignored
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = WebhookEndpoint.unscoped.get()
    assert endpoint.tenant == world_a.tenant
    assert endpoint.event_types == ["return.approved", "complaint.filed"]
    assert len(endpoint.secret) >= 40
    assert endpoint.secret != "chosen-by-me"
    page = client.get(change(WebhookEndpoint, endpoint.pk)).content.decode()
    assert endpoint.secret in page  # shown to those who configure the receiver
    # Others of the staff see the endpoint but not its secret, and cannot change it.
    agent = login_as(world_a.agent)
    page = agent.get(change(WebhookEndpoint, endpoint.pk))
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()
    assert (
        agent.post(
            change(WebhookEndpoint, endpoint.pk), endpoint_form("http://x.example")
        ).status_code
        == 403
    )
    assert agent.get(add).status_code == 403


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.com/hook", "Use an http:// or https:// address."),
        ("http://127.0.0.1:8080/hook", "private, loopback or reserved"),
        ("http://192.168.1.10/hook", "private, loopback or reserved"),
    ],
)
def test_an_endpoint_url_that_is_not_public_http_is_a_form_error(
    world_a, login_as, settings, url, message
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    client = login_as(world_a.tenant_admin)

    response = client.post(reverse("admin:notifications_webhookendpoint_add"), endpoint_form(url))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors["url"])
    assert not WebhookEndpoint.unscoped.exists()


def test_every_public_event_the_services_write_can_be_subscribed_to():
    """The checkbox list offers the catalogue's events, which the domain apps register; this
    fails when a service starts writing an event the catalogue does not have."""
    offered = {name for name, _label in catalogue.event_choices()}
    sources = {
        "return": [ROOT / "returns/services/transitions.py"],
        "complaint": [ROOT / "complaints/services/complaints.py"],
    }
    # written with is_public=False
    internal = {"return.assigned", "return.approval_requested", "complaint.assigned"}
    written = {
        f"{prefix}.{action}"
        for prefix, paths in sources.items()
        for path in paths
        for action in re.findall(r'action="([a-z_]+)"', path.read_text())
    }
    assert len(written) > 15  # the pattern still finds the services' events
    assert written - internal <= offered, sorted(written - internal - offered)
    # The ERP's confirmations of a resolution's documents (returns/services/resolution.py).
    confirmed = {f"return.{action}" for action in DOCUMENT_CONFIRMED.values()}
    assert confirmed == {"return.credit_note_confirmed", "return.replacement_order_confirmed"}
    assert confirmed <= offered

"""The audit log of webhook endpoints: adding, changing, turning off, deleting and rotating
the secret of an endpoint, through the API (as a user or as an API key) and the back-office,
each write one row naming who did it and what changed, never a secret, and with what may be
a credential in the URL masked."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from rest_framework.test import APIClient

from rma_portal.credentials.services import issue_api_key
from rma_portal.notifications import services
from rma_portal.notifications.models import WebhookEndpoint
from rma_portal.security.models import ActorKind, AuditAction, AuditEvent
from rma_portal.tenancy.context import tenant_context
from tests.api import api_as

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhooks/endpoints/"
URL = "https://erp.alpha.example/hooks/rma?token=tok-123&site=7"
MASKED = "https://erp.alpha.example/hooks/rma?token=***&site=***"
WEBHOOK_ACTIONS = [
    AuditAction.WEBHOOK_ENDPOINT_CREATED,
    AuditAction.WEBHOOK_ENDPOINT_CHANGED,
    AuditAction.WEBHOOK_ENDPOINT_DISABLED,
    AuditAction.WEBHOOK_ENDPOINT_DELETED,
    AuditAction.WEBHOOK_SECRET_ROTATED,
]


@pytest.fixture(autouse=True)
def no_dns(settings):
    # Endpoint URLs are checked by resolving their names; these names need no DNS.
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


def rows() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__in=WEBHOOK_ACTIONS).order_by("pk"))


def assert_no_secret(events: list[AuditEvent], *secrets: str) -> None:
    dumped = json.dumps([[e.details, e.target_label, e.actor_label] for e in events])
    for secret in secrets:
        assert secret and secret not in dumped
    assert "tok-123" not in dumped  # the token in the URL's query string
    assert not {"secret", "previous_secret"} & {key for e in events for key in e.details}


def test_each_api_change_of_an_endpoint_is_audited_with_what_changed(world_a):
    admin = api_as(world_a.tenant_admin)
    secrets = []

    created = admin.post(
        ENDPOINTS,
        {"url": URL, "description": "ERP", "event_types": ["return.resolved"]},
        format="json",
    )
    assert created.status_code == 201
    endpoint_id = created.json()["id"]
    secrets.append(created.json()["secret"])
    url = f"{ENDPOINTS}{endpoint_id}/"
    assert (
        admin.patch(url, {"event_types": [], "description": "ERP (all)"}, format="json").status_code
        == 200
    )
    assert (
        admin.patch(url, {"description": "ERP (all)"}, format="json").status_code == 200
    )  # nothing changes
    assert admin.patch(url, {"is_active": False}, format="json").status_code == 200
    rotated = admin.post(f"{url}rotate-secret/", {"previous_secret_hours": 2}, format="json")
    secrets.append(rotated.json()["secret"])
    assert admin.delete(url).status_code == 204

    events = rows()
    assert [event.action for event in events] == [
        AuditAction.WEBHOOK_ENDPOINT_CREATED,
        AuditAction.WEBHOOK_ENDPOINT_CHANGED,
        AuditAction.WEBHOOK_ENDPOINT_DISABLED,
        AuditAction.WEBHOOK_SECRET_ROTATED,
        AuditAction.WEBHOOK_ENDPOINT_DELETED,
    ]
    for event in events:
        assert (event.tenant, event.actor, event.actor_kind) == (
            world_a.tenant,
            world_a.tenant_admin,
            ActorKind.USER,
        )
        assert (event.target_type, event.target_id) == (
            "notifications.WebhookEndpoint",
            str(endpoint_id),
        )
        assert event.target_label == MASKED
        assert event.details["via"] == "api"
    added, changed, disabled, rotation, deleted = events
    assert added.details == {
        "url": MASKED,
        "description": "ERP",
        "event_types": ["return.resolved"],
        "is_active": True,
        "via": "api",
    }
    assert changed.details["changes"] == {
        "description": {"from": "ERP", "to": "ERP (all)"},
        "event_types": {"from": ["return.resolved"], "to": []},
    }
    assert disabled.details["changes"] == {"is_active": {"from": True, "to": False}}
    assert rotation.details["previous_secret_signs_until"]
    assert deleted.details["url"] == MASKED
    assert not WebhookEndpoint.unscoped.filter(pk=endpoint_id).exists()
    assert_no_secret(events, *secrets)


def test_an_api_key_is_named_as_the_actor(world_a):
    with tenant_context(world_a.tenant):
        issued = issue_api_key(
            tenant=world_a.tenant,
            name="ERP",
            scopes=["webhooks:manage"],
            actor=world_a.tenant_admin,
            via="test",
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")

    created = client.post(ENDPOINTS, {"url": "https://erp.alpha.example/hook"}, format="json")
    assert created.status_code == 201
    url = f"{ENDPOINTS}{created.json()['id']}/"
    rotated = client.post(f"{url}rotate-secret/", {}, format="json")
    assert rotated.status_code == 200

    added, rotation = rows()
    for event in (added, rotation):
        assert event.actor_kind == ActorKind.INTEGRATION
        assert event.actor_label == issued.api_key.audit_label
        assert event.actor == issued.api_key.user
        assert event.tenant == world_a.tenant
    assert rotation.action == AuditAction.WEBHOOK_SECRET_ROTATED
    assert_no_secret([added, rotation], created.json()["secret"], rotated.json()["secret"])


def test_back_office_changes_of_an_endpoint_are_audited(world_a, login):
    client = login(world_a.tenant_admin)
    add = reverse("admin:notifications_webhookendpoint_add")

    response = client.post(add, {"url": URL, "event_types": ["return.approved"], "is_active": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = WebhookEndpoint.unscoped.get()
    change = reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    response = client.post(
        change, {"url": URL, "description": "Warehouse", "event_types": ["return.approved"]}
    )  # the box "active" left unticked: turned off
    assert response.status_code == 302
    changelist = reverse("admin:notifications_webhookendpoint_changelist")
    response = client.post(
        changelist, {"action": "rotate_secret", helpers.ACTION_CHECKBOX_NAME: [endpoint.pk]}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.previous_secret  # the previous one signs on for a while
    delete = reverse("admin:notifications_webhookendpoint_delete", args=[endpoint.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not WebhookEndpoint.unscoped.exists()

    events = rows()
    assert [event.action for event in events] == [
        AuditAction.WEBHOOK_ENDPOINT_CREATED,
        AuditAction.WEBHOOK_ENDPOINT_DISABLED,
        AuditAction.WEBHOOK_SECRET_ROTATED,
        AuditAction.WEBHOOK_ENDPOINT_DELETED,
    ]
    for event in events:
        assert (event.tenant, event.actor, event.actor_kind) == (
            world_a.tenant,
            world_a.tenant_admin,
            ActorKind.USER,
        )
        assert event.details["via"] == "backoffice"
        assert event.target_id == str(endpoint.pk)
    assert events[1].details["changes"] == {
        "description": {"from": "", "to": "Warehouse"},
        "is_active": {"from": True, "to": False},
    }
    assert_no_secret(events, endpoint.secret, endpoint.previous_secret)


def test_the_bulk_delete_of_the_back_office_audits_each_endpoint(world_a, login):
    first, second = (
        WebhookEndpoint.unscoped.create(
            tenant=world_a.tenant, url=f"https://erp.alpha.example/{n}", secret=f"whsec_{n}"
        )
        for n in (1, 2)
    )
    client = login(world_a.tenant_admin)
    changelist = reverse("admin:notifications_webhookendpoint_changelist")

    response = client.post(
        changelist,
        {
            "action": "delete_selected",
            "post": "yes",
            helpers.ACTION_CHECKBOX_NAME: [first.pk, second.pk],
        },
    )

    assert response.status_code == 302
    assert not WebhookEndpoint.unscoped.exists()
    deleted = rows()
    assert {event.action for event in deleted} == {AuditAction.WEBHOOK_ENDPOINT_DELETED}
    assert sorted(event.target_id for event in deleted) == sorted([str(first.pk), str(second.pk)])


def test_a_change_by_the_system_names_no_user(world_a):
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant, url="https://erp.alpha.example/hook", secret="whsec_old"
    )
    with tenant_context(world_a.tenant):
        services.webhook_secret_rotate(endpoint=endpoint)

    (event,) = rows()
    assert (event.actor, event.actor_kind, event.tenant) == (
        None,
        ActorKind.SYSTEM,
        world_a.tenant,
    )


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://erp.example/hook", "https://erp.example/hook"),
        ("https://erp.example/hook?key=abc", "https://erp.example/hook?key=***"),
        ("https://user:pa55@erp.example:8443/h", "https://user:***@erp.example:8443/h"),
        ("https://user@erp.example/h?a=1&a=2&b=", "https://user@erp.example/h?a=***&a=***&b=***"),
    ],
)
def test_the_audit_log_masks_credentials_in_a_url(url, masked):
    assert services.audit_url(url) == masked

"""Webhooks over the API: the event catalogue for every user of the tenant; endpoints, secret
rotation, test events, the delivery log and redelivery for tenant admins and API keys with
`webhooks:manage` only; another tenant's ids answer 404 and change nothing; the catalogue in
the OpenAPI document."""

from __future__ import annotations

import datetime
import json
import re

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from rma_portal.credentials.services import issue_api_key
from rma_portal.notifications import catalogue, webhooks
from rma_portal.notifications.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from rma_portal.notifications.openapi import event_component
from rma_portal.notifications.services import webhook_deliver
from rma_portal.tenancy.context import tenant_context
from tests.notifications.test_webhooks import Receiver

from . import api_as, assert_error, assert_not_found

pytestmark = pytest.mark.django_db

API = "/api/v1"
EVENTS = f"{API}/webhooks/events/"
ENDPOINTS = f"{API}/webhooks/endpoints/"
DELIVERIES = f"{API}/webhooks/deliveries/"
SECRET = "whsec_existing-secret"


@pytest.fixture(autouse=True)
def no_dns(settings):
    # Endpoint URLs are checked, resolving their names; tests use names that need no DNS and
    # turn the check on where they test it (with IP addresses).
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def admin(world_a) -> APIClient:
    return api_as(world_a.tenant_admin)


def endpoint_of(world, url: str = "https://erp.alpha.example/hook", **fields) -> WebhookEndpoint:
    return WebhookEndpoint.unscoped.create(
        tenant=world.tenant, url=url, secret=fields.pop("secret", SECRET), **fields
    )


def delivery_to(endpoint, *, key: str = "1", status=DeliveryStatus.SENT, **fields):
    return WebhookDelivery.unscoped.create(
        tenant=endpoint.tenant,
        endpoint=endpoint,
        event=fields.pop("event", "return.approved"),
        idempotency_key=f"return-event:{key}:{endpoint.pk}",
        payload=fields.pop("payload", {"id": f"event-{key}", "type": "return.approved"}),
        status=status,
        **fields,
    )


def snapshot(endpoint: WebhookEndpoint) -> tuple:
    row = WebhookEndpoint.unscoped.get(pk=endpoint.pk)
    return (
        row.url,
        row.description,
        row.event_types,
        row.is_active,
        row.secret,
        row.previous_secret,
        WebhookDelivery.unscoped.filter(endpoint=endpoint).count(),
    )


def api_key_client(world, *scopes: str) -> APIClient:
    with tenant_context(world.tenant):
        issued = issue_api_key(
            tenant=world.tenant,
            name="ERP",
            scopes=list(scopes),
            actor=world.tenant_admin,
            via="test",
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
    return client


# --- the catalogue ---------------------------------------------------------------------------


def test_every_user_of_the_tenant_reads_the_event_catalogue(world_a):
    for user in (world_a.customer, world_a.agent, world_a.tenant_admin):
        response = api_as(user).get(EVENTS)
        assert response.status_code == 200
        body = response.json()
        assert [row["type"] for row in body["results"]] == [
            event.name for event in catalogue.event_types()
        ]
    (resolved,) = [row for row in body["results"] if row["type"] == "return.resolved"]
    assert resolved["version"] == 1
    assert resolved["subscribable"] is True
    (version,) = resolved["versions"]
    jsonschema.Draft202012Validator.check_schema(version["schema"])
    jsonschema.Draft202012Validator(version["schema"]).validate(version["example"])
    assert version["schema"] == json.loads(
        json.dumps(catalogue.envelope_schema(catalogue.event_type("return.resolved")))
    )

    detail = api_as(world_a.customer).get(f"{EVENTS}return.resolved/")
    assert detail.status_code == 200
    assert detail.json() == resolved
    assert_not_found(api_as(world_a.customer).get(f"{EVENTS}return.teleported/"))
    assert_error(APIClient().get(EVENTS), 401, "not_authenticated")


# --- endpoints: create, read, change, delete ----------------------------------------------------


def test_a_tenant_admin_adds_an_endpoint_and_sees_its_secret_once(world_a, admin):
    response = admin.post(
        ENDPOINTS,
        {
            "url": "https://erp.alpha.example/hooks/rma",
            "description": " ERP ",
            "event_types": ["return.resolved", "return.label_ready", "return.resolved"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.unscoped.get()
    assert endpoint.tenant == world_a.tenant
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["event_types"] == endpoint.event_types == ["return.resolved", "return.label_ready"]
    assert (body["description"], body["is_active"]) == ("ERP", True)
    # Never again: not in the detail, nor in the list.
    detail = admin.get(f"{ENDPOINTS}{endpoint.pk}/").json()
    assert "secret" not in detail
    assert detail == {key: value for key, value in body.items() if key != "secret"}
    listed = admin.get(ENDPOINTS).json()
    assert listed["count"] == 1
    assert endpoint.secret not in json.dumps(listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://files.alpha.example/hook"}, "url"),
        ({"url": "https://erp.alpha.example/" + "x" * 500}, "url"),
        (
            {"url": "https://erp.alpha.example/", "event_types": ["return.teleported"]},
            "event_types",
        ),
        ({"url": "https://erp.alpha.example/", "event_types": ["webhook.ping"]}, "event_types"),
        ({"url": "https://erp.alpha.example/", "event_types": "return.resolved"}, "event_types"),
        ({"url": "https://erp.alpha.example/", "description": "x" * 201}, "description"),
        ({"url": "https://erp.alpha.example/", "is_active": "sometimes"}, "is_active"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(admin, body, field):
    error = assert_error(admin.post(ENDPOINTS, body, format="json"), 400, "invalid")
    assert [key.split("[")[0] for key in error["fields"]] == [field]
    assert not WebhookEndpoint.unscoped.exists()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://10.0.0.8/hook", "http://169.254.169.254/latest"],
)
def test_an_address_inside_the_network_is_refused(admin, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    error = assert_error(admin.post(ENDPOINTS, {"url": url}, format="json"), 400, "invalid")

    assert "private, loopback or reserved" in error["fields"]["url"][0]
    assert not WebhookEndpoint.unscoped.exists()


def test_patch_changes_what_is_sent_and_bad_input_changes_nothing(world_a, admin, settings):
    endpoint = endpoint_of(world_a)
    url = f"{ENDPOINTS}{endpoint.pk}/"

    response = admin.patch(url, {"event_types": ["complaint.filed"], "is_active": False})

    assert response.status_code == 200, response.content
    assert response.json()["event_types"] == ["complaint.filed"]
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.is_active) == (
        "https://erp.alpha.example/hook",
        ["complaint.filed"],
        False,
    )
    before = snapshot(endpoint)
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    bad = admin.patch(url, {"url": "http://192.168.1.10/", "description": "changed"})
    assert_error(bad, 400, "invalid")
    assert_error(admin.patch(url, {"event_types": ["nope"], "is_active": True}), 400, "invalid")
    assert snapshot(endpoint) == before
    assert_error(admin.put(url, {"url": "https://x.example/"}), 405, "method_not_allowed")


def test_delete_removes_the_endpoint_and_its_log(world_a, admin):
    endpoint = endpoint_of(world_a)
    delivery_to(endpoint)

    assert admin.delete(f"{ENDPOINTS}{endpoint.pk}/").status_code == 204

    assert not WebhookEndpoint.unscoped.exists()
    assert not WebhookDelivery.unscoped.exists()


# --- secret rotation ----------------------------------------------------------------------------


def test_rotation_shows_a_new_secret_once_and_keeps_the_old_one_signing_for_a_while(world_a, admin):
    endpoint = endpoint_of(world_a)
    url = f"{ENDPOINTS}{endpoint.pk}/rotate-secret/"
    before = timezone.now()

    response = admin.post(url, {"previous_secret_hours": 48}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    endpoint.refresh_from_db()
    assert body["secret"] == endpoint.secret != SECRET
    assert endpoint.previous_secret == SECRET
    expires = endpoint.previous_secret_expires_at
    assert (
        before + datetime.timedelta(hours=48)
        <= expires
        <= timezone.now() + datetime.timedelta(hours=48)
    )
    assert endpoint.signing_secrets(before) == [endpoint.secret, SECRET]
    assert endpoint.signing_secrets(expires) == [endpoint.secret]
    assert "secret" not in admin.get(f"{ENDPOINTS}{endpoint.pk}/").json()

    # Without a grace period only the new secret signs, at once.
    newest = admin.post(url, {"previous_secret_hours": 0}, format="json").json()["secret"]
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets(timezone.now()) == [newest]
    # Out of range: nothing changes.
    before = snapshot(endpoint)
    for hours in (-1, 169, "soon"):
        response = admin.post(url, {"previous_secret_hours": hours}, format="json")
        assert "previous_secret_hours" in assert_error(response, 400, "invalid")["fields"]
    assert snapshot(endpoint) == before


# --- ping, the log, redelivery ------------------------------------------------------------------


def test_a_ping_goes_through_the_outbox_to_the_receiver_signed(world_a, admin):
    receiver = Receiver()
    try:
        endpoint = endpoint_of(world_a, receiver.url, event_types=["complaint.filed"])
        response = admin.post(f"{ENDPOINTS}{endpoint.pk}/ping/")
        assert response.status_code == 202, response.content
        queued = response.json()
        assert (queued["event"], queued["status"], queued["endpoint"]) == (
            "webhook.ping",
            "pending",
            endpoint.pk,
        )

        with tenant_context(world_a.tenant):
            assert webhook_deliver(delivery_id=queued["id"]).outcome == "sent"
    finally:
        receiver.close()

    (request,) = receiver.requests
    assert webhooks.verify(SECRET, request["headers"]["X-Signature"], request["body"])
    body = json.loads(request["body"])
    assert body["id"] == queued["event_id"]
    assert body["data"]["endpoint"] == {"id": endpoint.pk, "url": receiver.url}
    jsonschema.Draft202012Validator(
        catalogue.closed(catalogue.envelope_schema(catalogue.event_type("webhook.ping")))
    ).validate(body)
    log = admin.get(f"{ENDPOINTS}{endpoint.pk}/deliveries/").json()["results"]
    assert [(row["event"], row["status"], row["last_status_code"]) for row in log] == [
        ("webhook.ping", "sent", 200)
    ]


def test_an_inactive_endpoint_gets_no_ping_and_no_redelivery(world_a, admin):
    endpoint = endpoint_of(world_a, is_active=False)
    failed = delivery_to(endpoint, status=DeliveryStatus.FAILED)

    assert_error(admin.post(f"{ENDPOINTS}{endpoint.pk}/ping/"), 409, "conflict")
    assert_error(admin.post(f"{DELIVERIES}{failed.pk}/redeliver/"), 409, "conflict")

    assert WebhookDelivery.unscoped.count() == 1


def test_the_delivery_log_shows_each_attempts_outcome_newest_first(world_a, admin):
    endpoint, other = endpoint_of(world_a), endpoint_of(world_a, "https://crm.alpha.example/")
    now = timezone.now()
    sent = delivery_to(
        endpoint, key="1", last_status_code=200, attempts=1, sent_at=now, created_at=now
    )
    failed = delivery_to(
        endpoint,
        key="2",
        status=DeliveryStatus.FAILED,
        attempts=6,
        last_status_code=503,
        last_error="HTTP 503",
        created_at=now + datetime.timedelta(seconds=1),
    )
    delivery_to(other, key="3")

    rows = admin.get(f"{ENDPOINTS}{endpoint.pk}/deliveries/").json()["results"]

    assert [row["id"] for row in rows] == [failed.pk, sent.pk]
    assert rows[0] == {
        "id": failed.pk,
        "endpoint": endpoint.pk,
        "event": "return.approved",
        "event_id": "event-2",
        "delivery_key": failed.idempotency_key,
        "status": "failed",
        "attempts": 6,
        "last_status_code": 503,
        "last_error": "HTTP 503",
        "created_at": rows[0]["created_at"],
        "next_attempt_at": None,
        "sent_at": None,
    }
    # All the tenant's deliveries, or those of one endpoint, state or event; one with its body.
    assert admin.get(DELIVERIES).json()["count"] == 3
    of_other = admin.get(DELIVERIES, {"endpoint": other.pk}).json()["results"]
    assert [row["endpoint"] for row in of_other] == [other.pk]
    failed_only = admin.get(DELIVERIES, {"endpoint": endpoint.pk, "status": "failed"})
    assert [row["id"] for row in failed_only.json()["results"]] == [failed.pk]
    assert admin.get(DELIVERIES, {"event": "complaint.filed"}).json()["count"] == 0
    bad = admin.get(DELIVERIES, {"status": "lost"})
    assert "status" in assert_error(bad, 400, "invalid")["fields"]
    detail = admin.get(f"{DELIVERIES}{failed.pk}/").json()
    assert detail["payload"] == failed.payload


def test_redelivery_sends_the_same_body_as_a_new_delivery(world_a, admin):
    endpoint = endpoint_of(world_a)
    failed = delivery_to(endpoint, status=DeliveryStatus.FAILED, attempts=6)
    pending = delivery_to(endpoint, key="2", status=DeliveryStatus.PENDING)

    response = admin.post(f"{DELIVERIES}{failed.pk}/redeliver/")

    assert response.status_code == 202, response.content
    again = WebhookDelivery.unscoped.get(pk=response.json()["id"])
    assert (again.payload, again.event, again.endpoint) == (
        failed.payload,
        failed.event,
        endpoint,
    )
    assert (again.status, again.attempts) == ("pending", 0)
    assert again.idempotency_key != failed.idempotency_key
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 6)  # its history stays
    # One still on its way is not sent twice.
    assert_error(admin.post(f"{DELIVERIES}{pending.pk}/redeliver/"), 409, "conflict")
    assert WebhookDelivery.unscoped.count() == 3


# --- isolation and roles ------------------------------------------------------------------------


def test_another_tenants_endpoints_and_deliveries_are_not_found_and_stay_unchanged(
    world_a, world_b, admin
):
    foreign = endpoint_of(world_b, "https://erp.beta.example/hook")
    foreign_delivery = delivery_to(foreign, status=DeliveryStatus.FAILED)
    before = snapshot(foreign)
    url = f"{ENDPOINTS}{foreign.pk}/"

    assert_not_found(admin.get(url))
    assert_not_found(admin.patch(url, {"url": "https://evil.example/"}, format="json"))
    assert_not_found(admin.delete(url))
    assert_not_found(admin.post(f"{url}rotate-secret/"))
    assert_not_found(admin.post(f"{url}ping/"))
    assert_not_found(admin.get(f"{url}deliveries/"))
    assert_not_found(admin.get(f"{DELIVERIES}{foreign_delivery.pk}/"))
    assert_not_found(admin.post(f"{DELIVERIES}{foreign_delivery.pk}/redeliver/"))
    assert admin.get(ENDPOINTS).json()["count"] == 0
    assert admin.get(DELIVERIES).json()["count"] == 0
    assert admin.get(DELIVERIES, {"endpoint": foreign.pk}).json()["count"] == 0

    assert snapshot(foreign) == before
    foreign_delivery.refresh_from_db()
    assert foreign_delivery.status == DeliveryStatus.FAILED


@pytest.mark.parametrize("role", ["customer", "customer_admin", "agent", "coordinator", "manager"])
def test_only_tenant_admins_manage_webhooks(world_a, role):
    client = api_as(getattr(world_a, role))
    endpoint = endpoint_of(world_a)
    delivery = delivery_to(endpoint, status=DeliveryStatus.FAILED)
    before = snapshot(endpoint)
    url = f"{ENDPOINTS}{endpoint.pk}/"

    for response in (
        client.get(ENDPOINTS),
        client.post(ENDPOINTS, {"url": "https://x.example/"}, format="json"),
        client.get(url),
        client.patch(url, {"is_active": False}, format="json"),
        client.delete(url),
        client.post(f"{url}rotate-secret/"),
        client.post(f"{url}ping/"),
        client.get(f"{url}deliveries/"),
        client.get(DELIVERIES),
        client.get(f"{DELIVERIES}{delivery.pk}/"),
        client.post(f"{DELIVERIES}{delivery.pk}/redeliver/"),
    ):
        assert_error(response, 403, "forbidden")
    assert snapshot(endpoint) == before
    assert WebhookEndpoint.unscoped.count() == 1


def test_an_api_key_needs_the_webhooks_manage_scope(world_a):
    endpoint = endpoint_of(world_a)
    manager = api_key_client(world_a, "webhooks:manage")
    reader = api_key_client(world_a, "returns:read")

    assert manager.get(ENDPOINTS).json()["count"] == 1
    created = manager.post(ENDPOINTS, {"url": "https://wms.alpha.example/"}, format="json")
    assert created.status_code == 201, created.content
    for response in (
        reader.get(ENDPOINTS),
        reader.post(ENDPOINTS, {"url": "https://x.example/"}, format="json"),
        reader.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/"),
    ):
        assert response.status_code == 403
    assert WebhookEndpoint.unscoped.count() == 2
    assert WebhookEndpoint.unscoped.get(pk=endpoint.pk).secret == SECRET
    # The catalogue is documentation: any key reads it.
    assert reader.get(EVENTS).status_code == 200


# --- query counts ---------------------------------------------------------------------------------


def test_list_query_counts_do_not_grow(world_a, admin, django_assert_max_num_queries):
    endpoints = [endpoint_of(world_a, f"https://erp{n}.alpha.example/") for n in range(6)]
    for n, endpoint in enumerate(endpoints):
        delivery_to(endpoint, key=str(n))
        delivery_to(endpoint, key=f"{n}b", status=DeliveryStatus.FAILED)

    for url in (ENDPOINTS, DELIVERIES, f"{ENDPOINTS}{endpoints[0].pk}/deliveries/", EVENTS):
        with django_assert_max_num_queries(8):
            response = admin.get(url)
        assert response.status_code == 200


# --- OpenAPI ------------------------------------------------------------------------------------


def test_the_openapi_document_describes_every_event_as_a_webhook(world_a):
    schema = api_as(world_a.tenant_admin).get(f"{API}/schema/", {"format": "json"}).json()

    validate_schema(schema)
    assert schema["openapi"].startswith("3.1")
    assert list(schema["webhooks"]) == [event.name for event in catalogue.event_types()]
    components = schema["components"]["schemas"]
    resolved = catalogue.event_type("return.resolved")
    operation = schema["webhooks"]["return.resolved"]["post"]
    body = operation["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": f"#/components/schemas/{event_component(resolved)}"}
    assert body["example"] == catalogue.example_envelope(resolved)
    assert {p["name"] for p in operation["parameters"]} >= {"X-Signature", "X-Delivery"}
    assert components[event_component(resolved)]["properties"]["type"] == {
        "const": "return.resolved",
        "description": "The event type.",
    }
    # Every reference of the webhooks resolves to a component.
    dumped = json.dumps({"webhooks": schema["webhooks"], "components": components})
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', dumped)):
        assert name in components, name
    assert {
        "/api/v1/webhooks/events/",
        "/api/v1/webhooks/endpoints/",
        "/api/v1/webhooks/endpoints/{id}/rotate-secret/",
        "/api/v1/webhooks/endpoints/{id}/ping/",
        "/api/v1/webhooks/endpoints/{id}/deliveries/",
        "/api/v1/webhooks/deliveries/{id}/redeliver/",
    } <= set(schema["paths"])

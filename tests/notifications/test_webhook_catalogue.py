"""The webhook event catalogue: valid JSON Schemas (draft 2020-12) with valid examples; every
event a return's and a complaint's whole life publishes, built from the real services and
valid against its schema; what `return.resolved` tells an ERP; no internal text in any body;
the reference in docs/webhooks.md in step with the code, and its example receiver verifying
real deliveries."""

from __future__ import annotations

import datetime
import json
import re
import threading
from decimal import Decimal
from http.server import ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from django.utils import timezone

from complaints import services as complaint_services
from customers.models import OrderLine
from returns import labels
from returns import services as return_services
from returns.models import ReturnLine, ReturnRequest
from returns.selectors import tenant_today
from rma_portal.notifications import catalogue, services, webhooks
from rma_portal.notifications.models import WebhookDelivery, WebhookEndpoint
from rma_portal.tenancy.context import tenant_context
from tests.complaints.conftest import complaint_file
from tests.returns.conftest import (  # noqa: F401
    delivered_order,
    file_return,
    full_inspection,
    policy_a,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "webhooks.md"
SECRET = "whsec_test-signing-secret"

# Texts only staff may read, written into every internal place a case has.
INTERNAL = {
    "line": "Forklift damage at gate 2: bill the carrier.",
    "line_2": "Box re-taped by our warehouse.",
    "whole": "Supplier batch 7 suspect: tell purchasing.",
    "return_comment": "Customer returns a lot: check the next one twice.",
    "complaint_note": "Known issue with batch 7, do not admit it yet.",
}
CUSTOMER_LINE = "Two housings scratched in transport."
CUSTOMER_WHOLE = "All units counted and checked."


def validator(schema: dict) -> jsonschema.Draft202012Validator:
    """The strict variant of a published schema (no field it does not name), checking
    formats (date-time, date, uuid) too."""
    return jsonschema.Draft202012Validator(
        catalogue.closed(schema),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def every_version() -> list[catalogue.EventType]:
    return [
        version
        for event in catalogue.event_types()
        for version in catalogue.event_versions(event.name)
    ]


# --- the catalogue itself ----------------------------------------------------------------------


@pytest.mark.parametrize("event", every_version(), ids=lambda event: event.key)
def test_every_schema_is_valid_json_schema_2020_12_and_its_example_matches_it(event):
    schema = catalogue.envelope_schema(event)

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:rma-portal:webhooks:{event.name}:v{event.version}"
    validator(schema).validate(catalogue.example_envelope(event))
    # The envelope: the same six fields for every event.
    assert schema["required"] == ["id", "type", "version", "created_at", "tenant", "data"]


def test_the_catalogue_has_every_event_an_erp_relies_on():
    names = {event.name for event in catalogue.event_types()}
    assert {
        "return.submitted",
        "return.approved",
        "return.auto_approved",
        "return.rejected",
        "return.info_requested",
        "return.info_provided",
        "return.received",
        "return.inspected",
        "return.resolved",
        "return.closed",
        "return.cancelled",
        "return.label_ready",
        "return.comment",
        "return.credit_note_confirmed",
        "return.replacement_order_confirmed",
        "complaint.filed",
        "complaint.assigned",
        "complaint.started",
        "complaint.awaiting_customer",
        "complaint.customer_replied",
        "complaint.message_added",
        "complaint.resolved",
        "complaint.rejected",
        "complaint.reopened",
        "complaint.closed",
        "complaint.rated",
        "complaint.return_linked",
        catalogue.PING,
    } <= names
    assert catalogue.PING not in catalogue.subscribable_names()
    assert all(event.build is not None for event in catalogue.event_types())


def test_an_unknown_event_is_logged_and_sent_nowhere(world_a, caplog):
    WebhookEndpoint.unscoped.create(tenant=world_a.tenant, url="https://h.example/", secret="s")

    made = catalogue.publish("return.teleported", None, tenant=world_a.tenant, key="k:1")

    assert made == []
    assert not WebhookDelivery.unscoped.exists()
    assert "webhook event is not in the catalogue" in caplog.text


def test_without_an_endpoint_that_wants_it_no_payload_is_built(world_a, django_assert_num_queries):
    WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant,
        url="https://h.example/",
        secret="s",
        event_types=["complaint.filed"],
    )
    with django_assert_num_queries(1):  # the endpoints; the builder would read the return
        made = catalogue.publish(
            "return.resolved", object(), tenant=world_a.tenant, key="return-event:0"
        )
    assert made == []


def test_the_doc_event_reference_is_current():
    # Fails with "run `manage.py webhook_docs`" when an event or schema changed without it.
    call_command("webhook_docs", "--check")


# --- every event of a case's life, from the real services ------------------------------------


@pytest.fixture
def subscribed(world_a, world_b):
    """An endpoint of tenant A for every event, and one of tenant B (which must hear
    nothing)."""
    endpoint_b = WebhookEndpoint.unscoped.create(
        tenant=world_b.tenant, url="https://b.example/hook", secret=SECRET
    )
    endpoint_a = WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant, url="https://a.example/hook", secret=SECRET
    )
    return endpoint_a, endpoint_b


@pytest.fixture
def lives(world_a, delivered_order, file_return, policy_a, subscribed, settings, tmp_path):  # noqa: F811
    """Three returns and three complaints of tenant A walked through every public event,
    with internal notes wherever staff can write them. Returns the returns and complaints."""
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant, customer, agent = world_a.tenant, world_a.customer, world_a.agent
    first, second = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")

    # A return approved by staff, labelled, inspected, resolved, commented, closed.
    resolved = file_return(
        customer,
        world_a.company,
        [
            {"order_line_id": first.pk, "quantity": 2, "reason": "damaged_in_transport"},
            {"order_line_id": second.pk, "quantity": 3, "reason": "wrong_size"},
        ],
        resolution="credit_note",
    )
    with tenant_context(tenant):
        rma = return_services.return_request_approve(return_request=resolved, actor=agent)
        labels.return_label_render(return_request=rma)
        rma = return_services.return_request_mark_received(return_request=rma, actor=agent)
        one, two = ReturnLine.objects.filter(return_request=rma).order_by("pk")
        Inspection = return_services.InspectionInput
        rma = return_services.return_request_inspect(
            return_request=rma,
            actor=agent,
            results={
                one.pk: Inspection(
                    "damaged", "return_to_supplier", 2, INTERNAL["line"], CUSTOMER_LINE
                ),
                two.pk: Inspection("unopened", "restock", 3, INTERNAL["line_2"]),
            },
            customer_note=CUSTOMER_WHOLE,
            internal_note=INTERNAL["whole"],
        )
        rma = return_services.return_request_resolve(
            return_request=rma,
            actor=agent,
            resolution="credit_note",
            credit_note_number="KOR/2026/11/7",
        )
        return_services.return_request_assign(return_request=rma, actor=agent, assignee=agent)
        return_services.return_request_comment(
            return_request=rma, actor=agent, note=INTERNAL["return_comment"], is_public=False
        )
        return_services.return_request_comment(
            return_request=rma, actor=customer, note="Thank you.", is_public=True
        )
        rma = return_services.return_request_close(return_request=rma, actor=agent)

    # A return resolved line by line (a replacement and a credit note), whose documents the
    # ERP confirms: the credit note twice (a retry: the repeat changes nothing).
    mixed = file_return(
        customer,
        world_a.company,
        [
            {"order_line_id": first.pk, "quantity": 1, "reason": "defective"},
            {"order_line_id": second.pk, "quantity": 2, "reason": "wrong_size"},
        ],
        resolution="replacement",
    )
    with tenant_context(tenant):
        mixed = return_services.return_request_approve(return_request=mixed, actor=agent)
        mixed = return_services.return_request_mark_received(return_request=mixed, actor=agent)
        mixed = return_services.return_request_inspect(
            return_request=mixed, actor=agent, results=full_inspection(mixed)
        )
        drill, bits = ReturnLine.objects.filter(return_request=mixed).order_by("pk")
        Line = return_services.LineResolution
        mixed = return_services.return_request_resolve(
            return_request=mixed,
            actor=agent,
            lines={drill.pk: Line("replacement"), bits.pk: Line("credit_note")},
        )
        for _repeat in range(2):
            confirm_credit_note(mixed, agent)
        return_services.return_request_confirm_document(
            return_request=mixed, actor=agent, kind="replacement_order", number="ZAM/2026/93"
        )

    # A return approved by the policy at once, then cancelled.
    policy_a.auto_approve_enabled = True
    policy_a.save()
    automatic = file_return(
        customer,
        world_a.company,
        [{"order_line_id": first.pk, "quantity": 1, "reason": "defective"}],
    )
    policy_a.auto_approve_enabled = False
    policy_a.save()
    # A return approved whose goods never come: the reminder, then expiry.
    forgotten = file_return(
        customer,
        world_a.company,
        [{"order_line_id": second.pk, "quantity": 1, "reason": "wrong_size"}],
    )
    with tenant_context(tenant):
        forgotten = return_services.return_request_approve(return_request=forgotten, actor=agent)
        return_services.return_request_remind_to_ship(
            return_request=forgotten, now=forgotten.ship_reminder_at
        )
        return_services.return_request_expire(
            return_request=forgotten, now=forgotten.ship_by + datetime.timedelta(seconds=1)
        )
    # A return the customer takes back to change, then submits again.
    changed = file_return(
        customer,
        world_a.company,
        [{"order_line_id": second.pk, "quantity": 1, "reason": "wrong_size"}],
    )
    with tenant_context(tenant):
        changed = return_services.return_request_reopen(return_request=changed, actor=customer)
        return_services.return_request_submit(return_request=changed, actor=customer)
    # A return with a question, an answer, and a rejection.
    questioned = file_return(
        customer,
        world_a.company,
        [{"order_line_id": first.pk, "quantity": 1, "reason": "wrong_size"}],
    )
    with tenant_context(tenant):
        automatic = return_services.return_request_cancel(return_request=automatic, actor=customer)
        questioned = return_services.return_request_request_info(
            return_request=questioned, actor=agent, question="Which size did you order?"
        )
        questioned = return_services.return_request_provide_info(
            return_request=questioned, actor=customer, answer="M, not L."
        )
        questioned = return_services.return_request_reject(
            return_request=questioned, actor=agent, reason="Worn: not returnable."
        )

    # A complaint assigned, made urgent, worked on with an internal note, waiting for the
    # customer, linked to the return, resolved and rated (which closes it).
    rated = complaint_file(
        customer,
        world_a.company,
        now=timezone.now(),
        order_id=delivered_order.pk,
        order_line_id=first.pk,
    )
    rejected = complaint_file(customer, world_a.company, now=timezone.now())
    reopened = complaint_file(customer, world_a.company, now=timezone.now())
    with tenant_context(tenant):
        c = complaint_services
        c.complaint_assign(complaint=rated, actor=world_a.coordinator, assignee=agent)
        c.complaint_start(complaint=rated, actor=agent)
        c.complaint_change_priority(complaint=rated, actor=agent, priority="urgent")
        c.complaint_reply(
            complaint=rated, actor=agent, body=INTERNAL["complaint_note"], is_internal=True
        )
        c.complaint_reply(complaint=rated, actor=agent, body="We are checking the batch.")
        c.complaint_wait_for_customer(
            complaint=rated, actor=agent, question="Which batch number is on the box?"
        )
        c.complaint_reply(complaint=rated, actor=customer, body="Batch 7.")
        c.complaint_link_return(complaint=rated, actor=customer, return_request=rma)
        c.complaint_resolve(complaint=rated, actor=agent, resolution="Replacement sent.")
        c.complaint_rate(complaint=rated, actor=customer, score=5, comment="Quick.")

        c.complaint_reject(complaint=rejected, actor=agent, reason="Misuse.")

        c.complaint_assign(complaint=reopened, actor=agent, assignee=agent)
        c.complaint_start(complaint=reopened, actor=agent)
        c.complaint_resolve(complaint=reopened, actor=agent, resolution="Try a reset.")
        c.complaint_reopen(complaint=reopened, actor=customer, reason="Still broken.")
        c.complaint_resolve(complaint=reopened, actor=agent, resolution="Replaced.")
        c.complaint_close(complaint=reopened, actor=agent)
    return {"resolved": rma, "automatic": automatic, "questioned": questioned, "mixed": mixed}


def confirm_credit_note(rma, actor) -> bool:
    """The ERP confirms the credit note KOR/2026/11/93 of `rma` for its refund total."""
    rma = ReturnRequest.unscoped.get(pk=rma.pk)
    _rma, recorded = return_services.return_request_confirm_document(
        return_request=rma,
        actor=actor,
        kind="credit_note",
        number="KOR/2026/11/93",
        issued_on=tenant_today(rma.tenant),
        amount=rma.refund_total,
    )
    return recorded


def bodies(world) -> list[dict]:
    return [
        delivery.payload
        for delivery in WebhookDelivery.unscoped.filter(tenant=world.tenant).order_by("pk")
    ]


def test_every_event_of_the_lives_is_sent_and_matches_its_schema(lives, world_a, subscribed):
    sent = bodies(world_a)

    for body in sent:
        event = catalogue.event_type(body["type"], body["version"])
        validator(catalogue.envelope_schema(event)).validate(body)
        assert body["tenant"] == {"id": world_a.tenant.pk, "slug": world_a.tenant.slug}
    # Every event an endpoint can choose was built by its builder, from the real services.
    assert {body["type"] for body in sent} == set(catalogue.subscribable_names())
    # One event id per event, whatever the number of deliveries.
    assert len({body["id"] for body in sent}) == len(sent)
    # Tenant B's endpoint heard nothing.
    _endpoint_a, endpoint_b = subscribed
    assert not WebhookDelivery.unscoped.filter(endpoint=endpoint_b).exists()


def test_return_resolved_carries_lines_amounts_resolution_external_ids_and_customer(
    lives,
    world_a,
    delivered_order,  # noqa: F811
):
    rma = lives["resolved"]
    (body,) = [
        b
        for b in bodies(world_a)
        if b["type"] == "return.resolved" and b["data"]["return"]["id"] == rma.pk
    ]
    data = body["data"]
    returned = data["return"]

    assert body["version"] == 1
    assert returned["number"] == rma.number
    assert returned["status"] == "resolved"
    assert returned["url"].endswith(f"/api/v1/returns/{rma.pk}/")
    assert returned["customer"] == {
        "account": {
            "id": world_a.company.pk,
            "number": world_a.company.number,
            "name": world_a.company.name,
            "vat_number": world_a.company.vat_number,
        },
        "user": {
            "id": world_a.customer.pk,
            "email": world_a.customer.email,
            "name": world_a.customer.get_full_name(),
        },
    }
    assert returned["currency"] == world_a.tenant.currency
    resolution = returned["resolution"]
    assert resolution["type"] == "credit_note"
    assert resolution["credit_note_number"] == "KOR/2026/11/7"
    # 2 × 100.00 + 3 × 20.00 accepted, less the policy's 10 % restocking fee.
    stored = ReturnRequest.unscoped.get(pk=rma.pk)
    assert resolution["accepted_value"] == f"{stored.accepted_value:.2f}" == "260.00"
    assert resolution["refund_total"] == f"{stored.refund_total:.2f}"
    assert Decimal(resolution["refund_total"]) > 0
    lines = returned["lines"]
    assert [line["position"] for line in lines] == [1, 2]
    first, second = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    for line, order_line, quantity in ((lines[0], first, 2), (lines[1], second, 3)):
        assert line["order"]["number"] == delivered_order.number
        assert line["order_line"]["line_number"] == order_line.line_number
        assert line["product"]["sku"] == order_line.product.sku
        assert line["quantity"] == quantity
        assert line["unit_price"] == f"{order_line.unit_price:.2f}"
        assert line["inspection"]["accepted_quantity"] == quantity
        assert line["resolution"]["accepted_quantity"] == quantity
    stored_lines = ReturnLine.unscoped.filter(return_request=rma).order_by("pk")
    assert [line["resolution"]["amount"] for line in lines] == [
        f"{line.refund_amount:.2f}" for line in stored_lines
    ]
    assert sum(Decimal(line["resolution"]["amount"]) for line in lines) == Decimal(
        resolution["refund_total"]
    )
    assert lines[0]["inspection"]["note"] == CUSTOMER_LINE
    assert data["event"]["action"] == "resolved"
    assert data["event"]["actor"] == {
        "type": "staff",
        "id": world_a.agent.pk,
        "name": world_a.agent.get_full_name(),
    }


def test_each_erp_document_is_announced_once_with_the_return_and_the_document(lives, world_a):
    mixed = ReturnRequest.unscoped.get(pk=lives["mixed"].pk)
    sent = bodies(world_a)
    (credit,) = [b for b in sent if b["type"] == "return.credit_note_confirmed"]
    (order,) = [b for b in sent if b["type"] == "return.replacement_order_confirmed"]

    for body in (credit, order):
        schema = catalogue.envelope_schema(catalogue.event_type(body["type"], 1))
        validator(schema).validate(body)
        returned = body["data"]["return"]
        assert returned["number"] == mixed.number
        assert returned["resolution"]["type"] == "mixed"
        assert [line["resolution"]["type"] for line in returned["lines"]] == [
            "replacement",
            "credit_note",
        ]
        assert returned["lines"][0]["resolution"]["replacement_quantity"] == 1
        assert body["data"]["event"]["action"] == body["type"].removeprefix("return.")
    assert credit["data"]["document"] == {
        "type": "credit_note",
        "number": "KOR/2026/11/93",
        "date": tenant_today(world_a.tenant).isoformat(),
        "amount": f"{mixed.refund_total:.2f}",
        "confirmed_at": credit["data"]["document"]["confirmed_at"],
    }
    assert Decimal(credit["data"]["document"]["amount"]) > 0
    assert credit["data"]["return"]["resolution"]["credit_note_number"] == "KOR/2026/11/93"
    assert order["data"]["document"]["type"] == "replacement_order"
    assert order["data"]["document"]["number"] == "ZAM/2026/93"
    assert order["data"]["document"]["amount"] is None
    assert order["data"]["return"]["resolution"]["replacement_order_ref"] == "ZAM/2026/93"


def test_confirming_a_document_again_queues_no_second_call(lives, world_a, subscribed):
    endpoint_a, _endpoint_b = subscribed
    confirmations = WebhookDelivery.unscoped.filter(
        endpoint=endpoint_a, event="return.credit_note_confirmed"
    )
    assert confirmations.count() == 1  # lives confirmed it twice

    with tenant_context(world_a.tenant):
        assert confirm_credit_note(lives["mixed"], world_a.agent) is False

    assert confirmations.count() == 1
    assert WebhookDelivery.unscoped.filter(endpoint=endpoint_a).count() == len(bodies(world_a))


def test_a_return_resolved_per_line_is_mixed_in_every_schema_that_lists_resolutions():
    definitions = catalogue.definitions()
    whole = definitions["ReturnResolution"]["properties"]["type"]["enum"]
    line = definitions["ReturnLineResolution"]["properties"]["type"]["enum"]
    requested = definitions["Return"]["properties"]["requested_resolution"]["enum"]

    assert whole == ["refund", "credit_note", "replacement", "repair", "mixed"]
    # A line, and what the customer asks for, has one resolution of its own.
    assert "mixed" not in line and "mixed" not in requested
    assert set(line) == set(whole) - {"mixed"}
    for name in ("return.credit_note_confirmed", "return.replacement_order_confirmed"):
        example = catalogue.event_type(name).example
        assert example["return"]["resolution"]["type"] == "mixed"


def test_no_internal_text_reaches_any_body(lives, world_a):
    dumped = json.dumps(bodies(world_a), ensure_ascii=False)

    for text in INTERNAL.values():
        assert text not in dumped
    assert CUSTOMER_LINE in dumped and CUSTOMER_WHOLE in dumped  # the check can see notes
    sent = {body["type"] for body in bodies(world_a)}
    assert "return.assigned" not in sent
    assert "return.inspection_note" not in sent
    # The complaint's assignment is sent, without its note.
    assigned = [b["data"]["event"] for b in bodies(world_a) if b["type"] == "complaint.assigned"]
    assert assigned and all(event["note"] == "" for event in assigned)
    # Every message sent is one the customer reads.
    messages = [
        b["data"]["message"]["body"]
        for b in bodies(world_a)
        if b["type"] == "complaint.message_added"
    ]
    assert messages == [
        "We are checking the batch.",
        "Which batch number is on the box?",  # the question asked while pausing the SLA
        "Batch 7.",
        "Still broken.",  # the reason of the reopening
    ]


def test_the_label_is_announced_once_per_return(lives, world_a):
    rma = lives["resolved"]
    with tenant_context(world_a.tenant):
        labels.return_label_render(return_request=ReturnRequest.objects.get(pk=rma.pk))

    (body,) = [b for b in bodies(world_a) if b["type"] == "return.label_ready"]
    assert body["data"]["label"]["download_url"].endswith(f"/api/v1/returns/{rma.pk}/label/")


# --- signatures and the receiver of the docs ---------------------------------------------------


def test_during_a_rotation_each_secret_verifies_the_call():
    body = b'{"type":"return.closed"}'
    now = int(timezone.now().timestamp())
    header = webhooks.sign("new", now, body, old_secrets=["old"])

    assert header.count("v1=") == 2
    assert webhooks.verify("new", header, body)
    assert webhooks.verify("old", header, body)
    assert not webhooks.verify("other", header, body)
    assert not webhooks.verify("new", f"t={now},{header}", body)  # two timestamps


def doc_receiver_code() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### Example receiver (Python)") :]
    (code,) = re.findall(r"```python\n(.*?)\n```", section, flags=re.S)[:1]
    return code


class DocReceiver:
    """The receiver of docs/webhooks.md, run as written, on 127.0.0.1 in a thread: what it
    handled is recorded instead of printed."""

    def __init__(self, secret: str):
        namespace = {"__name__": "docs_webhook_receiver"}
        exec(compile(doc_receiver_code(), str(DOC), "exec"), namespace)  # noqa: S102
        self.handled: list[dict] = []
        namespace["handle"] = self.handled.append

        class Handler(namespace["WebhookHandler"]):
            handled_ids: set = set()

            def log_message(self, *args):
                pass

        Handler.secret = secret
        self.handler = Handler
        self.verify_signature = namespace["verify_signature"]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rma"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def doc_receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    made = []

    def _make(secret: str) -> DocReceiver:
        made.append(DocReceiver(secret))
        return made[-1]

    yield _make
    for receiver in made:
        receiver.close()


def reject_a_return(world, number: str) -> None:
    rma = ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=number,
        customer_account=world.company,
        requester=world.customer,
        status="submitted",
    )
    with tenant_context(world.tenant):
        return_services.return_request_reject(
            return_request=rma, actor=world.agent, reason="Not bought from us."
        )


def deliver_latest(world, endpoint, *, now=None):
    delivery = WebhookDelivery.unscoped.filter(endpoint=endpoint).latest("pk")
    with tenant_context(world.tenant):
        result = services.webhook_deliver(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    return result.outcome, delivery


def test_the_docs_receiver_verifies_a_real_delivery_and_handles_each_event_once(
    world_a, doc_receiver
):
    receiver = doc_receiver(SECRET)
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant, url=receiver.url, secret=SECRET
    )
    reject_a_return(world_a, "RMA-DOC-1")

    outcome, delivery = deliver_latest(world_a, endpoint)

    assert (outcome, delivery.last_status_code) == ("sent", 204)
    (handled,) = receiver.handled
    assert handled == delivery.payload
    assert handled["type"] == "return.rejected"
    # A redelivery is the same event: delivered (2xx), not handled twice.
    with tenant_context(world_a.tenant):
        services.webhook_redeliver(delivery=delivery)
    outcome, again = deliver_latest(world_a, endpoint)
    assert (outcome, again.last_status_code, again.pk != delivery.pk) == ("sent", 204, True)
    assert len(receiver.handled) == 1


def test_the_docs_receiver_refuses_a_call_signed_with_another_secret(world_a, doc_receiver):
    receiver = doc_receiver("whsec_not-the-endpoints-secret")
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant, url=receiver.url, secret=SECRET
    )
    reject_a_return(world_a, "RMA-DOC-2")

    outcome, delivery = deliver_latest(world_a, endpoint)

    assert (outcome, delivery.status, delivery.last_status_code) == ("retry", "pending", 400)
    assert receiver.handled == []


def test_the_docs_receiver_keeps_working_through_a_secret_rotation(world_a, doc_receiver):
    receiver = doc_receiver(SECRET)
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=world_a.tenant, url=receiver.url, secret=SECRET
    )
    rotated_at = timezone.now()
    with tenant_context(world_a.tenant):
        endpoint, new_secret = services.webhook_secret_rotate(
            endpoint=endpoint, grace=datetime.timedelta(hours=24), now=rotated_at
        )
    assert new_secret != SECRET

    # Within the grace period the receiver may still have the old secret, or the new one.
    reject_a_return(world_a, "RMA-ROT-1")
    assert deliver_latest(world_a, endpoint, now=rotated_at)[0] == "sent"
    receiver.handler.secret = new_secret
    reject_a_return(world_a, "RMA-ROT-2")
    assert deliver_latest(world_a, endpoint, now=rotated_at)[0] == "sent"

    # After it, only the new secret signs.
    later = rotated_at + datetime.timedelta(hours=25)
    receiver.handler.secret = SECRET
    reject_a_return(world_a, "RMA-ROT-3")
    outcome, delivery = deliver_latest(world_a, endpoint, now=later)
    assert (outcome, delivery.last_status_code) == ("retry", 400)
    receiver.handler.secret = new_secret
    reject_a_return(world_a, "RMA-ROT-4")
    assert deliver_latest(world_a, endpoint, now=later)[0] == "sent"
    assert [body["data"]["return"]["number"] for body in receiver.handled] == [
        "RMA-ROT-1",
        "RMA-ROT-2",
        "RMA-ROT-4",
    ]


def test_the_docs_verify_function_refuses_old_and_forged_signatures():
    namespace = {"__name__": "docs_webhook_receiver"}
    exec(compile(doc_receiver_code(), str(DOC), "exec"), namespace)  # noqa: S102
    verify = namespace["verify_signature"]
    body = b'{"id":"1"}'
    signed_at = 1_800_000_000
    header = webhooks.sign(SECRET, signed_at, body, old_secrets=["whsec_old"])

    assert verify(SECRET, header, body, now=signed_at + 299)
    assert verify("whsec_old", header, body, now=signed_at)
    assert not verify(SECRET, header, body, now=signed_at + 301)  # too old: a replay
    assert not verify(SECRET, header, body + b" ", now=signed_at)  # another body
    assert not verify("whsec_other", header, body, now=signed_at)
    for forged in ("", "v1=00", f"t={signed_at}", "t=x,v1=00", "t=1,v1=ż"):
        assert not verify(SECRET, forged, body, now=signed_at)

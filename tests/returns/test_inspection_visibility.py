"""One inspection, every place that shows it: the text for the customer reaches the portal,
the API and the resolution e-mail; the internal text reaches only staff (back-office, staff
API, the dashboard's CSV export) and nothing that leaves for the customer."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from customers.models import OrderLine
from returns import services
from returns.models import ReturnLine, ReturnRequest, ReturnStatus
from returns.selectors import tenant_today
from rma_portal.notifications.models import Notification, WebhookDelivery
from rma_portal.tenancy.context import tenant_context
from tests.api import api_as
from tests.html import parse, table_rows, texts

pytestmark = pytest.mark.django_db

CUSTOMER_LINE = "Two housings scratched in transport."
INTERNAL_LINE = "Forklift damage at gate 2: bill the carrier."
INTERNAL_LINE_2 = "Box re-taped by our warehouse."
CUSTOMER_WHOLE = "All units counted and checked."
INTERNAL_WHOLE = "Supplier batch 7 suspect: tell purchasing."
INTERNAL = (INTERNAL_LINE, INTERNAL_LINE_2, INTERNAL_WHOLE)
FOR_CUSTOMER = (CUSTOMER_LINE, CUSTOMER_WHOLE)


@pytest.fixture
def inspected(
    world_a, delivered_order, file_return, client, mailoutbox, django_capture_on_commit_callbacks
):
    """A return of two lines, inspected in the back-office with a note for the customer and
    an internal one (on a line and on the whole), then resolved; every e-mail it sent."""
    first, second = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    with django_capture_on_commit_callbacks(execute=True):
        rma = file_return(
            world_a.customer,
            world_a.company,
            [
                {"order_line_id": first.pk, "quantity": 2, "reason": "damaged_in_transport"},
                {"order_line_id": second.pk, "quantity": 3, "reason": "wrong_size"},
            ],
        )
        agent = world_a.agent
        with tenant_context(world_a.tenant):
            rma = services.return_request_approve(return_request=rma, actor=agent)
            rma = services.return_request_mark_received(return_request=rma, actor=agent)

        client.force_login(agent)
        url = reverse("admin:returns_returnrequest_inspect", args=[rma.pk])
        page = client.get(url)
        version = parse(page).select_one("form input[name=version]")["value"]
        one, two = ReturnLine.unscoped.filter(return_request=rma).order_by("pk")
        response = client.post(
            url,
            {
                "version": version,
                f"line-{one.pk}-condition": "damaged",
                f"line-{one.pk}-disposition": "return_to_supplier",
                f"line-{one.pk}-accepted_quantity": "2",
                f"line-{one.pk}-customer_note": CUSTOMER_LINE,
                f"line-{one.pk}-note": INTERNAL_LINE,
                f"line-{two.pk}-condition": "unopened",
                f"line-{two.pk}-disposition": "restock",
                f"line-{two.pk}-accepted_quantity": "3",
                f"line-{two.pk}-note": INTERNAL_LINE_2,
                "inspection-note": CUSTOMER_WHOLE,
                "inspection-internal_note": INTERNAL_WHOLE,
            },
        )
        assert response.status_code == 302, response.status_code
        with tenant_context(world_a.tenant):
            rma = ReturnRequest.objects.get(pk=rma.pk)
            assert rma.status == ReturnStatus.INSPECTED
            services.return_request_resolve(
                return_request=rma, actor=agent, resolution="credit_note", credit_note_number="K/1"
            )
    client.logout()
    return rma, page, list(mailoutbox)


def test_the_backoffice_form_says_who_reads_each_note(inspected):
    _, page, _ = inspected
    header = texts(page, "#inspection thead th")
    assert "Note for the customer Visible to the customer." in header
    assert "Internal note Internal, never shown to the customer." in header
    helps = texts(page, "fieldset .help")
    assert helps == [
        "Visible to the customer: on the return's timeline and in the resolution e-mail.",
        "Internal, never shown to the customer.",
    ]


def test_the_portal_shows_only_the_text_for_the_customer(inspected, world_a, login):
    rma, _, _ = inspected
    page = login(world_a.customer).get(reverse("portal:return_detail", args=[rma.pk]))
    text = parse(page).text
    for note in FOR_CUSTOMER:
        assert note in text
    for note in INTERNAL:
        assert note not in text
    header, first, second = table_rows(page, "table.detail-lines")
    assert first[header.index("Inspection note")] == CUSTOMER_LINE
    assert second[header.index("Inspection note")] == "—"
    assert CUSTOMER_WHOLE in texts(page, "#timeline .timeline-note")


def test_the_api_gives_customers_the_text_for_them_and_staff_both(inspected, world_a):
    rma, _, _ = inspected
    url = f"/api/v1/returns/{rma.pk}/"
    for customer in (world_a.customer, world_a.customer_admin):
        body = api_as(customer).get(url).json()
        dumped = json.dumps(body)
        for note in INTERNAL:
            assert note not in dumped
        assert [line["inspection_customer_note"] for line in body["lines"]] == [CUSTOMER_LINE, ""]
        assert all("inspection_note" not in line for line in body["lines"])
        inspected_event = next(e for e in body["events"] if e["action"] == "inspected")
        assert inspected_event["note"] == CUSTOMER_WHOLE

    lines = api_as(world_a.agent).get(url).json()["lines"]
    assert [(line["inspection_customer_note"], line["inspection_note"]) for line in lines] == [
        (CUSTOMER_LINE, INTERNAL_LINE),
        ("", INTERNAL_LINE_2),
    ]
    body = api_as(world_a.agent).get(url).json()
    internal = [e for e in body["events"] if e["action"] == services.INTERNAL_INSPECTION_NOTE]
    assert [(e["note"], e["is_public"]) for e in internal] == [(INTERNAL_WHOLE, False)]


def test_the_resolution_email_tells_the_customer_what_inspection_found(inspected, world_a):
    _, _, mails = inspected
    (resolved,) = [mail for mail in mails if "has been resolved" in mail.subject]
    html = resolved.alternatives[0][0]
    for part in (resolved.body, parse(html).text):
        for note in FOR_CUSTOMER:
            assert note in part
    assert f": {CUSTOMER_LINE}" in resolved.body  # after the line's product and SKU


def test_nothing_that_leaves_for_the_customer_carries_internal_text(inspected, world_a):
    _, _, mails = inspected
    assert mails, "the flow sends e-mails"
    for mail in mails:
        everything = mail.subject + mail.body + "".join(a[0] for a in mail.alternatives)
        for note in INTERNAL:
            assert note not in everything, mail.subject
    # Queued e-mails and the tenant's webhook calls, whatever their state.
    stored = [n.context for n in Notification.unscoped.filter(tenant=world_a.tenant)]
    stored += [d.payload for d in WebhookDelivery.unscoped.filter(tenant=world_a.tenant)]
    dumped = json.dumps(stored)
    for note in INTERNAL:
        assert note not in dumped


def test_staff_see_both_texts_labelled(inspected, world_a, login):
    rma, _, _ = inspected
    page = login(world_a.agent).get(reverse("admin:returns_returnrequest_change", args=[rma.pk]))
    text = parse(page).text
    for note in (*FOR_CUSTOMER, *INTERNAL):
        assert note in text
    entries = parse(page).select("#case-conversation li.entry")
    internal_entries = [entry for entry in entries if INTERNAL_WHOLE in entry.text]
    assert len(internal_entries) == 1
    assert "Inspection note (internal)" in internal_entries[0].text
    assert "Staff only" in internal_entries[0].text
    assert "entry-staff-only" in internal_entries[0]["class"]


def test_the_csv_export_names_each_note_for_who_may_read_it(inspected, world_a, client):
    rma, _, _ = inspected
    today = tenant_today(world_a.tenant).isoformat()
    client.force_login(world_a.manager)
    response = client.get(f"/dashboard/export/returns.csv?period=custom&from={today}&to={today}")
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(body)))
    for_customer = header.index("inspection_note_for_customer")
    internal = header.index("inspection_note_internal")
    notes = [(row[for_customer], row[internal]) for row in rows if row[0] == rma.number]
    assert notes == [(CUSTOMER_LINE, INTERNAL_LINE), ("", INTERNAL_LINE_2)]

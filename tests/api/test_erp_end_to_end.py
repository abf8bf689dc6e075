"""A merchant's ERP against RMA Portal, end to end, with real components only: the tenant admin
issues an API key; with it the ERP pushes its catalogue, a customer and 2,000 delivered orders,
invites a customer user and registers a webhook endpoint; the invited user chooses a password
from the e-mailed link and files a return through the portal's wizard; an agent approves,
receives, inspects and resolves it line by line (a credit note and a refund); the outbox
delivers `return.resolved` over HTTP to a receiver in this process, which checks the signature
as the example receiver of docs/webhooks.md does; the ERP confirms its credit note (a retry with
the same Idempotency-Key replays the answer); the customer sees the credit note in the portal.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import threading
from decimal import Decimal
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from customers.models import CustomerAccount, Order, OrderLine, Product, ProductCategory
from returns.models import ResolutionDocument, ReturnEvent, ReturnRequest, ReturnStatus
from returns.selectors import tenant_today
from rma_portal.accounts.models import Role, User
from rma_portal.credentials.models import ApiKey
from rma_portal.notifications import catalogue
from rma_portal.notifications.models import DeliveryStatus, WebhookDelivery
from rma_portal.notifications.tasks import deliver_webhook_task
from tests.html import definitions, parse, summary, texts
from tests.notifications.test_webhook_catalogue import DOC, doc_receiver_code, validator
from tests.returns import conftest as returns_fixtures

from . import api_as

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# The tenant's return policy (tests/returns/conftest.py): 14 days, 10 % restocking fee on
# reasons that are not the merchant's fault.
policy_a = returns_fixtures.policy_a

API = "/api/v1"
SCOPES = [
    "catalog:write",
    "orders:write",
    "orders:read",
    "returns:read",
    "returns:write",
    "webhooks:manage",
]
PRODUCTS = 1000
ORDERS = 2000
PER_REQUEST = 1000  # the bulk API's limit (customers.services.erp.MAX_RECORDS)
CATEGORIES = [("tools", "Tools"), ("electrical", "Electrical"), ("fasteners", "Fasteners")]
CUSTOMER_NUMBER = "ERP-C-00042"
CUSTOMER_VAT = "5261047316"  # a valid Polish NIP
INVITED_EMAIL = "Anna.Nowak@Hurtownia.example"
NEW_PASSWORD = "Chosen-by-Anna-2026"
RETURNED_ORDER = 1234  # the order the customer returns goods from
CREDIT_NOTE = "KOR/2026/11/000917"


# --- the ERP's data ---------------------------------------------------------------------------


def sku(n: int) -> str:
    return f"ERP-P-{n:04d}"


def catalogue_price(n: int) -> Decimal:
    return Decimal(5 + n % 90) + Decimal("0.50")


def order_price(n: int) -> Decimal:
    """What the customer paid for product n: the catalogue price less its 0.50 discount."""
    return catalogue_price(n) - Decimal("0.50")


def order_number(n: int) -> str:
    return f"ZAM/2026/{n:05d}"


def product_records() -> list[dict]:
    return [
        {
            "sku": sku(n),
            "name": f"Article {n:04d}",
            "category": CATEGORIES[n % len(CATEGORIES)][0],
            "unit_price": str(catalogue_price(n)),
            "returnable": True,
            "serial_tracked": False,
        }
        for n in range(PRODUCTS)
    ]


def customer_record() -> dict:
    return {
        "number": CUSTOMER_NUMBER,
        "name": "Hurtownia Budowlana Nowak Sp. z o.o.",
        "vat_number": CUSTOMER_VAT,
        "contact_email": "biuro@hurtownia.example",
        "preferred_language": "en",
        "billing_street": "ul. Składowa 7",
        "billing_postal_code": "61-888",
        "billing_city": "Poznań",
        "shipping_street": "ul. Magazynowa 12",
        "shipping_postal_code": "61-889",
        "shipping_city": "Poznań",
    }


def order_lines_of(n: int) -> list[tuple[int, int]]:
    """(product, quantity) of each line of order n."""
    return [((2 * n) % PRODUCTS, 5), ((2 * n + 1) % PRODUCTS, 10)]


def order_records(today: datetime.date, numbers: range) -> list[dict]:
    records = []
    for n in numbers:
        delivered = today - datetime.timedelta(days=n % 30)
        records.append(
            {
                "order_number": order_number(n),
                "customer_number": CUSTOMER_NUMBER,
                "order_date": (delivered - datetime.timedelta(days=2)).isoformat(),
                "delivery_date": delivered.isoformat(),
                "invoice_number": f"FV/2026/{n:05d}",
                "lines": [
                    {
                        "line_number": number,
                        "sku": sku(product),
                        "quantity": quantity,
                        "unit_price": str(order_price(product)),
                        "delivered_quantity": quantity,
                        "delivered_on": delivered.isoformat(),
                    }
                    for number, (product, quantity) in enumerate(order_lines_of(n), 1)
                ],
            }
        )
    return records


# --- the ERP's webhook receiver ---------------------------------------------------------------


class ErpReceiver:
    """The example receiver of docs/webhooks.md, run as written on 127.0.0.1 (port 0) in a
    thread: it verifies each call with the endpoint's secret, answers 204 (400 when the
    signature does not match) and hands each event to `handle` once. Each call's headers and
    raw body are recorded too, and what it handled instead of printed."""

    def __init__(self):
        namespace = {"__name__": "docs_webhook_receiver"}
        exec(compile(doc_receiver_code(), str(DOC), "exec"), namespace)  # noqa: S102
        self.verify_signature = namespace["verify_signature"]
        self.handled: list[dict] = []
        self.calls: list[dict] = []
        namespace["handle"] = self.handled.append
        receiver = self

        class Handler(namespace["WebhookHandler"]):
            secret = ""  # the endpoint's, once the API has shown it
            handled_ids: set = set()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.calls.append({"headers": dict(self.headers), "body": body})
                # The docs' handler reads the same raw body from the request.
                received, self.rfile = self.rfile, io.BytesIO(body)
                try:
                    super().do_POST()
                finally:
                    self.rfile = received

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = False  # server_close() joins the threads of the requests

        self.handler = Handler
        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="erp-receiver")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rma"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def erp_receiver(settings):
    # The receiver listens on the loopback address, which webhooks refuse unless the operator
    # allows private addresses (docs/webhooks.md#endpoints).
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    receiver = ErpReceiver()
    yield receiver
    receiver.close()
    assert not receiver.thread.is_alive()


# --- a browser's form -------------------------------------------------------------------------


def form_data(form) -> dict[str, list[str]]:
    """What a browser sends for `form` (an Element) as it stands: its enabled fields with
    their values (checked boxes only, a select's chosen option or else its first; no files)."""
    data: dict[str, list[str]] = {}
    for field in form.select("input, select, textarea"):
        name = field.get("name")
        if not name or field.get("disabled") is not None:
            continue
        if field.tag == "select":
            options = field.select("option")
            chosen = [o for o in options if o.get("selected") is not None] or options[:1]
            values = [o.get("value", o.text) for o in chosen]
        elif field.tag == "textarea":
            # A browser drops the one line break that may follow the start tag.
            values = [field.node.get_text().removeprefix("\n")]
        else:
            kind = (field.get("type") or "text").lower()
            if kind in {"file", "submit", "button", "image", "reset"}:
                continue
            if kind in {"checkbox", "radio"}:
                if field.get("checked") is None:
                    continue
                values = [field.get("value", "on")]
            else:
                values = [field.get("value", "")]
        data.setdefault(name, []).extend(values)
    return data


def post_form(client, url: str, form, changes: dict, **extra):
    data = form_data(form)
    data.update(
        {name: value if isinstance(value, list) else [value] for name, value in changes.items()}
    )
    return client.post(url, data, **extra)


def wizard_form(page):
    """The wizard step's own form: the one that posts to the page itself (others search,
    cancel the draft, sign out or switch the language)."""
    (form,) = [form for form in parse(page).select("form[method=post]") if not form.get("action")]
    return form


# --- the story --------------------------------------------------------------------------------


def the_tenant_admin_issues_an_api_key(world) -> APIClient:
    response = api_as(world.tenant_admin).post(
        f"{API}/api-keys/", {"name": "ERP (Comarch)", "scopes": SCOPES}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    stored = ApiKey.objects.get(pk=body["id"])
    assert (stored.tenant, sorted(stored.scopes)) == (world.tenant, sorted(SCOPES))
    erp = APIClient()
    erp.credentials(HTTP_AUTHORIZATION=f"Api-Key {body['key']}")
    return erp


def the_erp_pushes_its_data(erp: APIClient, world) -> None:
    def bulk(kind: str, records: list[dict]) -> dict:
        response = erp.post(f"{API}/{kind}/bulk/", {"records": records}, format="json")
        assert response.status_code == 200, summary(response, 1500)
        assert response.json()["records"] == len(records)
        return response.json()["counts"]

    categories = [{"code": code, "name": name} for code, name in CATEGORIES]
    assert bulk("product-categories", categories)["product categories"]["created"] == 3
    assert bulk("products", product_records())["products"] == {
        "created": PRODUCTS,
        "updated": 0,
        "unchanged": 0,
    }
    assert bulk("customers", [customer_record()])["customers"]["created"] == 1
    today = tenant_today(world.tenant)
    for start in range(0, ORDERS, PER_REQUEST):
        counts = bulk("orders", order_records(today, range(start, start + PER_REQUEST)))
        assert counts["orders"] == {"created": PER_REQUEST, "updated": 0, "unchanged": 0}
        assert counts["order lines"]["created"] == 2 * PER_REQUEST

    tenant = world.tenant
    assert ProductCategory.unscoped.filter(tenant=tenant, code__in=dict(CATEGORIES)).count() == 3
    assert Product.unscoped.filter(tenant=tenant, sku__startswith="ERP-P-").count() == PRODUCTS
    assert Order.unscoped.filter(
        tenant=tenant, customer_account__number=CUSTOMER_NUMBER
    ).count() == (ORDERS)
    assert OrderLine.unscoped.filter(tenant=tenant, order__number__startswith="ZAM/").count() == (
        2 * ORDERS
    )
    # The ERP reads back what it wrote, by its own keys.
    read = erp.get(f"{API}/orders/by-external-id/{order_number(RETURNED_ORDER)}/")
    assert read.status_code == 200, read.content
    assert [(line["line_number"], line["quantity"]) for line in read.json()["lines"]] == [
        (1, 5),
        (2, 10),
    ]


def the_erp_invites_a_customer_user(erp: APIClient, capture_on_commit) -> None:
    with capture_on_commit(execute=True):
        response = erp.post(
            f"{API}/customer-users/",
            {"customer_number": CUSTOMER_NUMBER, "email": INVITED_EMAIL, "full_name": "Anna Nowak"},
            format="json",
        )
    assert response.status_code == 202, response.content
    assert response.json()["customer_number"] == CUSTOMER_NUMBER


def the_erp_registers_its_webhook_endpoint(erp: APIClient, receiver: ErpReceiver) -> dict:
    response = erp.post(
        f"{API}/webhooks/endpoints/",
        {"url": receiver.url, "description": "ERP", "event_types": ["return.resolved"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    endpoint = response.json()
    assert endpoint["event_types"] == ["return.resolved"] and endpoint["is_active"] is True
    receiver.handler.secret = endpoint["secret"]  # the ERP keeps the secret, shown this once
    return endpoint


def the_invited_user_chooses_a_password_and_signs_in(client) -> User:
    (invitation,) = mail.outbox
    assert invitation.to == [INVITED_EMAIL.lower()]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", invitation.body)
    assert link, invitation.body
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    chosen = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert chosen.status_code == 302, summary(chosen)
    signed_in = client.post(
        reverse("accounts:login"), {"username": INVITED_EMAIL, "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302, summary(signed_in)
    user = User.objects.get(email=INVITED_EMAIL.lower())
    assert user.role == Role.CUSTOMER_USER and user.get_full_name() == "Anna Nowak"
    return user


def the_customer_files_a_return_in_the_portal(client, user: User) -> ReturnRequest:
    number = order_number(RETURNED_ORDER)
    start = reverse("portal:return_new")

    # step 1: an order from the ERP, found by its number among 2,000
    page = client.get(start, {"q": number})
    assert page.status_code == 200, summary(page)
    form = wizard_form(page)
    (box,) = [
        row.select_one("input[name=orders]")
        for row in form.select("table.pick-orders tbody tr")
        if number in row.text
    ]
    response = post_form(client, f"{start}?q={number}", form, {"orders": box["value"]})
    assert response.status_code == 302, summary(response)
    draft = ReturnRequest.unscoped.get(requester=user, status=ReturnStatus.DRAFT)
    lines_url = reverse("portal:return_wizard_lines", args=[draft.pk])
    assert response["Location"] == lines_url

    # step 2: two units of the first line (defective), four of the second (wrong size)
    page = client.get(lines_url)
    form = wizard_form(page)
    wanted = {
        sku(product): choice
        for (product, _quantity), choice in zip(
            order_lines_of(RETURNED_ORDER),
            [
                {"quantity": "2", "reason": "defective", "comment": "Does not switch on."},
                {"quantity": "4", "reason": "wrong_size"},
            ],
            strict=True,
        )
    }
    changes = {}
    for article in form.select("article.return-line"):
        shown_sku = article.select_one("header code").text
        prefix = article.select_one("input[name$=-quantity]")["name"].removesuffix("quantity")
        for field, value in wanted.pop(shown_sku).items():
            changes[prefix + field] = value
    assert wanted == {}, "every line of the order is offered"
    response = post_form(client, lines_url, form, changes)
    details_url = reverse("portal:return_wizard_details", args=[draft.pk])
    assert (response.status_code, response.get("Location")) == (302, details_url), summary(response)

    # step 3: a credit note, goods dropped off
    form = wizard_form(client.get(details_url))
    response = post_form(
        client,
        details_url,
        form,
        {
            "requested_resolution": "credit_note",
            "return_method": "drop_off",
            "customer_note": "Please credit our account.",
        },
    )
    review_url = reverse("portal:return_wizard_review", args=[draft.pk])
    assert (response.status_code, response.get("Location")) == (302, review_url), summary(response)

    # step 4: review and submit
    page = client.get(review_url)
    assert page.context["can_submit"] is True
    form = wizard_form(page)
    response = post_form(client, review_url, form, {}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:return_detail", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.SUBMITTED
    assert draft.customer_account.number == CUSTOMER_NUMBER
    return draft


def the_agent_settles_it(world, rma: ReturnRequest) -> dict:
    """Approve, receive, inspect (line 2: three of the four units arrived) and resolve line by
    line through the API: line 1 by credit note, line 2 by refund; answers the detail."""
    agent = api_as(world.agent)
    url = f"{API}/returns/{rma.pk}/"
    detail = agent.get(url).json()
    ids = {line["product"]["sku"]: line["id"] for line in detail["lines"]}
    first, second = (ids[sku(product)] for product, _quantity in order_lines_of(RETURNED_ORDER))

    approved = agent.post(url + "approve/", format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    received = agent.post(url + "receive/", {"note": "Pallet 7"}, format="json")
    assert received.json()["status"] == "received", received.content
    inspected = agent.post(
        url + "inspect/",
        {
            "lines": [
                {
                    "id": first,
                    "condition": "damaged",
                    "disposition": "scrap",
                    "accepted_quantity": 2,
                },
                {
                    "id": second,
                    "condition": "unopened",
                    "disposition": "restock",
                    "accepted_quantity": 3,
                    "customer_note": "One box was missing from the parcel.",
                },
            ],
            "customer_note": "Checked on arrival.",
        },
        format="json",
    )
    assert inspected.json()["status"] == "inspected", inspected.content
    resolved = agent.post(
        url + "resolve/",
        {
            "lines": [
                {"id": first, "resolution": "credit_note"},
                {"id": second, "resolution": "refund"},
            ],
            "note": "Credited and refunded as inspected.",
        },
        format="json",
    )
    assert resolved.status_code == 200, resolved.content
    return resolved.json()


def the_outbox_delivers(world) -> WebhookDelivery:
    """The one queued call, delivered by the worker's task, run here."""
    (delivery,) = WebhookDelivery.unscoped.filter(tenant=world.tenant)
    assert (delivery.event, delivery.status) == ("return.resolved", DeliveryStatus.PENDING)
    outcome = deliver_webhook_task.apply(args=[delivery.pk, world.tenant.pk]).get()
    assert outcome == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 204)
    return delivery


# --- the test ---------------------------------------------------------------------------------


def test_an_erp_feeds_the_portal_hears_of_a_resolution_and_confirms_its_credit_note(
    world_a, policy_a, client, erp_receiver, django_capture_on_commit_callbacks
):
    world = world_a
    # 1-2. The ERP's key, its data, a customer user, its webhook endpoint.
    erp = the_tenant_admin_issues_an_api_key(world)
    the_erp_pushes_its_data(erp, world)
    the_erp_invites_a_customer_user(erp, django_capture_on_commit_callbacks)
    endpoint = the_erp_registers_its_webhook_endpoint(erp, erp_receiver)

    # 3. The customer user joins and files a return in the portal.
    customer = the_invited_user_chooses_a_password_and_signs_in(client)
    rma = the_customer_files_a_return_in_the_portal(client, customer)
    assert rma.requested_value == Decimal("142.00")  # 2 × 23.00 + 4 × 24.00

    # 4. The agent settles it: 2 × 23.00 credited (a defect: no fee); 3 × 24.00 = 72.00
    # refunded less the 10 % restocking fee (a wrong size).
    settled = the_agent_settles_it(world, rma)
    assert (settled["status"], settled["resolution"]) == ("resolved", "mixed")
    assert (settled["accepted_value"], settled["restocking_fee"], settled["refund_total"]) == (
        "118.00",
        "7.20",
        "110.80",
    )
    assert settled["credit_note_total"] == "46.00"
    assert erp_receiver.calls == []  # nothing is sent before the outbox delivers

    # 5. The outbox delivers `return.resolved`; the receiver verifies and handles it.
    delivery = the_outbox_delivers(world)
    (call,) = erp_receiver.calls
    headers, body = call["headers"], call["body"]
    secret = endpoint["secret"]
    assert erp_receiver.verify_signature(secret, headers["X-Signature"], body)
    assert not erp_receiver.verify_signature("whsec_another", headers["X-Signature"], body)
    forged = body.replace(b'"110.80"', b'"999.80"')
    assert forged != body
    assert not erp_receiver.verify_signature(secret, headers["X-Signature"], forged)
    assert headers["X-Signature"].startswith(f"t={headers['X-Timestamp']},v1=")
    assert headers["X-Event"] == "return.resolved"
    assert headers["X-Delivery"] == delivery.idempotency_key
    event = json.loads(body)
    assert erp_receiver.handled == [event]  # verified by the docs' receiver, handled once
    assert event == delivery.payload
    validator(catalogue.envelope_schema(catalogue.event_type("return.resolved", 1))).validate(event)
    assert event["type"] == "return.resolved" and event["version"] == 1
    assert event["tenant"] == {"id": world.tenant.pk, "slug": world.tenant.slug}
    returned = event["data"]["return"]
    account = CustomerAccount.unscoped.get(tenant=world.tenant, number=CUSTOMER_NUMBER)
    assert (returned["id"], returned["number"], returned["status"]) == (
        rma.pk,
        rma.number,
        "resolved",
    )
    assert returned["customer"] == {
        "account": {
            "id": account.pk,
            "number": CUSTOMER_NUMBER,
            "name": customer_record()["name"],
            "vat_number": CUSTOMER_VAT,
        },
        "user": {"id": customer.pk, "email": customer.email, "name": "Anna Nowak"},
    }
    assert (returned["currency"], returned["requested_resolution"]) == (
        world.tenant.currency,
        "credit_note",
    )
    resolution = returned["resolution"]
    assert (resolution["type"], resolution["credit_note_number"]) == ("mixed", None)
    assert (
        resolution["accepted_value"],
        resolution["restocking_fee"],
        resolution["refund_total"],
    ) == ("118.00", "7.20", "110.80")
    today = tenant_today(world.tenant)
    delivered = (today - datetime.timedelta(days=RETURNED_ORDER % 30)).isoformat()
    expected_lines = [
        # position, line number, product, quantity, accepted, type, amount, reason
        (1, 1, 468, 2, 2, "credit_note", "46.00", "defective"),
        (2, 2, 469, 4, 3, "refund", "64.80", "wrong_size"),
    ]
    assert len(returned["lines"]) == len(expected_lines)
    for line, expected in zip(returned["lines"], expected_lines, strict=True):
        position, line_number, product, quantity, accepted, kind, amount, reason = expected
        assert order_lines_of(RETURNED_ORDER)[line_number - 1][0] == product
        assert line["position"] == position
        assert line["order"]["number"] == order_number(RETURNED_ORDER)
        assert line["order"]["invoice_number"] == f"FV/2026/{RETURNED_ORDER:05d}"
        assert line["order"]["delivery_date"] == delivered
        assert line["order_line"]["line_number"] == line_number
        assert (line["product"]["sku"], line["product"]["name"]) == (
            sku(product),
            f"Article {product:04d}",
        )
        assert (line["quantity"], line["reason"]) == (quantity, reason)
        assert line["unit_price"] == str(order_price(product))  # the order's, not the catalogue's
        assert line["value"] == str(order_price(product) * quantity)
        assert line["inspection"]["accepted_quantity"] == accepted
        decided = line["resolution"]
        assert (decided["type"], decided["accepted_quantity"], decided["amount"]) == (
            kind,
            accepted,
            amount,
        )
    assert returned["lines"][1]["inspection"]["note"] == "One box was missing from the parcel."
    assert event["data"]["event"]["action"] == "resolved"
    assert event["data"]["event"]["actor"] == {
        "type": "staff",
        "id": world.agent.pk,
        "name": world.agent.get_full_name(),
    }

    # The ERP may follow the body's link to the return with its key.
    followed = erp.get(urlsplit(returned["url"]).path)
    assert followed.status_code == 200, followed.content
    assert (followed.json()["id"], followed.json()["refund_total"]) == (rma.pk, "110.80")

    # 6. The ERP issues its credit note for all the money paid back, and confirms it; its
    # retry with the same Idempotency-Key replays the first answer.
    confirm_url = f"{API}/returns/{returned['id']}/resolution/confirm/"
    confirmation = {
        "type": "credit_note",
        "number": CREDIT_NOTE,
        "date": today.isoformat(),
        "amount": resolution["refund_total"],
    }
    idempotency_key = f"credit-note-{CREDIT_NOTE}"
    first = erp.post(confirm_url, confirmation, format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key)
    assert first.status_code == 200, first.content
    assert not first.has_header("Idempotent-Replayed")
    answer = first.json()
    assert answer["credit_note_number"] == CREDIT_NOTE
    assert [(d["type"], d["number"], d["date"], d["amount"]) for d in answer["documents"]] == [
        ("credit_note", CREDIT_NOTE, today.isoformat(), "110.80")
    ]
    retry = erp.post(confirm_url, confirmation, format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key)
    assert retry.status_code == 200, retry.content
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.content == first.content
    assert ResolutionDocument.unscoped.filter(return_request=rma).count() == 1
    confirmed = ReturnEvent.unscoped.get(return_request=rma, action="credit_note_confirmed")
    assert confirmed.is_public and CREDIT_NOTE in confirmed.note
    read_back = erp.get(f"{API}/returns/{rma.pk}/").json()
    assert read_back["credit_note_number"] == CREDIT_NOTE
    assert [(d["number"], d["amount"]) for d in read_back["documents"]] == [(CREDIT_NOTE, "110.80")]
    # The endpoint asked for `return.resolved` only: nothing else was queued for it.
    assert WebhookDelivery.unscoped.filter(tenant=world.tenant).count() == 1

    # 7. The customer sees the credit note on the return's page.
    page = client.get(reverse("portal:return_detail", args=[rma.pk]))
    assert page.status_code == 200, summary(page)
    money = definitions(page, "section.money dl")
    assert money["Credit note"] == CREDIT_NOTE
    assert money["Credit note amount"].split()[0] in ("110.80", "110,80")
    assert money["Refund / credit total"].split()[0] in ("110.80", "110,80")
    assert "Credit note issued" in texts(page, "#timeline .timeline-head strong")

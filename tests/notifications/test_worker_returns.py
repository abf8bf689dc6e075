"""The whole chain on a real worker: approving a return e-mails the customer once and the
worker renders the label PDF, whose text carries the RMA number."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from customers.models import OrderLine
from returns import services
from returns.models import ReturnEvent, ReturnRequest
from rma_portal.tenancy.context import tenant_context
from tests.returns import conftest as returns_fixtures

from .conftest import text_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DELIVER = "notifications.deliver_notification_task"
RENDER_LABEL = "returns.render_return_label_task"

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return


def test_approval_sends_one_email_and_the_worker_renders_the_label(
    worker_env, world_a, delivered_order, file_return
):
    worker_env.start_worker()
    line = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number").first()
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 2, "reason": "wrong_size"}],
    )
    # the "submitted" e-mail arrives first
    [submitted] = worker_env.wait_finished(DELIVER, 1, what="the submitted e-mail")
    assert submitted["outcome"] == "sent"

    with tenant_context(world_a.tenant):
        services.return_request_approve(return_request=rma, actor=world_a.agent)

    approval_sent = worker_env.wait_finished(DELIVER, 2, what="the approval e-mail")[1]
    assert approval_sent["outcome"] == "sent"
    [label] = worker_env.wait_finished(RENDER_LABEL, 1, what="the label to be rendered")
    assert label["outcome"] == "rendered", label
    mails = worker_env.mails()
    rendered = ReturnRequest.unscoped.get(pk=rma.pk)
    assert rendered.label_file
    approved = ReturnEvent.unscoped.get(return_request=rma, action="approved")
    key = f"return-event:{approved.pk}:{world_a.customer.pk}"
    approval = [m for m in mails if m["X-RMA-Notification"] == key]
    assert len(mails) == 2, [m["Subject"] for m in mails]
    assert len(approval) == 1
    assert approval[0]["To"] == world_a.customer.email
    assert rma.number in text_of(approval[0])

    pdf_path = worker_env.var_dir / "media" / rendered.label_file.name
    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages
    )
    assert rma.number in text

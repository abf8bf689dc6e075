"""Outgoing e-mails about a case: the tenant's name (or its support address) as sender, a
reply address and a thread per case for the customer, none for staff, and headers that
keep auto-responders from answering."""

from __future__ import annotations

import pytest
from django.core import mail as django_mail

from complaints import services as complaint_services
from rma_portal.inbound import replies
from rma_portal.inbound.parsing import parse_mail
from rma_portal.notifications.models import Notification
from rma_portal.notifications.services import notification_deliver
from rma_portal.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _complaint(world):
    with tenant_context(world.tenant):
        return complaint_services.complaint_file(
            customer_account=world.company,
            reporter=world.customer,
            category="delivery",
            priority="normal",
            subject="Late delivery",
            description="Two weeks late.",
        )


def _send(user, event: str):
    row = Notification.unscoped.get(recipient=user, event=event)
    before = len(django_mail.outbox)
    with tenant_context(row.tenant):
        assert notification_deliver(notification_id=row.pk).outcome == "sent"
    return django_mail.outbox[before]


def test_a_customers_case_email_carries_the_reply_address_and_thread_of_the_case(
    world_a, folder_mailbox, mailoutbox, settings
):
    settings.DEFAULT_FROM_EMAIL = "RMA Portal <no-reply@rma.example>"
    folder_mailbox(world_a.tenant, address="help@alpha.test")
    complaint = _complaint(world_a)

    sent = _send(world_a.customer, "complaint.filed")

    token = replies.case_token(tenant_id=world_a.tenant.pk, kind="complaint", case_id=complaint.pk)
    assert sent.from_email == f"{world_a.tenant.name} <no-reply@rma.example>"
    assert sent.reply_to == [f"help+c-{token}@alpha.test"]
    thread = f"<case-{token}@rma.example>"
    assert sent.extra_headers["In-Reply-To"] == thread
    assert sent.extra_headers["References"] == thread
    assert sent.extra_headers["Message-ID"].startswith("<notification-")
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "replying to this e-mail" in sent.body
    html = sent.alternatives[0][0]
    assert "replying to this e-mail" in html

    # The message as it goes over the wire says the same.
    wire = parse_mail(sent.message().as_bytes())
    assert wire.references == [f"case-{token}@rma.example"]
    found = replies.find_case(parse_mail(_reply_to(sent)))
    assert (found.case.kind, found.case.case_id, found.case.tenant_id) == (
        "complaint",
        complaint.pk,
        world_a.tenant.pk,
    )


def _reply_to(sent) -> bytes:
    return (
        f"From: {sent.to[0]}\r\nTo: {sent.reply_to[0]}\r\nSubject: Re: {sent.subject}\r\n"
        f"In-Reply-To: {sent.extra_headers['Message-ID']}\r\n"
        f"References: {sent.extra_headers['References']} {sent.extra_headers['Message-ID']}\r\n"
        "\r\nThanks.\r\n"
    ).encode()


def test_the_chosen_mailbox_receives_the_replies_and_may_be_the_sender(
    world_a, folder_mailbox, mailoutbox
):
    folder_mailbox(world_a.tenant, address="first@alpha.test")
    folder_mailbox(world_a.tenant, address="claims@alpha.test", reply_address=True, send_as=True)
    _complaint(world_a)

    sent = _send(world_a.customer, "complaint.filed")

    assert sent.from_email == f"{world_a.tenant.name} <claims@alpha.test>"
    assert sent.reply_to[0].startswith("claims+c-")


def test_staff_emails_carry_no_case_address(world_a, folder_mailbox, mailoutbox):
    folder_mailbox(world_a.tenant)
    complaint = _complaint(world_a)
    with tenant_context(world_a.tenant):
        complaint_services.complaint_assign(
            complaint=complaint, actor=world_a.coordinator, assignee=world_a.agent
        )

    sent = _send(world_a.agent, "complaint.assigned")

    assert sent.reply_to == []
    assert "References" not in sent.extra_headers
    assert "replying to this e-mail" not in sent.body


def test_without_a_mailbox_the_tenant_name_and_support_email_are_used(
    world_a, mailoutbox, settings
):
    settings.DEFAULT_FROM_EMAIL = "no-reply@rma.example"
    world_a.tenant.support_email = "service@alpha.test"
    world_a.tenant.save()
    _complaint(world_a)

    sent = _send(world_a.customer, "complaint.filed")

    assert sent.from_email == f"{world_a.tenant.name} <no-reply@rma.example>"
    assert sent.reply_to == ["service@alpha.test"]
    assert "References" not in sent.extra_headers
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"


def test_a_tenant_name_cannot_inject_headers(world_a, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "no-reply@rma.example"
    world_a.tenant.name = "Alpha\r\nBcc: victim@evil.test"
    world_a.tenant.save()
    _complaint(world_a)

    sent = _send(world_a.customer, "complaint.filed")

    header = sent.message().as_bytes().split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in header
    assert sent.from_email == '"Alpha Bcc: victim@evil.test" <no-reply@rma.example>'

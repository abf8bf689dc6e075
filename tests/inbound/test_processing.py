"""The handlers the domain apps register: each stored message is handed to them once, a
handler's failure holds the message (never loses it), and what a failing handler wrote is
rolled back."""

from __future__ import annotations

import pytest

from rma_portal.inbound import services
from rma_portal.inbound.handlers import (
    Handled,
    register_handler,
    registered_handlers,
    unregister_handler,
)
from rma_portal.inbound.models import InboundMessage, MessageStatus
from rma_portal.tenancy.models import TenantSequence

from .conftest import make_message

pytestmark = pytest.mark.django_db


def _statuses(mailbox) -> list[tuple[str, str]]:
    return list(
        InboundMessage.unscoped.filter(mailbox=mailbox)
        .order_by("uid")
        .values_list("subject", "status")
    )


def test_without_handlers_a_message_stays_new_until_one_is_registered(
    world_a, imap_folder, make_mailbox
):
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message("Waiting"))
    services.fetch_mailbox(mailbox)
    assert _statuses(mailbox) == [("Waiting", MessageStatus.NEW)]

    seen = []
    register_handler(lambda message: seen.append(message.subject) or Handled())
    # The next poll finds nothing new on the server but hands out what is still new.
    result = services.fetch_mailbox(mailbox)

    assert (result.stored, result.processed) == (0, 1)
    assert seen == ["Waiting"]
    message = InboundMessage.unscoped.get(mailbox=mailbox)
    assert message.status == MessageStatus.PROCESSED
    assert message.processed_at is not None


def test_handlers_are_asked_in_turn_until_one_takes_the_message(world_a, imap_folder, make_mailbox):
    # given: the first handler takes only complaints, the second ignores auto-replies
    def complaints(message):
        if "complaint" in message.subject.lower():
            return Handled()
        return None

    def auto_replies(message):
        if message.subject.startswith("Out of office"):
            return Handled(MessageStatus.IGNORED, "Auto-reply.")
        return None

    register_handler(complaints)
    register_handler(auto_replies)
    register_handler(complaints)  # twice changes nothing
    assert registered_handlers() == (complaints, auto_replies)
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    for subject in ["Complaint: broken pump", "Out of office", "Hello"]:
        imap_folder.append(make_message(subject))

    # when
    result = services.fetch_mailbox(mailbox)

    # then
    assert (result.stored, result.processed) == (3, 3)
    assert _statuses(mailbox) == [
        ("Complaint: broken pump", MessageStatus.PROCESSED),
        ("Out of office", MessageStatus.IGNORED),
        ("Hello", MessageStatus.IGNORED),
    ]
    reasons = InboundMessage.unscoped.filter(mailbox=mailbox).order_by("uid")
    assert [m.status_reason for m in reasons] == ["", "Auto-reply.", "No handler took the message."]


def test_a_failing_handler_holds_the_message_and_its_writes_are_undone(
    world_a, imap_folder, make_mailbox
):
    # given: a handler that writes, then fails on one message
    def fragile(message):
        TenantSequence.objects.create(tenant=message.tenant, name=f"S{message.uid}", year=2026)
        if "crash" in message.subject:
            raise ValueError("cannot read the order number")
        return Handled()

    register_handler(fragile)
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message("Fine"))
    crashing = imap_folder.append(make_message("Please crash"))
    imap_folder.append(make_message("Fine too"))

    # when
    result = services.fetch_mailbox(mailbox)

    # then: the others are processed; the failing one is held, with the error, and nothing
    # of what its handler wrote is left
    assert (result.outcome, result.stored) == ("fetched", 3)
    assert _statuses(mailbox) == [
        ("Fine", MessageStatus.PROCESSED),
        ("Please crash", MessageStatus.HELD),
        ("Fine too", MessageStatus.PROCESSED),
    ]
    held = InboundMessage.unscoped.get(mailbox=mailbox, uid=crashing)
    assert "ValueError: cannot read the order number" in held.status_reason
    assert "fragile" in held.status_reason
    assert held.raw_bytes()  # kept
    sequences = TenantSequence.unscoped.filter(tenant=world_a.tenant, name__startswith="S")
    assert sorted(sequences.values_list("name", flat=True)) == ["S1", "S3"]

    # when: the handler is fixed, and the message processed again from the back-office
    unregister_handler(fragile)
    register_handler(lambda message: Handled())
    assert services.process_again(held) == MessageStatus.PROCESSED
    held.refresh_from_db()
    assert (held.status, held.status_reason) == (MessageStatus.PROCESSED, "")


def test_a_handler_answering_nonsense_holds_the_message(world_a, imap_folder, make_mailbox):
    register_handler(lambda message: "done")
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message("Odd"))

    services.fetch_mailbox(mailbox)

    message = InboundMessage.unscoped.get(mailbox=mailbox)
    assert message.status == MessageStatus.HELD
    assert "'done'" in message.status_reason


def test_refused_messages_are_not_handed_to_the_handlers(
    world_a, imap_folder, make_mailbox, settings
):
    settings.INBOUND_MAIL_MAX_BYTES = 2048
    seen = []
    register_handler(lambda message: seen.append(message.subject) or Handled())
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message("Huge", body="y" * 5000 + "\n"))

    services.fetch_mailbox(mailbox)

    assert seen == []
    assert _statuses(mailbox) == [("Huge", MessageStatus.REFUSED)]


def test_a_message_is_handed_out_once(world_a, imap_folder, make_mailbox):
    calls = []
    register_handler(lambda message: calls.append(message.pk) or Handled())
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message())
    services.fetch_mailbox(mailbox)
    message = InboundMessage.unscoped.get(mailbox=mailbox)

    assert services.process_message(message) == MessageStatus.PROCESSED  # already done
    assert services.process_pending(mailbox) == 0
    assert calls == [message.pk]


def test_handled_refuses_statuses_a_handler_cannot_give():
    with pytest.raises(ValueError, match="processed, ignored or held"):
        Handled(MessageStatus.REFUSED)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Subject: =?utf-8?b?WmfFgm9zemVuaWUgcmVrbGFtYWNqaQ==?=\r\n", "Zgłoszenie reklamacji"),
        (b"Subject: Folded\r\n  over two lines\r\n", "Folded over two lines"),
        (b"Subject: =?unknown-charset?q?caf=E9?=\r\n", "caf\ufffd"),
        (b"Subject: raw \xff\xfe bytes\r\n", "raw \ufffd\ufffd bytes"),
        (b"", ""),
    ],
)
def test_header_fields_are_decoded_and_never_raise(header, expected):
    fields = services.header_fields(header + b"From: Anna <a@b.test>\r\n\r\nbody")
    assert fields["subject"] == expected
    assert fields["from_header"] == "Anna <a@b.test>"


def test_header_fields_are_cut_to_their_columns():
    long_id = "<" + "x" * 1000 + "@customer.test>"
    fields = services.header_fields(f"Message-ID: {long_id}\r\n\r\n".encode())
    assert len(fields["message_id"]) == 500

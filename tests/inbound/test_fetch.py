"""Fetching support mailboxes from a real IMAP server (Dovecot, tests/inbound/conftest.py):
what is stored, the UID bookkeeping, a changed UIDVALIDITY, failures half-way, the size
limit and the lease that keeps two fetches of one mailbox apart."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.utils import timezone

from rma_portal.inbound import services
from rma_portal.inbound.models import InboundMessage, Mailbox, MessageStatus

from .conftest import make_message, stored_files

pytestmark = pytest.mark.django_db


def _messages(mailbox: Mailbox) -> list[InboundMessage]:
    return list(InboundMessage.unscoped.filter(mailbox=mailbox).order_by("uidvalidity", "uid"))


def _fetch(mailbox: Mailbox) -> services.FetchResult:
    mailbox.refresh_from_db()
    return services.fetch_mailbox(mailbox)


def test_new_messages_are_stored_as_fetched(world_a, imap_folder, make_mailbox, settings):
    # given
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    first = make_message("=?utf-8?q?Reklamacja=3A_p=C4=99kni=C4=99ta_obudowa?=")
    second = make_message("Second one", message_id="<second@customer.test>")
    uids = [imap_folder.append(first), imap_folder.append(second)]

    # when
    result = _fetch(mailbox)

    # then
    assert (result.outcome, result.stored, result.refused) == ("fetched", 2, 0)
    stored = _messages(mailbox)
    assert [m.uid for m in stored] == uids
    assert [m.raw_bytes() for m in stored] == [first, second]  # byte for byte
    assert stored[0].subject == "Reklamacja: pęknięta obudowa"
    assert stored[1].message_id == "<second@customer.test>"
    assert stored[1].from_header == "Jan Kowalski <jan@customer.test>"
    assert stored[1].to_header == "Support <support@alpha.test>"
    for message in stored:
        assert message.tenant_id == world_a.tenant.pk
        assert message.status == MessageStatus.NEW  # no handler registered
        assert message.size == len(message.raw_bytes())
        assert message.received_at is not None
        assert message.raw.name.startswith(f"tenants/{world_a.tenant.pk}/inbound/")
        assert message.parsed().get_content().startswith("The pump")
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity == imap_folder.uidvalidity()
    assert mailbox.last_uid == uids[-1]
    assert mailbox.last_fetched_at is not None
    assert (mailbox.last_error, mailbox.fetch_lease_until, mailbox.fetch_lease_token) == (
        "",
        None,
        "",
    )
    # Nothing changed on the server: both still there, neither marked as read.
    assert imap_folder.flags() == {uids[0]: (), uids[1]: ()}


def test_each_message_is_fetched_once(world_a, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message("One"))
    imap_folder.append(make_message("Two"))
    assert _fetch(mailbox).stored == 2

    again = _fetch(mailbox)
    assert (again.outcome, again.stored, again.already_stored) == ("fetched", 0, 0)

    newest = imap_folder.append(make_message("Three"))
    assert _fetch(mailbox).stored == 1
    assert _fetch(mailbox).stored == 0

    assert [m.subject for m in _messages(mailbox)] == ["One", "Two", "Three"]
    mailbox.refresh_from_db()
    assert mailbox.last_uid == newest


def test_a_changed_uidvalidity_starts_the_bookkeeping_again(
    world_a, imap_folder, make_mailbox, caplog
):
    # given: one message fetched
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message("Old", message_id="<old@customer.test>"))
    _fetch(mailbox)
    old_validity = imap_folder.uidvalidity()

    # when: the folder is made again (UIDs start at 1 again), holding the old message again
    # and a new one
    imap_folder.recreate()
    assert imap_folder.uidvalidity() != old_validity
    imap_folder.append(make_message("Old", message_id="<old@customer.test>"))
    new_uid = imap_folder.append(make_message("New", message_id="<new@customer.test>"))
    with caplog.at_level(logging.WARNING, logger="rma_portal.inbound.services"):
        result = _fetch(mailbox)

    # then: both are stored under the new UIDVALIDITY; the one fetched before is not handed
    # to the handlers a second time
    assert result.stored == 2
    assert "UIDVALIDITY changed" in caplog.text
    mailbox.refresh_from_db()
    assert (mailbox.uidvalidity, mailbox.last_uid) == (imap_folder.uidvalidity(), new_uid)
    old, again, new = _messages(mailbox)
    assert (old.uidvalidity, old.uid, old.status) == (old_validity, 1, MessageStatus.NEW)
    assert (again.uidvalidity, again.uid) == (mailbox.uidvalidity, 1)
    assert again.status == MessageStatus.IGNORED
    assert "UIDVALIDITY changed" in again.status_reason
    assert (new.subject, new.status) == ("New", MessageStatus.NEW)


def test_a_fetch_that_fails_while_storing_loses_and_doubles_nothing(
    world_a, imap_folder, make_mailbox, monkeypatch, settings
):
    # given: three messages; storing the second one's file fails once, after writing it
    # (a full disk, a worker killed before the commit)
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    uids = [imap_folder.append(make_message(f"Message {n}")) for n in (1, 2, 3)]
    real_save_file = services.save_file
    calls = []

    def save_file_failing_once(storage, name, content, **kwargs):
        stored = real_save_file(storage, name, content, **kwargs)
        calls.append(stored)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return stored

    monkeypatch.setattr(services, "save_file", save_file_failing_once)

    # when
    failed = _fetch(mailbox)

    # then: the first is stored, the second's transaction rolled back (its file with it), the
    # third not fetched; the bookkeeping stops before the second
    assert (failed.outcome, failed.stored) == ("error", 1)
    assert "No space left on device" in failed.error
    mailbox.refresh_from_db()
    assert mailbox.last_uid == uids[0]
    assert "No space left on device" in mailbox.last_error
    assert mailbox.last_error_at is not None
    assert mailbox.fetch_lease_until is None  # released for the next poll
    assert [m.uid for m in _messages(mailbox)] == uids[:1]
    assert len(stored_files(settings.MEDIA_ROOT)) == 1

    # when: the next poll
    again = _fetch(mailbox)

    # then: the second and third, each once
    assert (again.outcome, again.stored) == ("fetched", 2)
    assert [m.uid for m in _messages(mailbox)] == uids
    assert [m.subject for m in _messages(mailbox)] == ["Message 1", "Message 2", "Message 3"]
    assert len(stored_files(settings.MEDIA_ROOT)) == 3
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.last_error) == (uids[-1], "")


def test_fetching_again_what_is_stored_changes_nothing(
    world_a, imap_folder, make_mailbox, settings
):
    # given: two messages stored, then the bookkeeping lost (a database restored from a
    # backup older than the files)
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message("One"))
    imap_folder.append(make_message("Two"))
    _fetch(mailbox)
    Mailbox.unscoped.filter(pk=mailbox.pk).update(last_uid=0)

    # when
    result = _fetch(mailbox)

    # then
    assert (result.stored, result.already_stored) == (0, 2)
    assert len(_messages(mailbox)) == 2
    assert len(stored_files(settings.MEDIA_ROOT)) == 2


def test_a_message_over_the_size_limit_is_refused_without_downloading_it(
    world_a, imap_folder, make_mailbox, monkeypatch, settings
):
    # given
    settings.INBOUND_MAIL_MAX_BYTES = 4096
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    small = imap_folder.append(make_message("Small"))
    large = imap_folder.append(make_message("Photos attached", body="x" * 10_000 + "\n"))
    asked = []
    real_fetch_part = services._fetch_part

    def recording_fetch_part(client, uid, item):
        asked.append((uid, item))
        return real_fetch_part(client, uid, item)

    monkeypatch.setattr(services, "_fetch_part", recording_fetch_part)

    # when
    result = _fetch(mailbox)

    # then: only the large one's header was downloaded
    assert (result.stored, result.refused) == (1, 1)
    assert (large, "BODY.PEEK[]") not in asked
    assert (small, "BODY.PEEK[]") in asked
    kept, refused = _messages(mailbox)
    assert kept.status == MessageStatus.NEW
    assert refused.status == MessageStatus.REFUSED
    assert "limit of 4096 bytes" in refused.status_reason
    assert refused.size > 10_000  # what the server said
    assert refused.subject == "Photos attached"
    assert not refused.raw
    assert refused.raw_bytes() == b""
    assert len(stored_files(settings.MEDIA_ROOT)) == 1
    mailbox.refresh_from_db()
    assert mailbox.last_uid == large  # never asked for again


def test_messages_are_marked_as_read_only_when_the_mailbox_says_so(
    world_a, make_imap_folder, make_mailbox
):
    unread_folder, read_folder = make_imap_folder(), make_imap_folder()
    unread = make_mailbox(world_a.tenant, unread_folder, name="Keeps unread")
    read = make_mailbox(world_a.tenant, read_folder, name="Marks read", mark_seen=True)
    left = unread_folder.append(make_message())
    seen = read_folder.append(make_message())

    _fetch(unread)
    _fetch(read)

    assert unread_folder.flags() == {left: ()}
    assert read_folder.flags() == {seen: (b"\\Seen",)}
    assert unread_folder.uids() == [left]  # nothing is moved or deleted
    assert read_folder.uids() == [seen]


def test_a_mailbox_being_fetched_is_not_fetched_by_another_worker_meanwhile(
    world_a, imap_folder, make_mailbox, monkeypatch
):
    # given: a second fetch of the same mailbox starts while the first is in the middle of
    # its work (here: when the first connects to the server)
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message())
    real_connect = services.imap.connect
    meanwhile = []

    def connect_and_meanwhile(box):
        meanwhile.append(services.fetch_mailbox(Mailbox.unscoped.get(pk=box.pk)))
        return real_connect(box)

    monkeypatch.setattr(services.imap, "connect", connect_and_meanwhile)

    # when
    result = services.fetch_mailbox(mailbox)

    # then
    assert [r.outcome for r in meanwhile] == ["busy"]
    assert (result.outcome, result.stored) == ("fetched", 1)
    assert len(_messages(mailbox)) == 1


def test_a_lease_that_ran_out_is_taken_over(world_a, imap_folder, make_mailbox):
    # given: a worker died while fetching; its lease is still on the mailbox
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message())
    now = timezone.now()
    Mailbox.unscoped.filter(pk=mailbox.pk).update(
        fetch_lease_until=now + datetime.timedelta(minutes=5), fetch_lease_token="dead"
    )
    assert _fetch(mailbox).outcome == "busy"

    # when: its lease ran out
    Mailbox.unscoped.filter(pk=mailbox.pk).update(fetch_lease_until=now)
    result = _fetch(mailbox)

    # then
    assert (result.outcome, result.stored) == ("fetched", 1)


def test_an_inactive_mailbox_is_not_fetched(world_a, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder, is_active=False)
    imap_folder.append(make_message())

    assert _fetch(mailbox).outcome == "inactive"
    assert services.fetch_mailbox(mailbox, even_inactive=True).stored == 1


def test_a_wrong_password_is_recorded_on_the_mailbox(world_a, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder, password="not-the-password-7781")
    imap_folder.append(make_message())

    result = _fetch(mailbox)

    assert result.outcome == "error"
    mailbox.refresh_from_db()
    assert "LoginError" in mailbox.last_error
    assert "not-the-password-7781" not in mailbox.last_error
    assert (mailbox.last_uid, mailbox.fetch_lease_until) == (0, None)
    assert _messages(mailbox) == []


def test_a_missing_folder_is_recorded_on_the_mailbox(world_a, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder, folder="No such folder")

    assert _fetch(mailbox).outcome == "error"
    mailbox.refresh_from_db()
    assert mailbox.last_error


def test_servers_on_private_addresses_are_refused_unless_allowed(
    world_a, imap_folder, make_mailbox, settings
):
    settings.INBOUND_MAIL_ALLOW_PRIVATE_ADDRESSES = False
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message())

    result = _fetch(mailbox)

    assert result.outcome == "error"
    assert "private, loopback or reserved" in result.error
    assert _messages(mailbox) == []

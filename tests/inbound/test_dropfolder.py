"""The drop folder of the embedded mode: an .eml file put into it becomes a complaint and
moves to done/; a file no mailbox takes moves to failed/; the demo seeds the mailboxes."""

from __future__ import annotations

import io
import os
import sys
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from complaints.models import Complaint
from rma_portal.inbound import dropfolder
from rma_portal.inbound.demo import seed
from rma_portal.inbound.models import InboundMessage, Mailbox, MailboxKind, MessageStatus
from rma_portal.tenancy.context import tenant_context

from .conftest import build_mail

pytestmark = pytest.mark.django_db


def _names(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_dropped_file_becomes_a_complaint_and_moves_to_done(
    world_a, folder_mailbox, mail_handlers, tmp_path
):
    folder_mailbox(world_a.tenant, address="support@alpha.test")
    inbox = tmp_path / "mail-in"
    inbox.mkdir()
    raw = build_mail(
        "Dropped", sender=world_a.customer.email, to="Alpha Support <Support@Alpha.test>"
    )
    (inbox / "complaint.eml").write_bytes(raw)
    (inbox / "notes.txt").write_text("not mail")

    results = dropfolder.collect(inbox, settle_seconds=0)

    assert [(r.file, r.outcome) for r in results] == [("complaint.eml", MessageStatus.PROCESSED)]
    assert Complaint.unscoped.get(tenant=world_a.tenant).subject == "Dropped"
    assert _names(inbox) == ["done", "notes.txt"]
    [done] = (inbox / "done").iterdir()
    assert done.name.endswith("-complaint.eml")
    assert done.read_bytes() == raw
    assert InboundMessage.unscoped.get().raw_bytes() == raw


def test_a_file_read_again_is_not_stored_twice(world_a, folder_mailbox, mail_handlers, tmp_path):
    # e.g. the process stopped after storing it, before moving the file
    folder_mailbox(world_a.tenant)
    raw = build_mail(sender=world_a.customer.email, to="support@alpha.test")
    for _ in range(2):
        (tmp_path / "again.eml").write_bytes(raw)
        dropfolder.collect(tmp_path, settle_seconds=0)

    assert InboundMessage.unscoped.count() == 1
    assert Complaint.unscoped.count() == 1
    assert len(list((tmp_path / "done").iterdir())) == 2


def test_a_file_no_mailbox_takes_moves_to_failed(world_a, folder_mailbox, tmp_path, caplog):
    folder_mailbox(world_a.tenant)
    (tmp_path / "stray.eml").write_bytes(build_mail(to="nobody@elsewhere.test"))

    results = dropfolder.collect(tmp_path, settle_seconds=0)

    assert [r.outcome for r in results] == ["no mailbox"]
    assert _names(tmp_path / "failed")[0].endswith("-stray.eml")
    assert not InboundMessage.unscoped.exists()
    assert "taken by no mailbox" in caplog.text


def test_a_file_being_written_waits_for_the_next_round(world_a, folder_mailbox, tmp_path):
    folder_mailbox(world_a.tenant)
    path = tmp_path / "fresh.eml"
    path.write_bytes(build_mail(to="support@alpha.test"))
    os.utime(path)  # just now

    assert dropfolder.collect(tmp_path, settle_seconds=3600) == []
    assert path.exists()


def test_fetch_mail_reads_a_drop_folder(world_a, folder_mailbox, mail_handlers, tmp_path):
    mailbox = folder_mailbox(world_a.tenant)
    (tmp_path / "a.eml").write_bytes(build_mail(sender=world_a.customer.email, to="x@y.test"))
    out = io.StringIO()

    # addressed elsewhere, but the mailbox is named
    call_command("fetch_mail", "--drop-folder", str(tmp_path), "--mailbox", mailbox.pk, stdout=out)

    assert out.getvalue() == f"a.eml: alpha: mailbox {mailbox.pk}: processed\n"
    assert Complaint.unscoped.count() == 1


class _Thread:
    """Records the thread the poller would start, without starting it."""

    made: list[dict] = []

    def __init__(self, **kwargs) -> None:
        self.made.append(kwargs)

    def start(self) -> None:
        pass


def test_the_poller_runs_only_in_the_embedded_development_server(settings, monkeypatch, tmp_path):
    monkeypatch.setattr(dropfolder, "_started", type(dropfolder._started)())
    # The module's view of `threading` only: other code keeps the real Thread.
    monkeypatch.setattr(dropfolder, "threading", SimpleNamespace(Thread=_Thread))
    monkeypatch.setattr(_Thread, "made", [])
    settings.EMBEDDED, settings.INBOUND_MAIL_DROP_FOLDER = True, ""
    monkeypatch.setattr(sys, "argv", ["manage.py", "runserver"])
    monkeypatch.setenv("RUN_MAIN", "true")
    assert not dropfolder.start_embedded_poller()  # no folder

    settings.INBOUND_MAIL_DROP_FOLDER = str(tmp_path / "mail-in")
    monkeypatch.setattr(sys, "argv", ["manage.py", "migrate"])
    assert not dropfolder.start_embedded_poller()  # not the server
    monkeypatch.setattr(sys, "argv", ["manage.py", "runserver"])
    settings.EMBEDDED = False
    assert not dropfolder.start_embedded_poller()  # production settings
    settings.EMBEDDED = True
    monkeypatch.delenv("RUN_MAIN")
    assert not dropfolder.start_embedded_poller()  # the autoreloader's watching process
    assert _Thread.made == []

    monkeypatch.setenv("RUN_MAIN", "true")
    assert dropfolder.start_embedded_poller()
    assert not dropfolder.start_embedded_poller()  # once
    [thread] = _Thread.made
    assert thread["daemon"] is True
    assert thread["args"] == (tmp_path / "mail-in", settings.INBOUND_MAIL_DROP_FOLDER_SECONDS)
    assert (tmp_path / "mail-in").is_dir()


def test_the_demo_seeds_a_drop_folder_mailbox_once(world_a):
    world_a.tenant.support_email = "support@alpha.demo"
    world_a.tenant.save()
    with tenant_context(world_a.tenant):
        assert seed(tenant=world_a.tenant, rng=None) == {"mailboxes": 1}
        assert seed(tenant=world_a.tenant, rng=None) == {}
    mailbox = Mailbox.unscoped.get(tenant=world_a.tenant)
    assert (mailbox.address, mailbox.kind, mailbox.reply_address, mailbox.is_active) == (
        "support@alpha.demo",
        MailboxKind.FOLDER,
        True,
        True,
    )

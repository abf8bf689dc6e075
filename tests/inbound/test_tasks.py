"""Beat's poll, the per-mailbox task, `manage.py fetch_mail`, and tenant isolation: a
mailbox's messages are its tenant's, stored under its tenant's folder, invisible to others."""

from __future__ import annotations

import io

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from rma_portal.celery import app as celery_app
from rma_portal.inbound.models import InboundMessage
from rma_portal.inbound.tasks import fetch_mailbox_task, poll_mailboxes_task
from rma_portal.tenancy.context import tenant_context

from .conftest import make_message

pytestmark = pytest.mark.django_db


def test_beat_polls_the_mailboxes():
    entry = django_settings.CELERY_BEAT_SCHEDULE["poll-mailboxes"]
    celery_app.loader.import_default_modules()
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == django_settings.INBOUND_MAIL_POLL_SECONDS == 60


def test_the_poll_fetches_every_active_mailbox_each_as_its_tenant(
    world_a, world_b, make_imap_folder, make_mailbox, settings
):
    # given: a mailbox per tenant, and one switched off
    folder_a, folder_b, folder_off = (make_imap_folder() for _ in range(3))
    box_a = make_mailbox(world_a.tenant, folder_a)
    box_b = make_mailbox(world_b.tenant, folder_b)
    make_mailbox(world_a.tenant, folder_off, name="Old", is_active=False)
    for folder in (folder_a, folder_b, folder_off):
        folder.append(make_message(f"For {folder.name}"))

    # when (tasks run in-process in the tests)
    assert poll_mailboxes_task() == 2

    # then: each fetch succeeded (a failure is recorded on its mailbox, and said here)
    for box in (box_a, box_b):
        box.refresh_from_db()
        assert (box.last_error, box.last_fetched_at is not None) == ("", True), box.name
    stored = InboundMessage.unscoped.order_by("pk")
    assert [(m.mailbox_id, m.tenant_id) for m in stored] == [
        (box_a.pk, world_a.tenant.pk),
        (box_b.pk, world_b.tenant.pk),
    ]
    for message in stored:
        assert message.raw.name.startswith(f"tenants/{message.tenant_id}/inbound/")
    with tenant_context(world_a.tenant):
        assert [m.mailbox_id for m in InboundMessage.objects.all()] == [box_a.pk]
    with tenant_context(world_b.tenant):
        assert [m.mailbox_id for m in InboundMessage.objects.all()] == [box_b.pk]

    # a tenant switched off is not polled
    world_b.tenant.is_active = False
    world_b.tenant.save()
    assert poll_mailboxes_task() == 1


def test_the_task_reports_its_outcome(world_a, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message())

    assert fetch_mailbox_task(mailbox.pk, world_a.tenant.pk) == "fetched 1 (refused 0)"
    assert fetch_mailbox_task(mailbox.pk, world_a.tenant.pk) == "fetched 0 (refused 0)"
    assert fetch_mailbox_task(mailbox.pk + 1000, world_a.tenant.pk) == "missing"


def test_the_task_of_another_tenant_finds_no_mailbox(world_a, world_b, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder)
    imap_folder.append(make_message())

    assert fetch_mailbox_task(mailbox.pk, world_b.tenant.pk) == "missing"
    assert not InboundMessage.unscoped.exists()


def test_fetch_mail_command(world_a, world_b, make_imap_folder, make_mailbox):
    folder_a, folder_off = make_imap_folder(), make_imap_folder()
    active = make_mailbox(world_a.tenant, folder_a)
    inactive = make_mailbox(world_b.tenant, folder_off, is_active=False)
    folder_a.append(make_message())
    folder_off.append(make_message())
    out = io.StringIO()

    call_command("fetch_mail", stdout=out)
    assert (
        out.getvalue()
        == f"alpha: mailbox {active.pk} (support@alpha.test): fetched 1 (refused 0)\n"
    )

    out = io.StringIO()
    call_command("fetch_mail", "--mailbox", str(inactive.pk), stdout=out)
    assert "fetched 1" in out.getvalue()
    assert InboundMessage.unscoped.filter(mailbox=inactive, tenant=world_b.tenant).count() == 1

    with pytest.raises(CommandError, match="No mailbox with the id"):
        call_command("fetch_mail", "--mailbox", str(inactive.pk + 1000))


def test_fetch_mail_fails_when_a_fetch_fails(world_a, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder, password="wrong-password")
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 of 1 fetches failed"):
        call_command("fetch_mail", stdout=io.StringIO(), stderr=err)
    assert f"mailbox {mailbox.pk}" in err.getvalue()
    assert "LoginError" in err.getvalue()

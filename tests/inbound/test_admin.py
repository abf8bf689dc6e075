"""The back-office of inbound e-mail: tenant admins set up their tenant's mailboxes (the
password never shown again), read the fetched messages and download their raw file; other
staff roles see none of it. (Foreign ids answering like missing ones: test_admin_scoping.)"""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.core.files.base import ContentFile
from django.urls import reverse

from rma_portal.inbound import handlers
from rma_portal.inbound.handlers import Handled
from rma_portal.inbound.models import InboundMessage, Mailbox, MessageStatus, TlsMode
from tests.html import parse

from .conftest import IMAP_PASSWORD, make_message

pytestmark = pytest.mark.django_db

ADD = "admin:inbound_mailbox_add"


def _form(**fields) -> dict:
    return {
        "name": "Complaints",
        "address": "complaints@alpha.test",
        "kind": "imap",
        "host": "127.0.0.1",
        "port": "10143",
        "tls_mode": TlsMode.NONE,
        "username": "alpha",
        "password": "s3cret-imap",
        "folder": "INBOX",
        "is_active": "on",
        **fields,
    }


def _message(mailbox: Mailbox, raw: bytes = b"", **fields) -> InboundMessage:
    message = InboundMessage(
        tenant=mailbox.tenant,
        mailbox=mailbox,
        uidvalidity=1,
        uid=fields.pop("uid", 1),
        size=len(raw),
        **fields,
    )
    if raw:
        message.raw.save("message.eml", ContentFile(raw), save=False)
    message.save()
    return message


@pytest.fixture
def mailbox(world_a) -> Mailbox:
    return Mailbox.unscoped.create(
        tenant=world_a.tenant,
        name="Support",
        address="support@alpha.test",
        host="127.0.0.1",
        port=10143,
        tls_mode=TlsMode.NONE,
        username="alpha",
        password="kept-password",
    )


def test_a_tenant_admin_adds_a_mailbox_of_their_tenant(world_a, login):
    client = login(world_a.tenant_admin)

    response = client.post(reverse(ADD), _form())

    assert response.status_code == 302, parse(response).select_one(".errorlist")
    mailbox = Mailbox.unscoped.get()
    assert (mailbox.tenant, mailbox.password, mailbox.last_uid) == (
        world_a.tenant,
        "s3cret-imap",
        0,
    )


def test_the_password_is_never_shown_and_kept_when_left_empty(world_a, login, mailbox):
    client = login(world_a.tenant_admin)
    change = reverse("admin:inbound_mailbox_change", args=[mailbox.pk])

    page = client.get(change)
    assert page.status_code == 200
    assert b"kept-password" not in page.content
    response = client.post(change, _form(password="", name="Renamed"))

    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.password) == ("Renamed", "kept-password")


def test_the_password_is_asked_again_when_the_server_changes(world_a, login, mailbox):
    client = login(world_a.tenant_admin)
    change = reverse("admin:inbound_mailbox_change", args=[mailbox.pk])

    response = client.post(change, _form(password="", host="127.0.0.2"))

    assert response.status_code == 200
    assert "Enter the password again" in parse(response).text
    mailbox.refresh_from_db()
    assert mailbox.host == "127.0.0.1"


def test_a_new_mailbox_needs_a_password(world_a, login):
    response = login(world_a.tenant_admin).post(reverse(ADD), _form(password=""))

    assert response.status_code == 200
    assert "Enter the mailbox's password." in parse(response).text
    assert not Mailbox.unscoped.exists()


def test_servers_on_private_addresses_are_refused_by_the_form(world_a, login, settings):
    settings.INBOUND_MAIL_ALLOW_PRIVATE_ADDRESSES = False

    response = login(world_a.tenant_admin).post(reverse(ADD), _form(host="127.0.0.1"))

    assert response.status_code == 200
    assert "private, loopback or reserved" in parse(response).text
    assert not Mailbox.unscoped.exists()


@pytest.mark.parametrize("role", ["agent", "coordinator", "manager"])
def test_other_staff_roles_see_no_inbound_pages(world_a, login, mailbox, role):
    message = _message(mailbox, b"Subject: x\r\n\r\nbody")
    client = login(getattr(world_a, role))

    assert client.get(reverse("admin:inbound_mailbox_changelist")).status_code == 403
    assert client.get(reverse("admin:inbound_inboundmessage_changelist")).status_code == 403
    assert client.get(reverse(ADD)).status_code == 403
    raw = reverse("admin:inbound_inboundmessage_raw", args=[message.pk])
    assert client.get(raw).status_code in (403, 404)
    assert b"inbound" not in client.get(reverse("admin:index")).content


def test_the_raw_message_is_downloaded_by_its_tenants_admin_only(world_a, world_b, login, mailbox):
    raw = make_message("Raw one")
    own = _message(mailbox, raw, subject="Raw one")
    foreign_box = Mailbox.unscoped.create(
        tenant=world_b.tenant, name="B", address="b@beta.test", host="h", username="u", password="p"
    )
    foreign = _message(foreign_box, b"Subject: secret\r\n\r\nof tenant B")
    client = login(world_a.tenant_admin)

    response = client.get(reverse("admin:inbound_inboundmessage_raw", args=[own.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == raw
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"].startswith("attachment")
    other = client.get(reverse("admin:inbound_inboundmessage_raw", args=[foreign.pk]))
    assert other.status_code == 404
    page = client.get(reverse("admin:inbound_inboundmessage_change", args=[own.pk]))
    assert "Download (.eml)" in parse(page).text


def test_held_messages_are_processed_again_from_the_backoffice(world_a, login, mailbox):
    held = _message(
        mailbox,
        b"From: a@customer.test\r\nSubject: held\r\n\r\nbody",
        status=MessageStatus.HELD,
        status_reason="boom",
    )
    done = _message(mailbox, b"Subject: done\r\n\r\nbody", uid=2, status=MessageStatus.PROCESSED)
    handlers.register_handler(lambda message: Handled())
    client = login(world_a.tenant_admin)

    response = client.post(
        reverse("admin:inbound_inboundmessage_changelist"),
        {"action": "process_again_selected", helpers.ACTION_CHECKBOX_NAME: [held.pk, done.pk]},
        follow=True,
    )

    assert "1 message was processed again; 0 of them is held." in parse(response).text
    held.refresh_from_db()
    assert (held.status, held.status_reason) == (MessageStatus.PROCESSED, "")


def test_fetch_now_fetches_the_selected_mailboxes(world_a, login, imap_folder, make_mailbox):
    mailbox = make_mailbox(world_a.tenant, imap_folder, password=IMAP_PASSWORD)
    imap_folder.append(make_message("Fetched from the back-office"))
    client = login(world_a.tenant_admin)

    response = client.post(
        reverse("admin:inbound_mailbox_changelist"),
        {"action": "fetch_now", helpers.ACTION_CHECKBOX_NAME: [mailbox.pk]},
        follow=True,
    )

    assert "1 mailbox is being fetched" in parse(response).text
    assert InboundMessage.unscoped.get(mailbox=mailbox).subject == "Fetched from the back-office"


def test_a_mailbox_whose_mail_is_posted_needs_a_signing_key_not_imap(world_a, login, settings):
    client = login(world_a.tenant_admin)
    assert client.get(reverse(ADD)).status_code == 200
    http = {"name": "Mailgun", "address": "mail@alpha.test", "kind": "http", "is_active": "on"}

    refused = client.post(reverse(ADD), http)
    assert refused.status_code == 200
    assert "Needed to check that the provider sent what it posts." in parse(refused).text

    response = client.post(reverse(ADD), {**http, "signing_key": "key-123"})
    assert response.status_code == 302, [e.text for e in parse(response).select(".errorlist")]
    mailbox = Mailbox.unscoped.get()
    assert (mailbox.kind, mailbox.signing_key, mailbox.host, mailbox.password) == (
        "http",
        "key-123",
        "",
        "",
    )
    page = client.get(reverse("admin:inbound_mailbox_change", args=[mailbox.pk]))
    assert b"key-123" not in page.content
    url = f"{settings.SITE_URL}/inbound/mailgun/{world_a.tenant.slug}/{mailbox.pk}/mime"
    assert url in parse(page).text
    # left empty, the key is kept
    client.post(
        reverse("admin:inbound_mailbox_change", args=[mailbox.pk]), {**http, "name": "Renamed"}
    )
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.signing_key) == ("Renamed", "key-123")


def test_an_imap_mailbox_still_needs_its_server(world_a, login):
    response = login(world_a.tenant_admin).post(reverse(ADD), _form(host="", username=""))
    assert response.status_code == 200
    assert "Needed to fetch the mail over IMAP." in parse(response).text

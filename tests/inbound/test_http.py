"""The inbound HTTP endpoint for Mailgun's routes (forward to a URL ending in /mime): real
requests through the test client, signed with the mailbox's key or not, replayed, late,
too large; what is stored goes to the same handlers as fetched mail."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from complaints.models import Complaint
from customers.cases import CaseChannel
from rma_portal.inbound.models import InboundMessage, Mailbox, MailboxKind, MessageStatus

from .conftest import build_mail

pytestmark = pytest.mark.django_db

KEY = "key-mailgun-signing-0123456789abcdef"


@pytest.fixture
def http_mailbox(world_a) -> Mailbox:
    return Mailbox.unscoped.create(
        tenant=world_a.tenant,
        name="Mailgun",
        address="support@alpha.test",
        kind=MailboxKind.HTTP,
        signing_key=KEY,
    )


def _url(mailbox: Mailbox) -> str:
    return reverse("inbound:mailgun_mime", args=[mailbox.tenant.slug, mailbox.pk])


def _signed(
    raw: bytes | None, *, key: str = KEY, timestamp: int | None = None, token: str | None = None
) -> dict[str, str]:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    fields = {
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        "recipient": "support@alpha.test",
        "sender": "jan@customer.test",
        "subject": "ignored: the MIME says",
    }
    if raw is not None:
        fields["body-mime"] = raw.decode("ascii")
    return fields


def test_a_signed_post_is_stored_and_handled_like_fetched_mail(
    world_a, http_mailbox, client, mail_handlers, django_capture_on_commit_callbacks
):
    raw = build_mail("Posted complaint", sender=world_a.customer.email, text="It rattles.\n")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(http_mailbox), _signed(raw))  # multipart/form-data

    assert response.status_code == 200, response.content
    assert response.json()["stored"] is True
    message = InboundMessage.unscoped.get(mailbox=http_mailbox)
    assert message.raw_bytes() == raw
    assert (message.uidvalidity, message.uid, message.subject) == (0, 1, "Posted complaint")
    # its processing was queued after the commit (run in-process here)
    assert message.status == MessageStatus.PROCESSED
    complaint = Complaint.unscoped.get(tenant=world_a.tenant)
    assert (complaint.reporter, complaint.channel, complaint.description) == (
        world_a.customer,
        CaseChannel.EMAIL,
        "It rattles.",
    )


def test_the_urlencoded_form_is_taken_too(world_a, http_mailbox, client):
    raw = build_mail("Encoded", sender=world_a.customer.email)

    response = client.post(
        _url(http_mailbox),
        urlencode(_signed(raw)),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert InboundMessage.unscoped.get(mailbox=http_mailbox).raw_bytes() == raw


def test_csrf_does_not_apply(world_a, http_mailbox):
    client = Client(enforce_csrf_checks=True)
    response = client.post(_url(http_mailbox), _signed(build_mail()))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        lambda raw: {"body-mime": raw.decode()},  # unsigned
        lambda raw: _signed(raw, key="somebody-elses-key"),
        lambda raw: {**_signed(raw), "signature": "0" * 64},
        lambda raw: {**_signed(raw), "token": "another-token"},  # the signature is of another
    ],
    ids=["unsigned", "other-key", "wrong-signature", "changed-token"],
)
def test_unsigned_or_badly_signed_posts_are_refused(http_mailbox, client, caplog, fields):
    with caplog.at_level(logging.WARNING, logger="rma_portal.inbound.views"):
        response = client.post(_url(http_mailbox), fields(build_mail()))

    assert response.status_code == 401
    assert "bad signature" in caplog.text
    assert not InboundMessage.unscoped.exists()


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_post_signed_too_long_ago_or_ahead_is_refused(http_mailbox, client, offset):
    signed = _signed(build_mail(), timestamp=int(time.time()) + offset)

    response = client.post(_url(http_mailbox), signed)

    assert response.status_code == 401
    assert not InboundMessage.unscoped.exists()


def test_a_replayed_post_stores_nothing_twice(http_mailbox, client):
    signed = _signed(build_mail(message_id="<once@customer.test>"))
    assert client.post(_url(http_mailbox), signed).json()["stored"] is True

    replay = client.post(_url(http_mailbox), signed)
    retry = client.post(_url(http_mailbox), _signed(build_mail(message_id="<once@customer.test>")))

    assert (replay.status_code, replay.json()["stored"]) == (200, False)
    assert (retry.status_code, retry.json()["stored"]) == (200, False)  # same Message-ID
    assert InboundMessage.unscoped.count() == 1


def test_a_route_that_does_not_forward_mime_is_told_so(http_mailbox, client):
    response = client.post(_url(http_mailbox), _signed(None))
    assert response.status_code == 422
    assert "/mime" in response.json()["detail"]


def test_only_an_active_http_mailbox_of_the_named_tenant_takes_posts(
    world_a, world_b, http_mailbox, client, folder_mailbox
):
    other_kind = folder_mailbox(world_a.tenant, address="drop@alpha.test")
    signed = _signed(build_mail())
    wrong_tenant = reverse("inbound:mailgun_mime", args=[world_b.tenant.slug, http_mailbox.pk])

    assert client.post(wrong_tenant, signed).status_code == 404
    assert client.post(_url(other_kind), signed).status_code == 404
    http_mailbox.is_active = False
    http_mailbox.save()
    assert client.post(_url(http_mailbox), signed).status_code == 404
    assert client.get(_url(http_mailbox)).status_code == 405
    assert not InboundMessage.unscoped.exists()


def test_sizes(http_mailbox, client, settings):
    settings.INBOUND_MAIL_MAX_BYTES = 4000
    # larger than the limit but a sane request: recorded as refused, with its header
    big = build_mail("Big one", text="x" * 6000 + "\n")
    response = client.post(_url(http_mailbox), _signed(big))
    assert response.status_code == 200
    message = InboundMessage.unscoped.get()
    assert (message.status, message.subject, message.raw) == (MessageStatus.REFUSED, "Big one", "")

    # a request far beyond what a message of the limit needs is not even read
    huge = build_mail("Huge one", text="y" * (1024 * 1024 + 20_000) + "\n")
    assert client.post(_url(http_mailbox), _signed(huge)).status_code == 406
    assert InboundMessage.unscoped.count() == 1

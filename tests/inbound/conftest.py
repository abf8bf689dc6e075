"""A real IMAP server for the inbound mail tests: the private Dovecot of scripts/imap-server.

TEST_IMAP_URL (imap://127.0.0.1:10143) names a running one (make test and .ci/run start it);
without it the session starts it here, or finds it already running. Without Dovecot the
tests that need the server are skipped, and fail with CI=true.

Each test gets a folder of its own on the server (`imap_folder`), so tests in parallel
processes never see each other's messages, and delivers its messages with IMAP APPEND.
IMAP commands are synchronous: when APPEND has answered, the message is in the folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from imapclient import IMAPClient

from rma_portal.inbound import handlers
from rma_portal.inbound.models import Mailbox, TlsMode

ROOT = Path(__file__).resolve().parents[2]
# The users and password of scripts/imap-server.
IMAP_PASSWORD = "imap-test-password"
IMAP_USER = "alpha"
IMAP_TIMEOUT = 60  # a guard against a hung server, never a deadline


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int

    def client(self, user: str = IMAP_USER) -> IMAPClient:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=IMAP_TIMEOUT)
        client.login(user, IMAP_PASSWORD)
        return client


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _start_server() -> str:
    if not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()):
        if _in_ci():
            pytest.fail("CI=true needs Dovecot (apt-get install dovecot-imapd) for tests/inbound")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    started = subprocess.run(
        [str(ROOT / "scripts" / "imap-server"), "start"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if started.returncode != 0:
        pytest.fail(f"scripts/imap-server start failed:\n{started.stdout}{started.stderr}")
    return started.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def imap_server() -> ImapServer:
    url = os.environ.get("TEST_IMAP_URL", "") or _start_server()
    parts = urlsplit(url)
    server = ImapServer(parts.hostname or "127.0.0.1", parts.port or 143)
    try:
        server.client().logout()
    except Exception as error:
        pytest.fail(f"the IMAP server at {url} does not let the test user in: {error!r}")
    return server


class ImapFolder:
    """A folder of its own on the test server, with the IMAP commands the tests use."""

    def __init__(self, server: ImapServer, name: str) -> None:
        self.server = server
        self.name = name
        self.user = IMAP_USER
        self._client = server.client()
        self._client.create_folder(name)

    def append(self, message: bytes) -> int:
        """Deliver `message`; returns its UID (from the server's APPENDUID answer)."""
        answer = self._client.append(self.name, message)
        found = re.search(rb"\[APPENDUID \d+ (\d+)\]", answer)
        assert found, answer
        return int(found[1])

    def uidvalidity(self) -> int:
        return self._client.folder_status(self.name, [b"UIDVALIDITY"])[b"UIDVALIDITY"]

    def recreate(self) -> None:
        """Delete the folder and make it again: a new UIDVALIDITY, UIDs from 1 again."""
        self._client.delete_folder(self.name)
        self._client.create_folder(self.name)

    def flags(self) -> dict[int, tuple[bytes, ...]]:
        """Each message's flags, but \\Recent (which only says which session saw it first)."""
        self._client.select_folder(self.name, readonly=True)
        try:
            found = self._client.get_flags(self._client.search("ALL"))
            return {
                uid: tuple(f for f in flags if f != b"\\Recent") for uid, flags in found.items()
            }
        finally:
            self._client.unselect_folder()

    def uids(self) -> list[int]:
        self._client.select_folder(self.name, readonly=True)
        try:
            return sorted(self._client.search("ALL"))
        finally:
            self._client.unselect_folder()

    def close(self) -> None:
        try:
            self._client.delete_folder(self.name)
        finally:
            self._client.logout()


@pytest.fixture
def imap_folder(imap_server):
    folder = ImapFolder(imap_server, f"test-{uuid.uuid4().hex[:12]}")
    yield folder
    folder.close()


@pytest.fixture
def make_imap_folder(imap_server):
    """More folders of their own, e.g. one per tenant."""
    folders = []

    def _make() -> ImapFolder:
        folders.append(ImapFolder(imap_server, f"test-{uuid.uuid4().hex[:12]}"))
        return folders[-1]

    yield _make
    for folder in folders:
        folder.close()


def make_message(
    subject: str = "Pump housing cracked",
    *,
    sender: str = "Jan Kowalski <jan@customer.test>",
    to: str = "Support <support@alpha.test>",
    message_id: str | None = None,
    body: str = "The pump we got last week leaks.\n",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="customer.test")
    message.set_content(body)
    return message.as_bytes(policy=SMTP)


@pytest.fixture
def make_mailbox(imap_server):
    def _make(tenant, on: ImapFolder, **fields) -> Mailbox:
        values = {
            "name": "Support",
            "address": f"support@{tenant.slug}.test",
            "host": imap_server.host,
            "port": imap_server.port,
            "tls_mode": TlsMode.NONE,
            "username": on.user,
            "password": IMAP_PASSWORD,
            "folder": on.name,
            **fields,
        }
        return Mailbox.unscoped.create(tenant=tenant, **values)

    return _make


@pytest.fixture(autouse=True)
def inbound_settings(settings, tmp_path):
    # The test server listens on the loopback interface.
    settings.INBOUND_MAIL_ALLOW_PRIVATE_ADDRESSES = True
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def no_handlers(monkeypatch):
    """Only the handlers a test registers itself (the domain apps may register theirs)."""
    monkeypatch.setattr(handlers, "_handlers", [])


def stored_files(media_root: Path) -> list[Path]:
    return sorted(path for path in media_root.rglob("*") if path.is_file())


# --- mail to cases ---------------------------------------------------------------------------


@pytest.fixture
def mail_handlers(no_handlers):
    """The domain apps' handlers, in the order the apps register them."""
    from complaints.inbound import complaint_from_message
    from returns.inbound import return_reply_from_message

    handlers.register_handler(return_reply_from_message)
    handlers.register_handler(complaint_from_message)


def png_bytes(size: tuple[int, int] = (16, 12)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def build_mail(
    subject: str = "Pump housing cracked",
    *,
    sender: str = "Jan Kowalski <jan@customer.test>",
    to: str = "Support <support@alpha.test>",
    text: str | None = "The pump we got last week leaks.\n",
    html: str | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    """A message as a mail program sends it: text and/or HTML, attachments (name, type,
    bytes), extra headers (In-Reply-To, Auto-Submitted, …)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="customer.test")
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=SMTP)


@pytest.fixture
def folder_mailbox():
    """A mailbox whose messages are stored directly (no IMAP): the tests that are about what
    the handlers make of a message, not about fetching it."""

    def _make(tenant, **fields) -> Mailbox:
        values = {
            "name": "Support",
            "address": f"support@{tenant.slug}.test",
            "kind": "folder",
            **fields,
        }
        return Mailbox.unscoped.create(tenant=tenant, **values)

    return _make


def receive(mailbox: Mailbox, raw: bytes):
    """Store `raw` in the mailbox and hand it to the handlers, as a drop or a post does."""
    from rma_portal.inbound import services
    from rma_portal.tenancy.context import tenant_context

    with tenant_context(mailbox.tenant):
        message, created = services.store_message(mailbox, raw)
        assert created
        services.process_message(message)
        message.refresh_from_db()
    return message

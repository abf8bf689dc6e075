"""Connecting to a mailbox's IMAP server, with IMAPClient.

Why IMAPClient (over imap-tools): the fetcher needs the protocol itself, not a mail reader.
It must read UIDVALIDITY from the SELECT answer, ask for `UID n:*`, learn each message's
RFC822.SIZE before deciding to download it, download with BODY.PEEK[] so that nothing on
the server changes, and keep the bytes exactly as the server sent them. IMAPClient exposes
exactly those commands, parses their answers into plain values (UIDs as ints, the SELECT
answer as a dict, INTERNALDATE as an aware datetime), speaks implicit TLS and STARTTLS with
a verifying `ssl` context, has connect and read timeouts, and has no dependencies.
imap-tools is built for reading mail: it parses every message into its own objects and
fetches by search criteria, which hides the size check and the raw bytes the fetcher is
about. Both are maintained; IMAPClient (since 2009) is the lower-level, wider-used one.

Like webhook calls, connections go only to public addresses unless
INBOUND_MAIL_ALLOW_PRIVATE_ADDRESSES is on: a tenant admin types the host, which must not
reach the platform's own network. The host is resolved and checked once per connection, and
the socket is opened to the checked address (the certificate is still checked against the
host name), so DNS cannot answer differently in between.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from imapclient import IMAPClient, SocketTimeout, imap4, tls

from .models import Mailbox, TlsMode

CONNECT_TIMEOUT_SECONDS = 15
# A large message over a slow link: each read waits at most this long, not the whole fetch.
READ_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    address: str | None  # the checked address to connect to; None: let the socket resolve


def resolve_host(host: str, port: int) -> Target:
    """Refuse a host that resolves to a private, loopback or reserved address (unless those
    are allowed); returns where to connect."""
    if settings.INBOUND_MAIL_ALLOW_PRIVATE_ADDRESSES:
        return Target(host, port, None)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(_("The server's host name cannot be resolved.")) from exc
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            raise ValidationError(
                _("Mail cannot be fetched from private, loopback or reserved addresses.")
            )
    return Target(host, port, addresses[0])


class _PinnedIMAP4(imap4.IMAP4WithTimeout):
    def __init__(self, host: str, port: int, timeout: float | None, *, address: str | None):
        self._address = address
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        timeout = timeout if timeout is not None else self._timeout
        return socket.create_connection((self._address or self.host, self.port), timeout)


class _PinnedIMAP4TLS(tls.IMAP4_TLS):
    def __init__(self, host, port, ssl_context, timeout, *, address: str | None):
        self._address = address
        super().__init__(host, port, ssl_context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        timeout = timeout if timeout is not None else self._timeout
        sock = socket.create_connection((self._address or self.host, self.port), timeout)
        return tls.wrap_socket(sock, self.ssl_context, self.host)


class PinnedIMAPClient(IMAPClient):
    """IMAPClient whose socket goes to the address `resolve_host` checked.

    Overrides IMAPClient's connection factory (`_create_IMAP4`, as of 4.1): check it when
    upgrading IMAPClient."""

    def __init__(self, *args, address: str | None = None, **kwargs):
        self._address = address
        super().__init__(*args, **kwargs)

    def _create_IMAP4(self):
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _PinnedIMAP4TLS(
                self.host, self.port, self.ssl_context, connect_timeout, address=self._address
            )
        return _PinnedIMAP4(self.host, self.port, connect_timeout, address=self._address)


def connect(mailbox: Mailbox) -> IMAPClient:
    """A signed-in connection to the mailbox's server (no folder selected yet). The caller
    logs out (`with connect(mailbox) as client:`)."""
    target = resolve_host(mailbox.host, mailbox.port)
    context = ssl.create_default_context()
    client = PinnedIMAPClient(
        target.host,
        port=target.port,
        ssl=mailbox.tls_mode == TlsMode.IMPLICIT,
        ssl_context=context,
        timeout=SocketTimeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
        address=target.address,
    )
    try:
        # Aware datetimes for INTERNALDATE, in the server's offset (not the worker's local time).
        client.normalise_times = False
        if mailbox.tls_mode == TlsMode.STARTTLS:
            client.starttls(context)
        client.login(mailbox.username, mailbox.password)
    except BaseException:
        with contextlib.suppress(Exception):
            client.shutdown()
        raise
    return client

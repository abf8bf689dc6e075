"""Signed webhook calls: HMAC-SHA256 over "<timestamp>.<body>", http(s) only, and no private
or loopback addresses unless WEBHOOKS_ALLOW_PRIVATE_ADDRESSES is on (checked again at each
delivery, after DNS resolution, and the connection goes to the checked address, so a name
that later points inside is still refused)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

TIMEOUT_SECONDS = 10


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes, *, old_secrets: Sequence[str] = ()) -> str:
    """The X-Signature header: `t=<timestamp>,v1=<hex>`, with one more `v1=` per old secret
    (during a rotation's grace period both the new and the replaced secret sign)."""
    signatures = [_digest(key, timestamp, body) for key in (secret, *old_secrets)]
    return ",".join([f"t={timestamp}", *(f"v1={signature}" for signature in signatures)])


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does (docs/webhooks.md#verifying-a-call, used by the tests): the
    timestamp is recent, and one of the `v1` signatures is ours."""
    timestamps, signatures = [], []
    for item in header.split(","):
        name, _sep, value = item.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value)
    try:
        (timestamp,) = (int(value) for value in timestamps)
    except ValueError:  # none, several, or not a number
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body).encode()
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged header).
    return any(
        hmac.compare_digest(expected, signature.encode(errors="replace"))
        for signature in signatures
    )


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: the URL's parts and, when private addresses are refused,
    the checked address to connect to (so DNS cannot answer differently at connect time)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str | None


def resolve_target(url: str) -> Target:
    """Refuse anything but http(s) to a public address (unless private ones are allowed)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:  # "http://host:99999/" or a port that is not a number
        raise ValidationError(_("The address's port is not valid.")) from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(_("Use an http:// or https:// address."))
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    target = Target(parts.scheme, parts.hostname, port, path, address=None)
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return target
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(_("The address's host name cannot be resolved.")) from exc
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            raise ValidationError(
                _("Webhooks cannot be sent to private, loopback or reserved addresses.")
            )
    return replace(target, address=addresses[0])


def check_url(url: str) -> None:
    """The admin form's check: the same as each delivery's."""
    resolve_target(url)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address resolve_target() checked, not to a fresh DNS answer."""

    def __init__(self, *args, address: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self) -> None:
        if self._address is None:
            return super().connect()
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, address: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self) -> None:
        if self._address is None:
            return super().connect()
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, as a browser would.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str,
    *,
    secret: str,
    event: str,
    delivery_key: str,
    payload: dict,
    old_secrets: Sequence[str] = (),
) -> int:
    """POST the payload, signed with `secret` (and `old_secrets`, see sign()); returns the
    HTTP status (raises OSError on network failure).

    Redirects are not followed (a 3xx counts as a failure: it could point inside the
    network), and no proxy from the environment is used (it would bypass the address check).
    """
    target = resolve_target(url)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RMA-Portal-Webhooks/1",
        "X-Event": event,
        "X-Delivery": delivery_key,
        "X-Timestamp": str(timestamp),
        "X-Signature": sign(secret, timestamp, body, old_secrets=old_secrets),
    }
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(
            target.host,
            target.port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
            address=target.address,
        )
    else:
        connection = _PinnedHTTPConnection(
            target.host, target.port, timeout=TIMEOUT_SECONDS, address=target.address
        )
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        return connection.getresponse().status
    except (http.client.HTTPException, ValueError) as exc:
        # A malformed answer (or a URL http.client refuses) is a failed attempt, like a
        # network error, not a crash that would leave the row unrecorded.
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()

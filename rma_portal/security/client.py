"""The address of the client that sent a request, read the same way everywhere: throttles,
sign-in lockout, the audit log and request logs.

`X-Forwarded-For` is written by whoever sends the request; only the entries our own proxies
appended can be believed. With `NUM_PROXIES = n` (the proxies in front of the application,
e.g. 1 for one nginx or load balancer) the client is the n-th address from the right; with 0
(no proxy, the default) the header is ignored and the TCP peer (`REMOTE_ADDR`) is the client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's IP address as our trusted proxies saw it ('' when unknown)."""
    meta = getattr(request, "META", {})
    remote = _valid(meta.get("REMOTE_ADDR", "") or "") or ""
    proxies = settings.NUM_PROXIES
    if proxies <= 0:
        return remote
    hops = [hop for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        # Fewer entries than proxies: a request that bypassed them; its peer is all we know.
        return remote
    return _valid(hops[-proxies]) or remote


def axes_client_ip(request) -> str:
    """django-axes' AXES_CLIENT_IP_CALLABLE."""
    return client_ip(request)

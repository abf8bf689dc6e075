"""The API's request throttles, keyed by what a client cannot choose.

DRF's own throttles identify an anonymous client by `X-Forwarded-For`, which the client
writes: a new value at each request is a new client, and the limit never applies. These use the
client's address as our own proxies saw it (`client_ip`, NUM_PROXIES), the same one the sign-in
lockout, the audit log and the logs use, or the account a sign-in names. Counters live in the
cache (Redis); a 429 answer carries Retry-After.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from rma_portal.security.client import client_ip
from rma_portal.security.lockout import normalised_email


class ClientAddressScopedRateThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle (the view's `throttle_scope` and its rate in
    DEFAULT_THROTTLE_RATES, per signed-in user or else per client address), the address read by
    `client_ip`. The API's default throttle: views without a `throttle_scope` are not limited."""

    def get_ident(self, request) -> str:
        return client_ip(request)


class SignInAccountRateThrottle(SimpleRateThrottle):
    """Sign-in requests naming one account (the body's `email`, normalised like User.email),
    from any address: guessing one account's password from many addresses meets this limit
    (rate "auth_token_account"). Requests without an e-mail are left to validation. The key holds
    a hash of the e-mail, not the e-mail."""

    scope = "auth_token_account"
    field = "email"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        email = normalised_email(data.get(self.field)) if isinstance(data, Mapping) else ""
        if not email:
            return None
        ident = hashlib.sha256(email.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}

"""The API's request throttles, keyed by what a client cannot choose.

DRF's own throttles identify an anonymous client by `X-Forwarded-For`, which the client
writes: a new value at each request is a new client, and the limit never applies. These use the
client's address as our own proxies saw it (`client_ip`, NUM_PROXIES), the same one the sign-in
lockout, the audit log and the logs use, or the account a sign-in names. Counters live in the
cache (Redis); a 429 answer carries Retry-After.

`ApiRateThrottle` is the API's general limit: every request counts against its API key, its
user, or (anonymous) its client address, and every answer says where the client stands
(X-RateLimit-Limit / -Remaining / -Reset).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, SimpleRateThrottle

from rma_portal.credentials.models import ApiKey
from rma_portal.security.client import client_ip
from rma_portal.security.lockout import normalised_email
from rma_portal.tenancy.context import no_tenant


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


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: int  # Unix time (seconds) when the current window ends

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class ApiRateThrottle(BaseThrottle):
    """At most N requests per minute per API key, per user (session and personal tokens
    together), or per client address for requests without valid credentials. N is the tenant's
    `api_rate_limit_per_minute` for its keys and users, API_ANONYMOUS_RATE_LIMIT_PER_MINUTE
    for everyone else.

    Fixed one-minute windows on the clock, counted with the cache's atomic increment (one
    counter per client and minute, however many processes serve it); a client may so send up
    to N at the end of one minute and N more at the start of the next. Counters are one per
    client across tenant scopes (the key is made without the tenant: the ids are global). With
    the cache down requests are let through, as with every throttle here.

    The state goes to the view's `headers`, which DRF puts on every answer of the view, the
    429 included (its Retry-After comes from `wait()`). Tests set `timer` and the cache.
    """

    cache = default_cache
    timer = time.time
    window = 60
    cache_format = "api_rate:%(ident)s:%(window)d"

    def limit(self, request) -> int:
        user = getattr(request, "user", None)
        tenant = getattr(user, "tenant", None) if getattr(user, "tenant_id", None) else None
        if tenant is not None:
            return tenant.api_rate_limit_per_minute
        return settings.API_ANONYMOUS_RATE_LIMIT_PER_MINUTE

    def get_ident(self, request) -> str:
        auth = getattr(request, "auth", None)
        if isinstance(auth, ApiKey):
            return f"key:{auth.pk}"
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"address:{client_ip(request) or 'unknown'}"

    def _count(self, key: str) -> int | None:
        """The window's count after this request; None when the cache cannot count."""
        with no_tenant():
            self.cache.add(key, 0, self.window + 5)
            try:
                return self.cache.incr(key)
            except ValueError:  # the cache is down, or evicted the counter just now
                return None

    def allow_request(self, request, view) -> bool:
        now = self.timer()
        window_start = int(now // self.window) * self.window
        reset_at = window_start + self.window
        limit = self.limit(request)
        key = self.cache_format % {"ident": self.get_ident(request), "window": window_start}
        count = self._count(key)
        used = count if count is not None else 0
        self.state = RateLimitState(limit=limit, remaining=max(0, limit - used), reset_at=reset_at)
        self.seconds_left = max(1, math.ceil(reset_at - now))
        headers = getattr(view, "headers", None)
        if isinstance(headers, dict):
            headers.update(self.state.headers())
        return used <= limit

    def wait(self) -> float:
        return self.seconds_left

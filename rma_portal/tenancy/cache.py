"""The cache: every key carries the current tenant (or `platform`), and a Redis that is down or
does not answer is a cache miss, never an error.

The cache only saves work (built dashboards, throttle counters), so its outage must not fail a
request: `FaultTolerantRedisCache` is Django's Redis backend whose reads answer "not cached"
and whose writes do nothing when Redis fails, with a warning in the log. How long a failing
call waits is bounded by the connection's timeouts (REDIS_CONNECT_TIMEOUT,
REDIS_SOCKET_TIMEOUT in settings, the backend's OPTIONS).
"""

from __future__ import annotations

import functools
import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from .context import current_scope

logger = logging.getLogger(__name__)


def make_key(key: str, key_prefix: str, version: int) -> str:
    scope = current_scope()
    owner = f"t{scope.pk}" if getattr(scope, "pk", None) else "platform"
    return f"{key_prefix}:{version}:{owner}:{key}"


def _on_outage(fallback):
    """Run the backend's method; when Redis fails, log it and return `fallback(*args)`."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except RedisError as error:
                logger.warning(
                    "cache unavailable; treated as a miss",
                    extra={
                        "operation": method.__name__,
                        "error": f"{type(error).__name__}: {error}",
                    },
                )
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _missing_key(key, *args, **kwargs):
    raise ValueError(f"Key '{key}' not found.")


class FaultTolerantRedisCache(RedisCache):
    """Django's RedisCache; a Redis error (refused, timed out, reset, out of memory, …) makes a
    read a miss and a write a no-op. Everything else (a bad key, a value that cannot be
    pickled) still raises.

    Callers see what an empty cache would give them: `get` the default, `get_many` nothing,
    `has_key`/`add`/`touch`/`delete` False, `set_many` every key as not stored, `incr` the
    missing key's ValueError. `get_or_set` computes the value (it is built on `get` and `add`).
    """

    @_on_outage(lambda key, default=None, version=None: default)
    def get(self, key, default=None, version=None):
        return super().get(key, default, version)

    @_on_outage(lambda *args, **kwargs: None)
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set(key, value, timeout, version)

    @_on_outage(lambda *args, **kwargs: False)
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout, version)

    @_on_outage(lambda *args, **kwargs: False)
    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version)

    @_on_outage(lambda *args, **kwargs: False)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_on_outage(lambda *args, **kwargs: {})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_on_outage(lambda *args, **kwargs: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_on_outage(_missing_key)
    def incr(self, key, delta=1, version=None):
        return super().incr(key, delta, version)

    @_on_outage(lambda data, *args, **kwargs: list(data))
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout, version)

    @_on_outage(lambda *args, **kwargs: None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)

    @_on_outage(lambda *args, **kwargs: False)
    def clear(self):
        return super().clear()

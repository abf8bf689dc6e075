"""`/healthz` for load balancers and container health checks: can this process reach the
database and the broker? No authentication, and nothing about any tenant in the answer."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means "not healthy"; the details go to the log only
        logger.warning("health check: database unreachable", exc_info=True)
        return "error"
    return "ok"


def broker_status() -> str:
    """A Redis PING, once, bounded by REDIS_CONNECT_TIMEOUT and REDIS_SOCKET_TIMEOUT, so a
    Redis that is down or hung answers "error" within those seconds (no Celery round trip: a
    busy worker pool is not an unhealthy web process); "not used" when tasks run in-process
    (embedded mode)."""
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return "not used"
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 0),  # one attempt: a retry would only double the wait
    )
    try:
        client.ping()
    except Exception:  # connection refused, timeout, authentication: all "not healthy"
        logger.warning("health check: broker unreachable", exc_info=True)
        return "error"
    finally:
        client.close()
    return "ok"


@never_cache
@require_safe
def healthz(request):
    checks = {"database": database_status(), "broker": broker_status()}
    healthy = all(value in ("ok", "not used") for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)

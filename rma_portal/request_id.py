"""A request id per web request: on the answer (`X-Request-ID`), in every log line written while
the request runs, and on the error pages, so that a user can quote it and the operator finds the
request's lines (docs/operations.md#request-ids-and-error-pages).

The id is the incoming `X-Request-ID` header when it looks like one (the load balancer or proxy
in front of the application usually sets it, so its logs and ours share the id), else a new
random one. A header that does not look like an id (too short or long, characters other than
letters, digits and `-_.:`) is replaced, never copied into logs or pages.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# Letters, digits and -_.: from 8 to 128 characters: a UUID, nginx's $request_id (32 hex digits),
# most load balancers' ids. Nothing that could break a log line or a page.
VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(meta: dict) -> str:
    """The incoming header's id if it is a valid one, else a new id."""
    incoming = meta.get(META_KEY, "")
    if isinstance(incoming, str) and VALID.fullmatch(incoming):
        return incoming
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request being answered in this thread (None outside a request)."""
    return _current.get()


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that every later layer, every log line and every answer (the
    error pages included) has the id: `request.request_id`, `current_request_id()`, the
    `X-Request-ID` header of the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.META)
        request.request_id = request_id
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record written while a request is answered (LOGGING's
    handlers; rma_portal.logging.KeyValueFormatter writes it as `request_id=…`). Records
    written outside a request (workers, commands) get none."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request = getattr(record, "request", None)  # Django's django.request records
            request_id = getattr(request, "request_id", None) or current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True

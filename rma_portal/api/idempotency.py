"""`Idempotency-Key` on POST: a client that retries a request (a timeout, a dropped
connection) with the same key gets the first answer again instead of a second return, complaint
or message (docs/api.md#idempotent-requests).

The API base (`TenantScopedAPIMixin`) calls `begin()` after authentication, permissions and
throttles, and `finish()` with the answer:

- The request is identified by who sent it (a user, or an API key: `principal`) and their key,
  within the tenant; its *fingerprint* is a hash of method, path and body (the parsed body, so
  the order of JSON keys or a new multipart boundary do not matter; files by their content).
- The whole request then runs in one transaction that starts by claiming the key: a
  transaction-scoped advisory lock on (tenant, principal, key), then the record's row (unique
  on the same three). A second request with the key while the first runs cannot take the lock
  and is refused at once (409 `idempotency_key_in_progress`): no waiting, no timing. The view's
  own work runs in a savepoint after the claim.
- `finish()` keeps the answer with the claim, in the same transaction as the work: either both
  are committed or neither (a crash leaves no claim behind, and the retry runs afresh). 4xx
  answers roll the view's work back (bad input changes nothing) and are kept too, so a retry
  learns the same; 5xx answers keep nothing.
- A later request with the key and the same fingerprint gets the kept answer (status, body,
  Location, ETag) with `Idempotent-Replayed: true`; with another fingerprint, 422
  `idempotency_key_reused`. Records expire after RETENTION; the outbox sweep deletes them
  (rma_portal.credentials.services.sweep_idempotency_records).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import exceptions

from rma_portal.credentials.models import IdempotencyRecord
from rma_portal.credentials.services import IDEMPOTENCY_RETENTION

from .permissions import is_api_key

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Kept with the answer and sent again on a replay (besides its content type).
REPLAYED_HEADERS = ("Location", "ETag")
RETENTION = IDEMPOTENCY_RETENTION
# Printable ASCII without spaces: UUIDs, ULIDs, "order-4711-attempt", … up to 255 characters.
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKeyReused(exceptions.APIException):
    status_code = 422
    default_code = "idempotency_key_reused"

    def __init__(self):
        super().__init__(
            gettext(
                "This Idempotency-Key was already used for a different request. Use a new key "
                "for a new request."
            )
        )


class IdempotencyKeyInProgress(exceptions.APIException):
    status_code = 409
    default_code = "idempotency_key_in_progress"

    def __init__(self):
        super().__init__(
            gettext(
                "A request with this Idempotency-Key is still being processed. Retry when it "
                "has finished to get its answer."
            )
        )


class Replay(Exception):
    """Raised by `begin()` with the kept answer; the API base answers with it."""

    def __init__(self, response: HttpResponse):
        super().__init__("idempotent replay")
        self.response = response


@dataclass
class Claim:
    record: IdempotencyRecord
    savepoint: str


def principal_of(request) -> str:
    """Whose keys these are: each API key has its own, each user theirs (across sessions and
    personal tokens)."""
    if is_api_key(request.auth):
        return f"api_key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _canonical(value):
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    return value


def fingerprint(request) -> str:
    """A hash of what the request asks for: method, path with query, and the parsed body.
    Parsing errors propagate (the client gets the parse error, nothing is claimed)."""
    data = request.data
    if isinstance(data, QueryDict):
        body = {name: [_canonical(item) for item in items] for name, items in data.lists()}
    else:
        body = data
    canonical = json.dumps(
        [request.method, request.get_full_path(), body],
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_id(tenant_id: int, principal: str, key: str) -> int:
    digest = hashlib.sha256(f"{tenant_id}\x00{principal}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try_lock(tenant_id: int, principal: str, key: str) -> bool:
    """PostgreSQL: an advisory lock held until the transaction ends, taken without waiting.
    SQLite (embedded mode) has one writer at a time anyway."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(tenant_id, principal, key)]
        )
        return bool(cursor.fetchone()[0])


def idempotency_key(request) -> str | None:
    """The request's key, checked; None without the header."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY.match(key):
        raise exceptions.ValidationError(
            {
                HEADER: [
                    gettext("Send 1 to 255 printable ASCII characters without spaces, e.g. a UUID.")
                ]
            }
        )
    return key


def replay_response(record: IdempotencyRecord) -> HttpResponse:
    headers = record.response_headers
    response = HttpResponse(
        bytes(record.response_body),
        status=record.status_code,
        content_type=headers.get("Content-Type"),
    )
    for name in REPLAYED_HEADERS:
        if name in headers:
            response[name] = headers[name]
    response[REPLAYED_HEADER] = "true"
    return response


def begin(request, *, enter_transaction, now: datetime.datetime | None = None) -> Claim | None:
    """Claim the request's Idempotency-Key, or raise: Replay (the kept answer),
    IdempotencyKeyReused, IdempotencyKeyInProgress, ValidationError (a malformed key).
    None when the request carries no key. `enter_transaction(atomic)` enters the
    transaction for the rest of the request (the API base's exit stack)."""
    key = idempotency_key(request)
    user = request.user
    if key is None or not getattr(user, "tenant_id", None):
        return None  # no key; or no tenant to keep it in (the view refuses such callers)
    principal = principal_of(request)
    request_hash = fingerprint(request)
    now = now or timezone.now()
    enter_transaction(transaction.atomic())
    if not _try_lock(user.tenant_id, principal, key):
        raise IdempotencyKeyInProgress()
    existing = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if existing is not None and existing.expires_at <= now:
        existing.delete()  # the sweep has not come by yet: an expired key is a new key
        existing = None
    if existing is not None:
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if existing.status_code is None:  # a claim is only ever committed with its answer
            raise IdempotencyKeyInProgress()
        raise Replay(replay_response(existing))
    record = IdempotencyRecord.objects.create(
        tenant_id=user.tenant_id,
        principal=principal,
        key=key,
        request_hash=request_hash,
        method=request.method,
        path=request.path[:500],
        created_at=now,
        expires_at=now + RETENTION,
    )
    return Claim(record=record, savepoint=transaction.savepoint())


def finish(claim: Claim, response) -> None:
    """Keep `response` with the claim (see the module's docstring for which answers)."""
    status = response.status_code
    if status >= 500 or getattr(response, "streaming", False):
        transaction.savepoint_rollback(claim.savepoint)
        claim.record.delete()  # nothing kept: a retry runs afresh
        return
    if status >= 400:
        transaction.savepoint_rollback(claim.savepoint)
    else:
        transaction.savepoint_commit(claim.savepoint)
    if callable(getattr(response, "render", None)) and not response.is_rendered:
        response.render()
    headers = {
        name: response[name] for name in ("Content-Type", *REPLAYED_HEADERS) if name in response
    }
    IdempotencyRecord.objects.filter(pk=claim.record.pk).update(
        status_code=status, response_body=bytes(response.content), response_headers=headers
    )

"""The webhook event catalogue: every event a tenant's integration can receive, each with a
versioned JSON Schema (draft 2020-12) of its payload, an example, and the function that
builds its `data` from the domain object.

The domain apps register their events from their AppConfig.ready() (returns/notifications.py,
complaints/notifications.py), as they register sweepers: the platform never imports them.
What the catalogue holds is served by `GET /api/v1/webhooks/events/`, written into the
OpenAPI document (openapi.py) and into docs/webhooks.md (`manage.py webhook_docs`).

Every call carries one envelope (`envelope_schema`):

    {"id": "<uuid>", "type": "return.resolved", "version": 1, "created_at": "<ISO 8601>",
     "tenant": {"id": 1, "slug": "acme"}, "data": {…}}

`id` is derived from the tenant and the event's idempotency key: the same event has the same
id at every attempt, for every endpoint and when redelivered, so a receiver deduplicates on
it. Within a version, fields are only added; a change that would break a receiver (a field
removed, renamed or retyped) is a new version of the event.

Schemas name shared objects (a return, a complaint, a customer) in `$defs`, registered once
with `register_definition`; each event's schema carries the definitions it uses, so it
validates on its own. Published schemas leave objects open (`additionalProperties` unset, so
that added fields do not break receivers that validate); `closed()` gives the strict variant
the tests validate every built payload against, so no field leaves undocumented.
"""

from __future__ import annotations

import logging
import re
import uuid
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
PING = "webhook.ping"
# Event ids are UUIDs derived from "<tenant id>:<idempotency key>" in this namespace.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c5b2e-93a4-4c57-8d0e-2b7f4a1e9c30")
_NAME = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
_DEF_REF = re.compile(r"^#/\$defs/([A-Za-z][A-Za-z0-9]*)$")


# --- schema building blocks ----------------------------------------------------------------

INTEGER: dict = {"type": "integer"}
STRING: dict = {"type": "string"}
BOOLEAN: dict = {"type": "boolean"}
DATETIME: dict = {"type": "string", "format": "date-time"}
DATE: dict = {"type": "string", "format": "date"}
MONEY: dict = {
    "type": "string",
    "pattern": r"^-?[0-9]+\.[0-9]{2}$",
    "description": 'A decimal amount with two decimal places, as a string (e.g. "129.90").',
}


def described(schema: dict, description: str) -> dict:
    return {**schema, "description": description}


def enum(values: Iterable[str], description: str = "") -> dict:
    schema: dict = {"type": "string", "enum": list(values)}
    return described(schema, description) if description else schema


def nullable(schema: dict) -> dict:
    """The schema, or null."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    result = dict(schema)
    kind = result.get("type")
    if isinstance(kind, str):
        result["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        result["type"] = [*kind, "null"]
    if "enum" in result and None not in result["enum"]:
        result["enum"] = [*result["enum"], None]
    return result


def array(items: dict, description: str = "") -> dict:
    schema: dict = {"type": "array", "items": items}
    return described(schema, description) if description else schema


def obj(properties: dict, description: str = "") -> dict:
    """An object whose every property is always present (null when it has no value)."""
    schema: dict = {"type": "object", "properties": properties, "required": list(properties)}
    return described(schema, description) if description else schema


def ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def closed(schema: Any) -> Any:
    """A copy in which every object schema (`"type": "object"` with properties) refuses
    properties it does not name: what the tests validate built payloads against."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    kind = schema.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    if is_object and "properties" in schema:
        result["additionalProperties"] = False
    return result


# --- registry --------------------------------------------------------------------------------

# (source object) -> the event's `data`
Builder = Callable[[Any], dict]


@dataclass(frozen=True)
class EventType:
    """One version of one event type."""

    name: str  # "return.resolved"
    version: int  # 1, 2, …
    label: Any  # a lazy translated text, shown in the endpoint editor
    description: str  # when it is sent and what it carries (English, for integrators)
    data_schema: dict  # JSON Schema of the envelope's `data`; may $ref registered definitions
    example: dict  # an example `data`, validated against data_schema by the tests
    build: Builder | None = None  # from the domain object passed to publish()
    group: str = ""  # "returns", "complaints", "webhooks"
    subscribable: bool = True  # endpoints may choose it (the ping is sent on request only)

    @property
    def key(self) -> str:
        return f"{self.name}@v{self.version}"


_events: dict[str, dict[int, EventType]] = {}
_definitions: dict[str, dict] = {}


def register_definition(name: str, schema: dict) -> None:
    """A shared object schema, referenced by events as `{"$ref": "#/$defs/<name>"}`
    (`ref(name)`). Registering a name again replaces it."""
    _definitions[name] = schema


def register_event(event: EventType) -> None:
    """Add one version of an event; registering the same name and version again replaces it
    (AppConfig.ready() may run more than once in tests)."""
    if not _NAME.match(event.name):
        raise ValueError(f"Webhook event names look like 'return.resolved': {event.name!r}")
    if event.version < 1:
        raise ValueError(f"{event.name}: versions start at 1")
    _events.setdefault(event.name, {})[event.version] = event


def definitions() -> dict[str, dict]:
    return dict(sorted(_definitions.items()))


def event_type(name: str, version: int | None = None) -> EventType:
    """The event's given version, or its current (highest) one; KeyError if unknown."""
    versions = _events[name]
    return versions[version if version is not None else max(versions)]


def event_versions(name: str) -> list[EventType]:
    return [_events[name][version] for version in sorted(_events[name])]


def event_types() -> list[EventType]:
    """The current version of every event, by name."""
    return [event_type(name) for name in sorted(_events)]


def is_known(name: str) -> bool:
    return name in _events


def subscribable_names() -> list[str]:
    return [event.name for event in event_types() if event.subscribable]


def event_choices() -> list[tuple[str, Any]]:
    """(name, label) of the events an endpoint may choose, for forms."""
    return [(event.name, event.label) for event in event_types() if event.subscribable]


# --- schemas ---------------------------------------------------------------------------------


def _refs(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        match = _DEF_REF.match(schema.get("$ref", "")) if "$ref" in schema else None
        if match:
            found.add(match.group(1))
        for value in schema.values():
            found |= _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _refs(item)
    return found


def used_definitions(schema: Any) -> dict[str, dict]:
    """The registered definitions `schema` refers to, directly or through each other."""
    pending, used = _refs(schema), {}
    while pending:
        name = pending.pop()
        if name in used:
            continue
        if name not in _definitions:
            raise KeyError(f"Webhook schema refers to an unregistered definition: {name}")
        used[name] = _definitions[name]
        pending |= _refs(_definitions[name]) - set(used)
    return dict(sorted(used.items()))


def schema_id(event: EventType) -> str:
    return f"urn:rma-portal:webhooks:{event.name}:v{event.version}"


def envelope_properties(event: EventType, data: dict) -> dict:
    return {
        "id": described(
            {"type": "string", "format": "uuid"},
            "The event's id: the same at every attempt, for every endpoint and when "
            "redelivered. Deduplicate on it.",
        ),
        "type": described({"const": event.name}, "The event type."),
        "version": described({"const": event.version}, "The version of this event's schema."),
        "created_at": described(DATETIME, "When the event happened (ISO 8601, with offset)."),
        "tenant": obj({"id": INTEGER, "slug": STRING}, "The tenant whose event this is (yours)."),
        "data": data,
    }


def envelope_schema(event: EventType) -> dict:
    """The whole body of one call of `event`, standalone: its `$defs` carry every shared
    object it uses."""
    schema = {
        "$schema": DIALECT,
        "$id": schema_id(event),
        "title": f"{event.name} v{event.version}",
        "description": event.description,
        **obj(envelope_properties(event, event.data_schema)),
    }
    used = used_definitions(event.data_schema)
    if used:
        schema["$defs"] = used
    return schema


def example_envelope(event: EventType) -> dict:
    return {
        "id": str(uuid.uuid5(EVENT_ID_NAMESPACE, f"1:example:{event.key}")),
        "type": event.name,
        "version": event.version,
        "created_at": "2026-11-16T10:15:00+01:00",
        "tenant": {"id": 1, "slug": "acme"},
        "data": event.example,
    }


# --- publishing ------------------------------------------------------------------------------


def event_id(tenant, key: str) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{tenant.pk}:{key}"))


def tenant_time(tenant):
    """Payload times are in the tenant's time zone, whoever builds them (a request, a worker,
    a scheduled task): `with tenant_time(tenant): …`."""
    return timezone.override(zoneinfo.ZoneInfo(tenant.timezone))


def iso(moment) -> str | None:
    """A datetime as ISO 8601 with its offset, in the current time zone (tenant_time()); a date
    as YYYY-MM-DD; None stays None."""
    if moment is None:
        return None
    if hasattr(moment, "tzinfo") and moment.tzinfo is not None:
        return timezone.localtime(moment).isoformat()
    return moment.isoformat()


def money(amount) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def envelope(*, event: EventType, tenant, key: str, created_at, data: dict) -> dict:
    return {
        "id": event_id(tenant, key),
        "type": event.name,
        "version": event.version,
        "created_at": iso(created_at),
        "tenant": {"id": tenant.pk, "slug": tenant.slug},
        "data": data,
    }


def publish(name: str, source: Any, *, tenant, key: str, created_at=None) -> list:
    """Queue event `name` about `source` (a timeline event, a message, a return) to every
    active endpoint of `tenant` that wants it, in the caller's transaction.

    The payload is built by the event's registered builder, once, and only when an endpoint
    wants the event: a tenant without webhooks pays no query for it. `key` identifies the
    event (one delivery per endpoint and key). An event missing from the catalogue is logged
    and sent nowhere: a transition never fails for want of a schema (the tests fail instead).
    """
    from .services import webhook_publish

    if not is_known(name):
        logger.error("webhook event is not in the catalogue", extra={"event": name})
        return []
    event = event_type(name)

    def payload() -> dict:
        with tenant_time(tenant):
            return envelope(
                event=event,
                tenant=tenant,
                key=key,
                created_at=created_at or timezone.now(),
                data=event.build(source),
            )

    return webhook_publish(tenant=tenant, event=name, payload=payload, key=key)


# --- the platform's own event ------------------------------------------------------------------

register_event(
    EventType(
        name=PING,
        version=1,
        label=_("Webhook test (ping)"),
        description=(
            "Sent only to the endpoint it was asked for (`POST …/endpoints/{id}/ping/`), "
            "whatever events the endpoint chose: checks the URL, the TLS certificate and the "
            "signature check of the receiver."
        ),
        data_schema=obj(
            {
                "endpoint": obj({"id": INTEGER, "url": STRING}),
                "message": STRING,
            }
        ),
        example={
            "endpoint": {"id": 3, "url": "https://erp.example.com/hooks/rma"},
            "message": "Test event from RMA Portal.",
        },
        build=lambda endpoint: {
            "endpoint": {"id": endpoint.pk, "url": endpoint.url},
            "message": "Test event from RMA Portal.",
        },
        group="webhooks",
        subscribable=False,
    )
)

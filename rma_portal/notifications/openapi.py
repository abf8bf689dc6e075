"""The webhook catalogue in the OpenAPI document: one OpenAPI 3.1 `webhooks` entry per event,
whose request body is the event's envelope schema, a component of its own.

drf-spectacular's WEBHOOKS setting takes a fixed list of OpenApiWebhook objects named by
import path; the catalogue is filled by the domain apps at start-up, so a postprocessing hook
(SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) writes the entries instead. OpenAPI 3.1's
Schema Object is JSON Schema 2020-12, the dialect of the catalogue, so the schemas go in as
they are, with their `$defs` moved to components.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation

from . import catalogue

TAG = "webhooks"
HEADERS = [
    ("X-Event", "The event type, as in the body's `type`."),
    ("X-Delivery", "This delivery's key: the same at every attempt of it."),
    ("X-Timestamp", "When this attempt was signed (Unix seconds)."),
    (
        "X-Signature",
        "`t=<timestamp>,v1=<hex>`: HMAC-SHA256 with the endpoint's secret over "
        "`<timestamp>.<body>`; a second `v1=` while a replaced secret still signs.",
    ),
]


def definition_component(name: str) -> str:
    return f"WebhookObject{name}"


def event_component(event: catalogue.EventType) -> str:
    words = re.split(r"[._]", event.name)
    return "WebhookEvent" + "".join(word.capitalize() for word in words) + f"V{event.version}"


def _components_refs(schema: Any) -> Any:
    """`#/$defs/X` → `#/components/schemas/WebhookObjectX`."""
    if isinstance(schema, list):
        return [_components_refs(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _components_refs(value) for key, value in schema.items()}
    target = schema.get("$ref")
    if isinstance(target, str) and target.startswith("#/$defs/"):
        name = target.removeprefix("#/$defs/")
        result["$ref"] = f"#/components/schemas/{definition_component(name)}"
    return result


def _operation(event: catalogue.EventType) -> dict:
    return {
        "operationId": "webhook_" + event.name.replace(".", "_"),
        "summary": str(event.label),
        "description": event.description
        + "\n\nSigned and retried as docs/webhooks.md describes; answer 2xx once stored.",
        "tags": [TAG],
        "parameters": [
            {
                "name": name,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": description,
            }
            for name, description in HEADERS
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{event_component(event)}"},
                    "example": catalogue.example_envelope(event),
                }
            },
        },
        "responses": {
            "2XX": {"description": "Received. Any other answer, or none, is retried."},
        },
        "security": [],
    }


def add_webhooks(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS entry: every event of the catalogue (its current version) as a
    webhook, every version's envelope and every shared object as a component."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})

    def add(name: str, schema: dict) -> None:
        if name in schemas:
            raise ValueError(f"OpenAPI component {name} exists already")
        schemas[name] = schema

    with translation.override("en"):
        for name, definition in catalogue.definitions().items():
            add(definition_component(name), _components_refs(definition))
        webhooks = {}
        for current in catalogue.event_types():
            for event in catalogue.event_versions(current.name):
                envelope = catalogue.envelope_schema(event)
                for key in ("$schema", "$id", "$defs"):
                    envelope.pop(key, None)
                add(event_component(event), _components_refs(envelope))
            webhooks[current.name] = {"post": _operation(current)}
    result["webhooks"] = dict(sorted(webhooks.items()))
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result

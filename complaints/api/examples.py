"""Examples of the complaint endpoints' input, shown in the OpenAPI schema (and sent by the
contract tests' examples phase)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

COMPLAINT_CREATE_EXAMPLES = [
    OpenApiExample(
        "About an order line",
        request_only=True,
        media_type="application/json",
        value={
            "category": "product_quality",
            "priority": "high",
            "subject": "Drill does not start",
            "description": "Dead on arrival.",
            "order_line": 90,
        },
    ),
]

MESSAGE_EXAMPLES = [
    OpenApiExample(
        "A reply",
        request_only=True,
        media_type="application/json",
        value={"body": "The serial number is SN-0042."},
    ),
]

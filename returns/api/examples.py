"""Examples of the return endpoints' input, shown in the OpenAPI schema (and sent by the
contract tests' examples phase)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

RETURN_CREATE_EXAMPLES = [
    OpenApiExample(
        "A return submitted at once",
        request_only=True,
        value={
            "lines": [
                {"order_line": 90, "quantity": 2, "reason": "defective", "comment": "No power"},
                {"order_line": 91, "quantity": 1, "reason": "other", "reason_text": "Colour"},
            ],
            "requested_resolution": "refund",
            "return_method": "drop_off",
            "customer_note": "",
            "submit": True,
        },
    ),
    OpenApiExample(
        "A draft with a courier pickup",
        request_only=True,
        value={
            "lines": [{"order_line": 90, "quantity": 1, "reason": "damaged_in_transport"}],
            "requested_resolution": "replacement",
            "return_method": "courier_pickup",
            "pickup_date": "2026-11-26",
            "pickup_address": "ul. Prosta 2, 00-002 Kraków",
        },
    ),
]

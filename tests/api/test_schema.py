"""The OpenAPI schema and the Swagger UI: valid OpenAPI 3, documented errors, no CDN."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.validation import validate_schema

from . import api_as

pytestmark = pytest.mark.django_db

TRANSITIONS = [
    "submit",
    "cancel",
    "provide-info",
    "approve",
    "reject",
    "request-info",
    "receive",
    "inspect",
    "resolve",
]


@pytest.fixture
def schema(world_a) -> dict:
    # The schema is for the API's users (rma_portal/api/urls.py): a token opens it.
    response = api_as(world_a.customer).get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3_with_the_returns_and_orders_paths(schema):
    assert schema["openapi"].startswith("3")
    validate_schema(schema)  # raises on an invalid document
    paths = schema["paths"]
    assert {
        "/api/v1/auth/token/",
        "/api/v1/orders/",
        "/api/v1/orders/{id}/",
        "/api/v1/returns/",
        "/api/v1/returns/{id}/",
        "/api/v1/returns/{id}/attachments/",
        "/api/v1/returns/{id}/attachments/{attachment_id}/",
    } <= set(paths)
    for name in TRANSITIONS:
        assert "post" in paths[f"/api/v1/returns/{{id}}/{name}/"], name
    assert {"get", "post"} <= set(paths["/api/v1/returns/"])


def test_every_error_answer_is_documented_with_the_shared_error_shape(schema):
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    approve = schema["paths"]["/api/v1/returns/{id}/approve/"]["post"]["responses"]
    for status in ("400", "401", "403", "404", "409"):
        assert approve[status]["content"]["application/json"]["schema"] == error, status
    listed = schema["paths"]["/api/v1/returns/"]["get"]["responses"]
    assert listed["401"]["content"]["application/json"]["schema"] == error
    shape = schema["components"]["schemas"]["Error"]["properties"]
    assert set(shape) == {"code", "message", "fields"}


def test_token_auth_is_described(schema):
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    listed = schema["paths"]["/api/v1/returns/"]["get"]
    assert {"tokenAuth": []} in listed["security"]
    token = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert token.get("security", [{}]) == [{}]  # obtaining a token needs no credentials


def test_swagger_ui_is_served_from_our_own_static_files(world_a):
    client = Client()
    client.force_login(world_a.customer)
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "external asset"
    assert not re.search(r"https?://", html), "external URL in the page"
    assets = re.findall(r"""(?:src|href)="/static/([^"]+)\"""", html)
    assert {"vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css"} <= set(
        assets
    )
    for asset in assets:
        assert finders.find(asset), f"{asset} is not a static file"

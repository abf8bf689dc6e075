"""Every operation of the API says which scope an API key needs for it, and holds to it: a key
without that scope is refused (403) before anything is read or changed, a key with it is not
refused for want of a scope. Operations that manage credentials refuse keys altogether.

The table below is the one list: an operation added to the API without an entry fails
`test_every_operation_names_its_scope`, so no endpoint reaches keys by accident."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from rma_portal.credentials.models import ApiScope
from rma_portal.credentials.services import issue_api_key

from . import api_as

pytestmark = pytest.mark.django_db

ANY_KEY = "any key"  # no scope needed: what every integration may read
NO_KEY = "never a key"  # credentials are managed by people only

CATALOG_W = ApiScope.CATALOG_WRITE
ORDERS_R = ApiScope.ORDERS_READ
ORDERS_W = ApiScope.ORDERS_WRITE
RETURNS_R = ApiScope.RETURNS_READ
RETURNS_W = ApiScope.RETURNS_WRITE
COMPLAINTS_R = ApiScope.COMPLAINTS_READ
COMPLAINTS_W = ApiScope.COMPLAINTS_WRITE
WEBHOOKS = ApiScope.WEBHOOKS_MANAGE


def _erp(kind: str, read: str, write: str) -> dict[str, str]:
    base = f"/api/v1/{kind}/"
    return {
        f"GET {base}": read,
        f"GET {base}{{id}}/": read,
        f"POST {base}bulk/": write,
        f"GET {base}by-external-id/{{external_id}}/": read,
        f"PUT {base}by-external-id/{{external_id}}/": write,
    }


def _case(kind: str, read: str, write: str, actions: list[str]) -> dict[str, str]:
    base = f"/api/v1/{kind}/"
    return {
        f"GET {base}": read,
        f"POST {base}": write,
        f"GET {base}{{id}}/": read,
        f"POST {base}{{id}}/attachments/": write,
        f"GET {base}{{id}}/attachments/{{attachment_id}}/": read,
        **{f"POST {base}{{id}}/{action}/": write for action in actions},
    }


SCOPE_OF: dict[str, str] = {
    "GET /api/v1/api-keys/": NO_KEY,
    "POST /api/v1/api-keys/": NO_KEY,
    "GET /api/v1/api-keys/{id}/": NO_KEY,
    "DELETE /api/v1/api-keys/{id}/": NO_KEY,
    "POST /api/v1/api-keys/{id}/rotate/": NO_KEY,
    "DELETE /api/v1/auth/token/": NO_KEY,
    "GET /api/v1/auth/tokens/": NO_KEY,
    "GET /api/v1/auth/tokens/{id}/": NO_KEY,
    "DELETE /api/v1/auth/tokens/{id}/": NO_KEY,
    **_erp("product-categories", CATALOG_W, CATALOG_W),
    **_erp("products", CATALOG_W, CATALOG_W),
    **_erp("customers", ORDERS_R, ORDERS_W),
    **_erp("orders", ORDERS_R, ORDERS_W),
    **_erp("invoices", ORDERS_R, ORDERS_W),
    "GET /api/v1/customer-users/": ORDERS_R,
    "GET /api/v1/customer-users/{id}/": ORDERS_R,
    "POST /api/v1/customer-users/": ORDERS_W,
    **_case(
        "returns",
        RETURNS_R,
        RETURNS_W,
        [
            "approve",
            "ask-approval",
            "cancel",
            "inspect",
            "provide-info",
            "receive",
            "reject",
            "request-info",
            "resolution/confirm",
            "resolve",
            "submit",
        ],
    ),
    "GET /api/v1/returns/{id}/label/": RETURNS_R,
    **_case(
        "complaints",
        COMPLAINTS_R,
        COMPLAINTS_W,
        [
            "assign",
            "close",
            "messages",
            "priority",
            "rating",
            "reject",
            "reopen",
            "resolve",
            "start",
            "wait-for-customer",
        ],
    ),
    "GET /api/v1/complaints/{id}/messages/": COMPLAINTS_R,
    "GET /api/v1/webhooks/deliveries/": WEBHOOKS,
    "GET /api/v1/webhooks/deliveries/{id}/": WEBHOOKS,
    "POST /api/v1/webhooks/deliveries/{id}/redeliver/": WEBHOOKS,
    "GET /api/v1/webhooks/endpoints/": WEBHOOKS,
    "POST /api/v1/webhooks/endpoints/": WEBHOOKS,
    "GET /api/v1/webhooks/endpoints/{id}/": WEBHOOKS,
    "PATCH /api/v1/webhooks/endpoints/{id}/": WEBHOOKS,
    "DELETE /api/v1/webhooks/endpoints/{id}/": WEBHOOKS,
    "GET /api/v1/webhooks/endpoints/{id}/deliveries/": WEBHOOKS,
    "POST /api/v1/webhooks/endpoints/{id}/ping/": WEBHOOKS,
    "POST /api/v1/webhooks/endpoints/{id}/rotate-secret/": WEBHOOKS,
    "GET /api/v1/webhooks/events/": ANY_KEY,
    "GET /api/v1/webhooks/events/{event_type}/": ANY_KEY,
    "GET /api/v1/customers/by-external-id/{external_id}/return-policy/": ORDERS_R,
    "PUT /api/v1/customers/by-external-id/{external_id}/return-policy/": ORDERS_W,
    "DELETE /api/v1/customers/by-external-id/{external_id}/return-policy/": ORDERS_W,
}

# Operations where credentials are given, not checked: signing in for a token.
NOT_BEHIND_CREDENTIALS = {"POST /api/v1/auth/token/"}
# Signing out reads only the personal token it revokes: an API key is no credential there.
PERSONAL_TOKEN_ONLY = {"DELETE /api/v1/auth/token/"}

# Path parameters: ids that exist nowhere (a refused key must be refused before the lookup; an
# admitted one then gets 404), and a real event type.
PARAMETERS = {
    "id": "987654321",
    "attachment_id": "987654321",
    "external_id": "NO-SUCH-ID",
    "event_type": "return.resolved",
}

# What a key's requests may write although they are refused: the credential's own bookkeeping
# (last used, the hourly "API key used" audit row, idempotency records).
BOOKKEEPING_APPS = {"credentials", "security", "sessions", "axes", "admin"}


def _operations(schema: dict) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    }


@pytest.fixture(scope="module")
def operations(django_db_setup, django_db_blocker) -> set[str]:
    from tests.factories import TenantFactory, UserFactory

    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            tenant = TenantFactory(name="Schema", slug="schema-reader")
            admin = UserFactory(tenant=tenant, role="tenant_admin")
            schema = api_as(admin).get("/api/v1/schema/?format=json").json()
            transaction.set_rollback(True)
    return _operations(schema) - NOT_BEHIND_CREDENTIALS


def _key(world, scopes) -> APIClient:
    issued = issue_api_key(
        tenant=world.tenant, name="ERP", scopes=list(scopes), actor=world.tenant_admin, via="test"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
    return client


def _call(client: APIClient, operation: str):
    method, path = operation.split(" ", 1)
    url = re.sub(r"\{(\w+)\}", lambda match: PARAMETERS[match.group(1)], path)
    return getattr(client, method.lower())(url, {}, format="json")


def _fingerprint() -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models()
        if model._meta.app_label not in BOOKKEEPING_APPS and not model._meta.proxy
    }


def test_every_operation_names_its_scope(operations):
    assert sorted(operations - set(SCOPE_OF)) == []
    assert sorted(set(SCOPE_OF) - operations) == []


@pytest.mark.parametrize(
    "operation",
    sorted(name for name, scope in SCOPE_OF.items() if scope not in {ANY_KEY, NO_KEY}),
)
def test_a_key_without_the_scope_is_refused_and_changes_nothing(world_a, operation):
    needed = SCOPE_OF[operation]
    client = _key(world_a, [scope for scope in ApiScope.values if scope != needed])
    before = _fingerprint()

    answer = _call(client, operation)

    assert answer.status_code == 403, (answer.status_code, answer.content[:300])
    error = answer.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert needed in error["message"]
    assert _fingerprint() == before


@pytest.mark.parametrize(
    "operation",
    sorted(name for name, scope in SCOPE_OF.items() if scope not in {ANY_KEY, NO_KEY}),
)
def test_a_key_with_only_that_scope_is_let_through(world_a, operation):
    answer = _call(_key(world_a, [SCOPE_OF[operation]]), operation)

    # Past the scope check: found or not, valid or not, but never refused for a missing scope.
    code = answer.json()["error"]["code"] if answer.status_code >= 400 else None
    assert code not in {"insufficient_scope", "forbidden", "not_authenticated"}, operation


@pytest.mark.parametrize("operation", sorted(n for n, s in SCOPE_OF.items() if s == NO_KEY))
def test_credentials_are_never_managed_with_a_key(world_a, operation):
    client = _key(world_a, ApiScope.values)
    before = _fingerprint()

    answer = _call(client, operation)

    if operation in PERSONAL_TOKEN_ONLY:
        assert answer.status_code == 401, (answer.status_code, answer.content[:300])
        assert answer.json()["error"]["code"] == "not_authenticated"
    else:
        assert answer.status_code == 403, (answer.status_code, answer.content[:300])
        assert answer.json()["error"]["code"] == "forbidden"
    assert _fingerprint() == before


@pytest.mark.parametrize("operation", sorted(n for n, s in SCOPE_OF.items() if s == ANY_KEY))
def test_what_any_key_may_read(world_a, operation):
    answer = _call(_key(world_a, [ApiScope.RETURNS_READ]), operation)

    assert answer.status_code == 200, (answer.status_code, answer.content[:300])

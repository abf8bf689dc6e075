"""Tests of the REST API v1, with the small helpers its modules share."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from customers.models import OrderLine
from returns.selectors import tenant_today
from rma_portal.credentials import keys
from rma_portal.credentials.models import PersonalToken
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory


def personal_token(user, *, name: str = "Test token", days: int = 30, **fields) -> str:
    """A new personal API token of `user`, stored as the app stores it (hash only); returns
    the key. `fields` override the row's columns (e.g. expires_at, revoked_at)."""
    new = keys.generate(PersonalToken.KIND)
    now = timezone.now()
    PersonalToken.objects.create(
        **{
            "user": user,
            "tenant_id": user.tenant_id,
            "name": name,
            "prefix": new.prefix,
            "key_hash": new.digest,
            "created_at": now,
            "expires_at": now + datetime.timedelta(days=days),
            **fields,
        }
    )
    return new.key


def api_with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def api_as(user=None) -> APIClient:
    """An API client sending a new token of the user (anonymous without a user).

    The token counts as used until it expires, so no request of the test writes its "last
    used" time: every request of a test costs the same queries (tests/security/test_tokens.py
    tests those writes)."""
    if user is None:
        return APIClient()
    until = timezone.now() + datetime.timedelta(days=30)
    return api_with_key(personal_token(user, expires_at=until, last_used_at=until))


def assert_error(response, status: int, code: str) -> dict:
    """The response is an error in the API's one shape; returns its `error` object."""
    assert response.status_code == status, (response.status_code, response.content[:600])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"], body
    return body["error"]


def assert_not_found(response) -> None:
    error = assert_error(response, 404, "not_found")
    assert error == {"code": "not_found", "message": "Not found.", "fields": {}}


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def delivered_line(company, *, quantity: int = 5, unit_price: str = "100.00", order=None):
    """A line of an order of `company` delivered three days ago (a fresh order unless given)."""
    tenant = company.tenant
    if order is None:
        today = tenant_today(tenant)
        order = OrderFactory(
            tenant=tenant,
            customer_account=company,
            order_date=today - datetime.timedelta(days=5),
            delivery_date=today - datetime.timedelta(days=3),
        )
    return OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=OrderLine.unscoped.filter(order=order).count() + 1,
        product=ProductFactory(tenant=tenant, unit_price=Decimal(unit_price)),
        quantity=quantity,
        unit_price=Decimal(unit_price),
    )

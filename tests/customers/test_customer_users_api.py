"""Customer users through the API: the ERP (and staff) list the tenant's customer users with
the id a case is filed for, invited ones included; a customer user sees only the colleagues
of their company who took up their invitation; another tenant's users are never found."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from rma_portal.credentials.services import issue_api_key
from tests.api import api_as, assert_error, assert_not_found

pytestmark = pytest.mark.django_db

URL = "/api/v1/customer-users/"


def _key(world, scopes) -> APIClient:
    issued = issue_api_key(
        tenant=world.tenant, name="ERP", scopes=scopes, actor=world.tenant_admin, via="test"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
    return client


def _invite(world, email: str) -> None:
    answer = _key(world, ["orders:write"]).post(
        URL, {"customer_number": world.company.number, "email": email}, format="json"
    )
    assert answer.status_code == 202, answer.content


def test_the_erp_lists_every_customer_user_with_the_id_cases_are_filed_for(world_a, world_b):
    _invite(world_a, "pending@buyer.example")
    client = _key(world_a, ["orders:read"])

    rows = client.get(URL, {"page_size": 200}).json()["results"]

    by_email = {row["email"]: row for row in rows}
    expected = {
        world_a.customer.email,
        world_a.customer_admin.email,
        world_a.colleague.email,
        world_a.other_company_user.email,
        "pending@buyer.example",
    }
    assert set(by_email) == expected
    mine = by_email[world_a.customer.email]
    assert mine["id"] == world_a.customer.pk
    assert mine["customer_number"] == world_a.company.number
    assert mine["customer"] == world_a.company.pk
    assert mine["invitation_pending"] is False
    assert by_email["pending@buyer.example"]["invitation_pending"] is True
    assert world_b.customer.email not in by_email


def test_filters_by_company_and_address(world_a):
    client = _key(world_a, ["orders:read"])

    by_number = client.get(URL, {"customer_number": world_a.other_company.number}).json()
    by_email = client.get(URL, {"email": world_a.customer.email.upper()}).json()
    by_id = client.get(URL, {"customer": world_a.other_company.pk}).json()

    assert [row["email"] for row in by_number["results"]] == [world_a.other_company_user.email]
    assert [row["id"] for row in by_email["results"]] == [world_a.customer.pk]
    assert [row["email"] for row in by_id["results"]] == [world_a.other_company_user.email]
    assert_error(client.get(URL, {"colour": "red"}), 400, "invalid")


def test_detail_by_user_id_and_foreign_ids_are_not_found(world_a, world_b):
    client = _key(world_a, ["orders:read"])

    row = client.get(f"{URL}{world_a.colleague.pk}/").json()

    assert row["email"] == world_a.colleague.email
    assert_not_found(client.get(f"{URL}{world_b.customer.pk}/"))
    assert_not_found(client.get(f"{URL}{world_a.agent.pk}/"))  # staff are no customer users


def test_a_customer_user_sees_only_active_colleagues_of_their_company(world_a):
    _invite(world_a, "pending@buyer.example")
    client = api_as(world_a.customer)

    emails = {row["email"] for row in client.get(URL).json()["results"]}

    assert emails == {world_a.customer.email, world_a.customer_admin.email, world_a.colleague.email}
    assert_not_found(client.get(f"{URL}{world_a.other_company_user.pk}/"))


def test_a_key_without_orders_read_is_refused(world_a):
    client = _key(world_a, ["returns:read"])

    assert_error(client.get(URL), 403, "insufficient_scope")


def test_the_list_costs_the_same_queries_for_few_or_many_users(world_a):
    client = api_as(world_a.agent)
    client.get(URL)  # warm up

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured.captured_queries)

    few = queries()
    for number in range(15):
        _invite(world_a, f"new{number}@buyer.example")

    assert queries() == few

"""A customer's contract return policy through the API: replaced whole by PUT, read, removed;
checked strictly, all or nothing; by the customer number, within the tenant; tenant admins and
API keys with the orders scopes; and what it says changes the verdict on the customer's returns."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import CustomerAccount, OrderLine
from returns.models import CategoryWindow, ReturnPolicy, ReturnRequest, ReturnStatus
from rma_portal.credentials import services as credentials
from rma_portal.tenancy.context import tenant_context
from tests.factories import ProductCategoryFactory, ProductFactory
from tests.returns import conftest as returns_fixtures

from . import api_as, api_with_key, assert_error, assert_not_found

pytestmark = pytest.mark.django_db

# The service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

API = "/api/v1"

FULL = {
    "default_window_days": 30,
    "restocking_fee_percent": "5.5",
    "free_shipping_reasons": ["wrong_item", "defective"],
    "allowed_reasons": ["wrong_size", "defective", "damaged_in_transport"],
    "allowed_resolutions": ["replacement", "credit_note"],
    "auto_approve_enabled": True,
    "auto_approve_reasons": ["defective"],
    "auto_approve_max_value": "500",
    "ship_reminder_days": 10,
    "ship_within_days": 45,
    "conditions_text": "  Contract 2026/14: 30 days.  ",
    "category_windows": {"workwear": 60, "tools": 7},
    "non_returnable_categories": ["custom"],
    "non_returnable_products": ["SAW-9", "DRL-1"],
}


def url(number: str) -> str:
    return f"{API}/customers/by-external-id/{number}/return-policy/"


def key_client(world, *scopes: str):
    issued = credentials.issue_api_key(
        tenant=world.tenant, name="ERP", scopes=list(scopes), actor=world.tenant_admin, via="test"
    )
    client = api_with_key(issued.key)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
    return client


@pytest.fixture
def catalogue(world_a):
    """Tenant A's categories workwear, tools and custom, products SAW-9 and DRL-1."""
    tenant = world_a.tenant
    for code in ("workwear", "tools", "custom"):
        ProductCategoryFactory(tenant=tenant, code=code, name=code.title())
    ProductFactory(tenant=tenant, sku="SAW-9")
    ProductFactory(tenant=tenant, sku="DRL-1")
    return world_a


@pytest.fixture
def admin(world_a):
    return api_as(world_a.tenant_admin)


def override_of(company) -> ReturnPolicy | None:
    return ReturnPolicy.unscoped.filter(customer_account=company).first()


def stored(company) -> dict:
    """The override as the database holds it."""
    policy = override_of(company)
    with tenant_context(company.tenant):
        return _stored(policy)


def _stored(policy: ReturnPolicy) -> dict:
    return {
        "default_window_days": policy.default_window_days,
        "restocking_fee_percent": policy.restocking_fee_percent,
        "free_shipping_reasons": policy.free_shipping_reasons,
        "allowed_reasons": policy.allowed_reasons,
        "allowed_resolutions": policy.allowed_resolutions,
        "auto_approve_enabled": policy.auto_approve_enabled,
        "ship_days": (policy.ship_reminder_days, policy.ship_within_days),
        "auto_approve_reasons": policy.auto_approve_reasons,
        "auto_approve_max_value": policy.auto_approve_max_value,
        "conditions_text": policy.conditions_text,
        "windows": {
            w.category.code: w.days
            for w in CategoryWindow.unscoped.filter(policy=policy).select_related("category")
        },
        "categories": sorted(c.code for c in policy.non_returnable_categories.all()),
        "products": sorted(p.sku for p in policy.non_returnable_products.all()),
    }


# --- PUT, GET, DELETE -----------------------------------------------------------------------


def test_put_creates_then_replaces_the_whole_override_then_changes_nothing(
    catalogue, admin, policy_a
):
    company = catalogue.company
    target = url(company.number)

    created = admin.put(target, FULL, format="json")

    assert created.status_code == 201, created.content
    assert created["Location"] == f"http://testserver{target}"
    body = created.json()
    # Lists in the back-office's order, texts trimmed, amounts with their cents.
    assert {k: v for k, v in body.items() if k != "updated_at"} == {
        "customer_number": company.number,
        "default_window_days": 30,
        "restocking_fee_percent": "5.50",
        "free_shipping_reasons": ["defective", "wrong_item"],
        "allowed_reasons": ["damaged_in_transport", "defective", "wrong_size"],
        "allowed_resolutions": ["credit_note", "replacement"],
        "auto_approve_enabled": True,
        "auto_approve_reasons": ["defective"],
        "auto_approve_max_value": "500.00",
        "approval_coordinator_from": None,
        "approval_manager_from": None,
        "override_approval": None,
        "warranty_months": None,
        "warranty_reasons": None,
        "warranty_resolutions": None,
        "decision_hours": None,
        "refund_days": None,
        "ship_reminder_days": 10,
        "ship_within_days": 45,
        "conditions_text": "Contract 2026/14: 30 days.",
        "category_windows": {"tools": 7, "workwear": 60},
        "non_returnable_categories": ["custom"],
        "non_returnable_products": ["DRL-1", "SAW-9"],
        "always_returnable_categories": [],
        "always_returnable_products": [],
        "review_categories": [],
        "review_products": [],
        "customer_listing": None,
    }
    assert stored(company)["windows"] == {"tools": 7, "workwear": 60}
    assert stored(company)["restocking_fee_percent"] == Decimal("5.50")
    assert admin.get(target).json() == body

    # A PUT replaces the whole override: what it leaves out is as in the tenant's policy.
    replaced = admin.put(
        target,
        {"default_window_days": 45, "category_windows": {"tools": 10}, "conditions_text": ""},
        format="json",
    )

    assert replaced.status_code == 200, replaced.content
    assert stored(company) == {
        "default_window_days": 45,
        "restocking_fee_percent": None,
        "free_shipping_reasons": None,
        "allowed_reasons": None,
        "allowed_resolutions": None,
        "auto_approve_enabled": None,
        "ship_days": (None, None),
        "auto_approve_reasons": None,
        "auto_approve_max_value": None,
        "conditions_text": "",
        "windows": {"tools": 10},
        "categories": [],
        "products": [],
    }
    answer = replaced.json()
    assert answer["conditions_text"] is None
    assert answer["allowed_reasons"] is None
    assert ReturnPolicy.unscoped.filter(customer_account=company).count() == 1

    # The same PUT again writes nothing and answers the same.
    with CaptureQueriesContext(connection) as queries:
        again = admin.put(
            target,
            {"default_window_days": 45, "category_windows": {"tools": 10}, "conditions_text": ""},
            format="json",
        )
    assert again.status_code == 200
    assert again.json() == answer
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    # The tenant's own policy is never touched.
    policy_a.refresh_from_db()
    assert policy_a.default_window_days == 14
    assert CategoryWindow.unscoped.filter(policy=policy_a).count() == 1


def test_get_and_delete_answer_404_without_an_override_and_delete_removes_it(catalogue, admin):
    company = catalogue.company
    target = url(company.number)
    assert_not_found(admin.get(target))
    assert_not_found(admin.delete(target))

    assert admin.put(target, FULL, format="json").status_code == 201
    policy = override_of(company)

    deleted = admin.delete(target)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert override_of(company) is None
    assert not CategoryWindow.unscoped.filter(policy_id=policy.pk).exists()
    assert_not_found(admin.get(target))
    assert_not_found(admin.delete(target))
    # The catalogue it named stays.
    assert CustomerAccount.unscoped.filter(pk=company.pk).exists()


def test_customer_numbers_with_a_slash_reach_the_policy_and_the_customer_stays_readable(
    catalogue, admin
):
    company = catalogue.company
    CustomerAccount.unscoped.filter(pk=company.pk).update(number="K/2026/7")

    response = admin.put(url("K/2026/7"), {"default_window_days": 21}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["customer_number"] == "K/2026/7"
    assert override_of(company).default_window_days == 21
    customer = admin.get(f"{API}/customers/by-external-id/K/2026/7/")
    assert customer.status_code == 200
    assert customer.json()["number"] == "K/2026/7"


# --- strict input, all or nothing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"window_days": 30}, "window_days"),
        ({"customer_number": "C1"}, "customer_number"),
        ({"default_window_days": "30"}, "default_window_days"),
        ({"default_window_days": -1}, "default_window_days"),
        ({"default_window_days": 3651}, "default_window_days"),
        ({"default_window_days": True}, "default_window_days"),
        ({"restocking_fee_percent": 5}, "restocking_fee_percent"),
        ({"restocking_fee_percent": "100.01"}, "restocking_fee_percent"),
        ({"restocking_fee_percent": "-1"}, "restocking_fee_percent"),
        ({"restocking_fee_percent": "1e1"}, "restocking_fee_percent"),
        ({"restocking_fee_percent": "5.555"}, "restocking_fee_percent"),
        ({"auto_approve_max_value": "-10.00"}, "auto_approve_max_value"),
        ({"auto_approve_enabled": "yes"}, "auto_approve_enabled"),
        ({"allowed_reasons": ["bored"]}, "allowed_reasons[0]"),
        ({"allowed_reasons": []}, "allowed_reasons"),
        ({"allowed_reasons": "defective"}, "allowed_reasons"),
        ({"free_shipping_reasons": ["defective", "defective"]}, "free_shipping_reasons[1]"),
        ({"allowed_resolutions": ["refund", "exchange"]}, "allowed_resolutions[1]"),
        ({"auto_approve_reasons": ["refund"]}, "auto_approve_reasons[0]"),
        ({"conditions_text": 7}, "conditions_text"),
        ({"category_windows": {"workwear": "30"}}, "category_windows.workwear"),
        ({"category_windows": {"workwear": 3651}}, "category_windows.workwear"),
        ({"category_windows": {"nope": 30}}, "category_windows.nope"),
        ({"category_windows": [{"workwear": 30}]}, "category_windows"),
        ({"category_windows": {"work wear": 30}}, "category_windows.work wear"),
        ({"non_returnable_categories": [" custom"]}, "non_returnable_categories[0]"),
        ({"non_returnable_categories": ["custom", "nope"]}, "non_returnable_categories[1]"),
        ({"non_returnable_categories": ["custom", "custom"]}, "non_returnable_categories[1]"),
        ({"non_returnable_products": ["NOPE-1"]}, "non_returnable_products[0]"),
        ({"non_returnable_products": None}, "non_returnable_products"),
        ({"ship_within_days": 366}, "ship_within_days"),
        ({"ship_within_days": -1}, "ship_within_days"),
        ({"ship_reminder_days": "7"}, "ship_reminder_days"),
        # the reminder must come before the goods are due (0 days: never due)
        ({"ship_reminder_days": 45, "ship_within_days": 45}, "ship_reminder_days"),
        ({"ship_reminder_days": 50}, "ship_reminder_days"),
        ({"always_returnable_products": ["NOPE-1"]}, "always_returnable_products[0]"),
        ({"review_categories": ["nope"]}, "review_categories[0]"),
        # "custom" is not returnable in FULL: it cannot be always returnable as well
        ({"always_returnable_categories": ["custom"]}, "always_returnable_categories"),
        ({"customer_listing": "maybe"}, "customer_listing"),
        ({"override_approval": "boss"}, "override_approval"),
        ({"warranty_months": 121}, "warranty_months"),
        ({"decision_hours": -1}, "decision_hours"),
        ({"refund_days": "7"}, "refund_days"),
        ({"warranty_resolutions": ["exchange"]}, "warranty_resolutions[0]"),
        (
            {"approval_coordinator_from": "2000", "approval_manager_from": "1000"},
            "approval_manager_from",
        ),
        ({"approval_coordinator_from": "-1.00"}, "approval_coordinator_from"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_changes(catalogue, admin, body, field):
    company = catalogue.company
    assert admin.put(url(company.number), FULL, format="json").status_code == 201
    before = stored(company)

    response = admin.put(url(company.number), {**FULL, **body}, format="json")

    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == [field], error
    assert stored(company) == before


def test_the_lists_and_the_customers_listing_are_written_and_answered(catalogue, admin):
    company = catalogue.company
    body = {
        "approval_coordinator_from": "250.00",
        "override_approval": "manager",
        "warranty_months": 36,
        "warranty_resolutions": ["repair"],
        "decision_hours": 8,
        "refund_days": 5,
        "always_returnable_products": ["DRL-1"],
        "review_categories": ["tools"],
        "review_products": ["SAW-9"],
        "customer_listing": "review",
    }

    response = admin.put(url(company.number), body, format="json")

    assert response.status_code == 201, response.content
    answer = response.json()
    assert {name: answer[name] for name in body} == body
    assert answer["always_returnable_categories"] == []
    policy = override_of(company)
    with tenant_context(company.tenant):
        assert [p.sku for p in policy.always_returnable_products.all()] == ["DRL-1"]
        assert [c.code for c in policy.review_categories.all()] == ["tools"]
    assert policy.customer_listing == "review"
    # null: the customer is not listed
    assert admin.put(url(company.number), {}, format="json").json()["customer_listing"] is None
    assert override_of(company).customer_listing == ""


def test_unknown_codes_are_all_named_and_the_valid_rest_is_not_written(catalogue, admin):
    company = catalogue.company
    body = {
        "default_window_days": 3,
        "category_windows": {"workwear": 5, "ghost": 9},
        "non_returnable_products": ["SAW-9", "GHOST-1"],
    }

    response = admin.put(url(company.number), body, format="json")

    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {
        "category_windows.ghost": ["unknown category 'ghost'"],
        "non_returnable_products[1]": ["unknown SKU 'GHOST-1' (not in the catalogue)"],
    }
    assert override_of(company) is None


def test_a_body_that_is_not_an_object_is_refused(catalogue, admin):
    response = admin.put(url(catalogue.company.number), [FULL], format="json")
    assert_error(response, 400, "invalid")
    assert override_of(catalogue.company) is None


# --- tenants and customers ------------------------------------------------------------------


def test_unknown_customer_and_another_tenants_customer_are_404(catalogue, admin, world_b):
    assert_not_found(admin.put(url("NO-SUCH-1"), FULL, format="json"))
    assert_not_found(admin.get(url(world_b.company.number)))
    assert_not_found(admin.put(url(world_b.company.number), {}, format="json"))
    assert_not_found(admin.delete(url(world_b.company.number)))
    assert not ReturnPolicy.unscoped.filter(customer_account__isnull=False).exists()


def test_the_same_customer_number_in_two_tenants_is_two_customers(catalogue, admin, world_b):
    company = catalogue.company
    CustomerAccount.unscoped.filter(pk=world_b.company.pk).update(number=company.number)
    ProductCategoryFactory(tenant=world_b.tenant, code="theirs")

    assert admin.put(url(company.number), {"default_window_days": 9}, format="json").status_code
    refused = admin.put(
        url(company.number), {"category_windows": {"theirs": 9}}, format="json"
    )  # another tenant's category is unknown here

    assert set(assert_error(refused, 400, "invalid")["fields"]) == {"category_windows.theirs"}
    assert override_of(company).default_window_days == 9
    assert override_of(world_b.company) is None


# --- who may --------------------------------------------------------------------------------


def test_tenant_admins_write_staff_read_customers_neither(catalogue, policy_a):
    world = catalogue
    target = url(world.company.number)
    assert api_as(world.tenant_admin).put(target, FULL, format="json").status_code == 201

    for user in (world.agent, world.coordinator, world.manager):
        client = api_as(user)
        assert client.get(target).status_code == 200
        assert_error(client.put(target, {}, format="json"), 403, "forbidden")
        assert_error(client.delete(target), 403, "forbidden")
    for user in (world.customer, world.customer_admin):
        client = api_as(user)
        assert_error(client.get(target), 403, "forbidden")
        assert_error(client.put(target, {}, format="json"), 403, "forbidden")
        assert_error(client.delete(target), 403, "forbidden")
    assert stored(world.company)["default_window_days"] == 30


def test_api_keys_need_orders_read_to_read_and_orders_write_to_write(catalogue):
    world = catalogue
    target = url(world.company.number)
    writer = key_client(world, "orders:write")
    reader = key_client(world, "orders:read")
    catalogue_key = key_client(world, "catalog:write")

    assert writer.put(target, FULL, format="json").status_code == 201
    assert_error(writer.get(target), 403, "insufficient_scope")
    assert reader.get(target).json()["default_window_days"] == 30
    assert_error(reader.put(target, {}, format="json"), 403, "insufficient_scope")
    assert_error(reader.delete(target), 403, "insufficient_scope")
    assert_error(catalogue_key.get(target), 403, "insufficient_scope")
    assert_error(catalogue_key.put(target, {}, format="json"), 403, "insufficient_scope")
    assert stored(world.company)["default_window_days"] == 30
    assert writer.delete(target).status_code == 204


# --- the schema -----------------------------------------------------------------------------


def test_the_schema_says_what_the_input_refuses(world_a):
    schema = api_as(world_a.tenant_admin).get(f"{API}/schema/", {"format": "json"}).json()
    path = schema["paths"]["/api/v1/customers/by-external-id/{external_id}/return-policy/"]
    assert set(path) >= {"get", "put", "delete"}
    assert set(path["put"]["responses"]) >= {"200", "201", "400", "404"}
    assert "204" in path["delete"]["responses"]
    body = schema["components"]["schemas"]["ReturnPolicyOverrideInputRequest"]
    assert body["additionalProperties"] is False
    assert "required" not in body
    assert body["properties"]["allowed_reasons"]["uniqueItems"] is True
    assert body["properties"]["allowed_reasons"]["minItems"] == 1
    assert body["properties"]["non_returnable_products"]["uniqueItems"] is True
    windows = body["properties"]["category_windows"]
    assert windows["propertyNames"]["pattern"] == r"^[-a-zA-Z0-9_]+$"
    assert windows["additionalProperties"]["maximum"] == 3650


# --- what the override does -----------------------------------------------------------------


def test_an_override_put_through_the_api_changes_a_portal_returns_verdict(
    world_a, delivered_order, file_return, login
):
    # given: a portal draft of line 1 (electronics, delivered 5 days ago, 14-day window)
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "wrong_size"}],
        submit=False,
    )
    review = reverse("portal:return_wizard_review", args=[draft.pk])
    client = login(world_a.customer)
    assert client.get(review).context["can_submit"] is True

    # when: the ERP puts the customer's contract: 3 days, and no returns for a wrong size
    admin = api_as(world_a.tenant_admin)
    target = url(world_a.company.number)
    body = {"default_window_days": 3, "allowed_reasons": ["defective", "damaged_in_transport"]}
    assert admin.put(target, body, format="json").status_code == 201

    # then: the portal refuses what it allowed, and says why
    page = client.get(review)
    html = page.content.decode()
    assert page.context["can_submit"] is False
    assert "The return window for" in html and "is 3 days" in html
    assert "This reason is not accepted under your return policy." in html
    refused = client.post(review)
    assert refused.status_code == 200
    assert ReturnRequest.unscoped.get(pk=draft.pk).status == ReturnStatus.DRAFT

    # and once the contract is removed, the tenant's policy applies again
    assert admin.delete(target).status_code == 204
    assert client.get(review).context["can_submit"] is True
    submitted = client.post(review)
    assert submitted.status_code == 302
    assert ReturnRequest.unscoped.get(pk=draft.pk).status == ReturnStatus.SUBMITTED


def test_an_override_put_through_the_api_refuses_an_api_return(world_a, delivered_order):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=2)  # workwear
    admin = api_as(world_a.tenant_admin)
    put = admin.put(
        url(world_a.company.number),
        {"non_returnable_categories": ["workwear"], "allowed_resolutions": ["credit_note"]},
        format="json",
    )
    assert put.status_code == 201, put.content

    response = api_as(world_a.customer).post(
        f"{API}/returns/",
        {
            "lines": [{"order_line": line.pk, "quantity": 1, "reason": "defective"}],
            "requested_resolution": "refund",
            "return_method": "drop_off",
            "submit": True,
        },
        format="json",
    )

    error = assert_error(response, 400, "policy_refused")
    assert "Goods in the category “Workwear” cannot be returned." in error["fields"]["lines[0]"]
    assert "This resolution is not offered under your return policy." in error["message"]
    assert not ReturnRequest.unscoped.filter(status=ReturnStatus.SUBMITTED).exists()

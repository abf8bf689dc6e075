"""What the ERP reports of deliveries decides what can be returned: at most the delivered
quantity, counted in the return window from the line's own delivery date, and nothing of a line
not delivered at all. Lines without delivery data keep the order's quantity and date."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from customers.models import OrderLine
from returns import services
from returns.models import ReturnLine, ReturnRequest, ReturnStatus
from returns.policies import evaluate_line
from returns.selectors import line_facts, return_rules_for, returnable_at_most, tenant_today
from returns.services import ReturnInvalid
from rma_portal.tenancy.context import tenant_context
from tests.api import api_as, assert_error
from tests.returns.test_portal_wizard import lines_post, start_draft

pytestmark = pytest.mark.django_db

RETURNS = "/api/v1/returns/"


def days_ago(world, days: int) -> datetime.date:
    return tenant_today(world.tenant) - datetime.timedelta(days=days)


def deliver(line: OrderLine, *, quantity: int | None, on: datetime.date | None = None) -> OrderLine:
    """Record what the ERP reported of the line's delivery."""
    OrderLine.unscoped.filter(pk=line.pk).update(delivered_quantity=quantity, delivered_on=on)
    return OrderLine.unscoped.select_related("order", "product__category").get(pk=line.pk)


def verdict_of(world, line: OrderLine, quantity: int, reason: str = "wrong_size", claimed=0):
    with tenant_context(world.tenant):
        rules = return_rules_for(customer_account=line.order.customer_account)
    facts = line_facts(order_line=line, quantity=quantity, reason=reason, claimed_elsewhere=claimed)
    return evaluate_line(rules, facts, today=tenant_today(world.tenant))


def api_body(line: OrderLine, quantity: int, **changes) -> dict:
    return {
        "lines": [{"order_line": line.pk, "quantity": quantity, "reason": "defective"}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
        "submit": True,
        **changes,
    }


@pytest.fixture
def partial(world_a, policy_a, make_order_line):
    """10 ordered, 4 delivered (the order delivered 5 days ago)."""
    return deliver(make_order_line(world_a.company, quantity=10), quantity=4)


# --- the cap --------------------------------------------------------------------------------


def test_the_most_that_can_be_returned(world_a, policy_a, make_order_line):
    line = make_order_line(world_a.company, quantity=10)
    assert returnable_at_most(line) == 10  # no delivery data: as ordered, as before
    assert returnable_at_most(deliver(line, quantity=4)) == 4
    assert returnable_at_most(deliver(line, quantity=0)) == 0
    assert returnable_at_most(deliver(line, quantity=10)) == 10


def test_the_policy_caps_at_the_delivered_quantity_less_other_returns(world_a, partial):
    allowed = verdict_of(world_a, partial, 4)
    assert allowed.allowed and allowed.returnable_quantity == 4

    refused = verdict_of(world_a, partial, 3, claimed=2)

    assert refused.returnable_quantity == 2
    assert refused.refusals == [
        "Only 2 of 4 can still be returned (2 already in other returns); you asked for 3."
    ]


def test_a_line_with_nothing_delivered_is_refused_with_one_clear_reason(
    world_a, policy_a, make_order_line
):
    line = deliver(make_order_line(world_a.company, quantity=10), quantity=0)

    verdict = verdict_of(world_a, line, 1)

    assert not verdict.allowed
    assert verdict.refusals == ["This line has not been delivered yet."]
    assert verdict.returnable_quantity == 0


def test_lines_without_delivery_data_work_as_before(world_a, policy_a, make_order_line):
    delivered = make_order_line(world_a.company, quantity=10, delivered_days_ago=5)
    assert verdict_of(world_a, delivered, 10).allowed
    too_many = verdict_of(world_a, delivered, 11)
    assert too_many.refusals == [
        "Only 10 of 10 can still be returned (0 already in other returns); you asked for 11."
    ]
    late = make_order_line(world_a.company, delivered_days_ago=20)
    assert verdict_of(world_a, late, 1).last_day == days_ago(world_a, 20) + datetime.timedelta(
        days=14
    )
    not_yet = verdict_of(world_a, make_order_line(world_a.company, delivered_days_ago=None), 1)
    assert not_yet.refusals == ["This line has not been delivered yet."]
    assert not_yet.returnable_quantity == 5


# --- the window -----------------------------------------------------------------------------


def test_the_window_counts_from_the_lines_own_delivery_date(world_a, policy_a, make_order_line):
    # The order was delivered 30 days ago (14-day window), this line only 3 days ago.
    late_line = deliver(
        make_order_line(world_a.company, delivered_days_ago=30), quantity=5, on=days_ago(world_a, 3)
    )
    verdict = verdict_of(world_a, late_line, 1)
    assert verdict.allowed, verdict.refusals
    assert verdict.last_day == days_ago(world_a, 3) + datetime.timedelta(days=14)

    # The order was delivered 2 days ago, this line 20 days ago, on an earlier delivery.
    early_line = deliver(
        make_order_line(world_a.company, delivered_days_ago=2), quantity=2, on=days_ago(world_a, 20)
    )
    refused = verdict_of(world_a, early_line, 1)
    assert refused.refusals == [
        "The return window for the category “Electronics” is 14 days; this line was delivered 20 "
        "days ago."
    ]


# --- the portal -----------------------------------------------------------------------------


def test_portal_return_of_a_partly_delivered_line(world_a, partial, login):
    client = login(world_a.customer)
    draft = start_draft(client, partial.order)
    lines_url = reverse("portal:return_wizard_lines", args=[draft.pk])

    page = client.get(lines_url)
    assert page.status_code == 200
    assert page.context["rows"][0].returnable == 4

    refused = client.post(
        lines_url, lines_post([{"order_line": partial.pk, "quantity": 5, "reason": "defective"}])
    )
    assert refused.status_code == 200
    assert "only 4 were delivered" in refused.content.decode()
    assert not ReturnLine.unscoped.filter(return_request=draft).exists()

    saved = client.post(
        lines_url, lines_post([{"order_line": partial.pk, "quantity": 4, "reason": "defective"}])
    )
    assert saved.status_code == 302, saved.content[:2000]
    details = reverse("portal:return_wizard_details", args=[draft.pk])
    client.post(details, {"requested_resolution": "refund", "return_method": "drop_off"})
    review = reverse("portal:return_wizard_review", args=[draft.pk])
    assert client.get(review).context["can_submit"] is True
    assert client.post(review).status_code == 302
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.SUBMITTED
    assert ReturnLine.unscoped.get(return_request=draft).quantity == 4


def test_portal_refuses_a_line_with_nothing_delivered(world_a, policy_a, make_order_line, login):
    line = deliver(make_order_line(world_a.company, quantity=10), quantity=0)
    client = login(world_a.customer)
    draft = start_draft(client, line.order)
    lines_url = reverse("portal:return_wizard_lines", args=[draft.pk])

    page = client.get(lines_url)
    assert "This line has not been delivered yet." in page.content.decode()

    refused = client.post(
        lines_url, lines_post([{"order_line": line.pk, "quantity": 1, "reason": "defective"}])
    )

    assert refused.status_code == 200
    assert "nothing of this line has been delivered yet" in refused.content.decode()
    assert not ReturnLine.unscoped.filter(return_request=draft).exists()


# --- the API --------------------------------------------------------------------------------


def test_api_return_of_a_partly_delivered_line(world_a, partial):
    client = api_as(world_a.customer)

    refused = client.post(RETURNS, api_body(partial, 5), format="json")

    error = assert_error(refused, 400, "invalid")
    assert error["fields"]["lines[0].quantity"] == [
        f"{partial.order.number} line {partial.line_number}: only 4 were delivered."
    ]
    assert not ReturnRequest.unscoped.exists()

    created = client.post(RETURNS, api_body(partial, 3), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == ReturnStatus.SUBMITTED

    # 1 of the 4 delivered is left
    beyond = client.post(RETURNS, api_body(partial, 2), format="json")
    error = assert_error(beyond, 400, "policy_refused")
    assert "Only 1 of 4 can still be returned" in error["message"]
    assert client.post(RETURNS, api_body(partial, 1), format="json").status_code == 201


def test_api_refuses_a_line_with_nothing_delivered_even_for_staff_with_a_reason(
    world_a, policy_a, make_order_line
):
    line = deliver(make_order_line(world_a.company, quantity=10), quantity=0)
    body = api_body(
        line, 1, on_behalf_of=world_a.customer.pk, channel="phone", override_reason="Urgent."
    )

    response = api_as(world_a.agent).post(RETURNS, body, format="json")

    error = assert_error(response, 400, "invalid")
    assert error["fields"]["lines[0].quantity"] == [
        f"{line.order.number} line {line.line_number}: nothing of this line has been delivered yet."
    ]
    assert not ReturnRequest.unscoped.exists()


def test_a_delivery_corrected_to_nothing_after_the_draft_cannot_be_overridden(
    world_a, policy_a, make_order_line, file_return
):
    line = make_order_line(world_a.company, quantity=10)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 2, "reason": "defective"}],
        submit=False,
    )
    deliver(line, quantity=0)  # the ERP corrects the delivery

    with tenant_context(world_a.tenant), pytest.raises(ReturnInvalid) as refused:
        services.return_request_submit_for_customer(
            return_request=draft, actor=world_a.agent, override_reason="Customer insists."
        )

    assert refused.value.code == "policy_refused"
    assert "This line has not been delivered yet." in refused.value.message
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.DRAFT

"""The resolution through the API: `resolve` line by line, and the ERP confirming the
credit note or the replacement order it issued (`POST /returns/{id}/resolution/confirm/`):
states, amounts, repeated and conflicting confirmations, isolation, and what the customer
sees of the document in the API and the portal."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from customers.models import OrderLine
from returns import services
from returns.models import ResolutionDocument, ReturnEvent, ReturnLine, ReturnStatus
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.html import definitions, texts
from tests.returns import conftest as returns_fixtures

from . import api_as, assert_error, assert_not_found, delivered_line

pytestmark = pytest.mark.django_db

# The service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return
return_state = returns_fixtures.return_state
advance = returns_fixtures.advance

S = ReturnStatus
URL = "/api/v1/returns/"


def confirm_url(return_request) -> str:
    return f"{URL}{return_request.pk}/resolution/confirm/"


def state(return_request) -> dict:
    """The return as return_state() sees it, and its documents."""
    return {
        **return_state(return_request),
        "documents": list(
            ResolutionDocument.unscoped.filter(return_request_id=return_request.pk).values()
        ),
    }


@pytest.fixture
def two_lines(world_a, delivered_order, file_return):
    """An inspected return of world A's customer: line 1 2 × 100 defective, line 2 4 × 20
    wrong size (10 % fee), every unit accepted."""
    first, second = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    draft = file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": first.pk, "quantity": 2, "reason": "defective"},
            {"order_line_id": second.pk, "quantity": 4, "reason": "wrong_size"},
        ],
        submit=False,
    )
    return advance(draft, S.INSPECTED, agent=world_a.agent)


@pytest.fixture
def credited(two_lines, world_a):
    """`two_lines` resolved by credit note: 200.00 + 72.00 = 272.00 paid back."""
    with tenant_context(world_a.tenant):
        return services.return_request_resolve(
            return_request=two_lines, actor=world_a.agent, resolution="credit_note"
        )


def credit_note(amount: str = "272.00", number: str = "KOR/2026/17", **changes) -> dict:
    return {
        "type": "credit_note",
        "number": number,
        "date": "2026-11-20",
        "amount": amount,
        **changes,
    }


def today(world) -> str:
    return tenant_today(world.tenant).isoformat()


# --- resolve through the API ----------------------------------------------------------------


def test_resolve_line_by_line_through_the_api(two_lines, world_a):
    first, second = ReturnLine.unscoped.filter(return_request=two_lines).order_by("pk")
    agent = api_as(world_a.agent)

    response = agent.post(
        f"{URL}{two_lines.pk}/resolve/",
        {
            "lines": [
                {"id": first.pk, "resolution": "replacement", "replacement_quantity": 2},
                {
                    "id": second.pk,
                    "resolution": "refund",
                    "amount": "90.00",
                    "override_reason": "Freight refunded too.",
                },
            ],
            "note": "Spare parts are on their way.",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["resolution"], body["resolution_label"]) == (
        "resolved",
        "mixed",
        "Per line (mixed)",
    )
    assert (body["refund_total"], body["credit_note_total"]) == ("90.00", "0.00")
    assert [
        (x["resolution"], x["refund_amount"], x["replacement_sku"], x["replacement_quantity"])
        for x in body["lines"]
    ] == [
        ("replacement", "0.00", first.order_line.product.sku, 2),
        ("refund", "90.00", "", None),
    ]
    assert [x["override_reason"] for x in body["lines"]] == ["", "Freight refunded too."]
    # the customer reads the decision, never the internal reason
    customer_view = api_as(world_a.customer).get(f"{URL}{two_lines.pk}/").json()
    assert [x["resolution"] for x in customer_view["lines"]] == ["replacement", "refund"]
    assert all("override_reason" not in x for x in customer_view["lines"])
    assert services.RESOLUTION_OVERRIDDEN not in {e["action"] for e in customer_view["events"]}


def test_bad_resolve_input_names_the_field_and_changes_nothing(two_lines, world_a):
    first, second = ReturnLine.unscoped.filter(return_request=two_lines).order_by("pk")
    agent = api_as(world_a.agent)
    url = f"{URL}{two_lines.pk}/resolve/"
    before = state(two_lines)

    over = {"lines": [{"id": first.pk, "resolution": "refund", "amount": "500.00"}]}
    error = assert_error(agent.post(url, {**over, "resolution": "refund"}), 400, "invalid")
    assert f"lines[{first.pk}].amount" in error["fields"]
    error = assert_error(agent.post(url, over, format="json"), 400, "invalid")
    assert f"lines[{second.pk}].resolution" in error["fields"]  # not given, no default
    twice = {"lines": [{"id": first.pk, "resolution": "refund"}] * 2, "resolution": "refund"}
    assert "lines" in assert_error(agent.post(url, twice, format="json"), 400, "invalid")["fields"]
    three_decimals = {
        "resolution": "refund",
        "lines": [{"id": first.pk, "resolution": "refund", "amount": "1.005"}],
    }
    assert_error(agent.post(url, three_decimals, format="json"), 400, "invalid")
    assert state(two_lines) == before


# --- confirm: the credit note ---------------------------------------------------------------


def test_the_erp_confirms_the_credit_note_and_the_customer_sees_it(credited, world_a, login):
    agent = api_as(world_a.agent)

    response = agent.post(confirm_url(credited), credit_note(), format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["credit_note_number"] == "KOR/2026/17"
    assert body["documents"] == [
        {
            "type": "credit_note",
            "type_label": "Credit note",
            "number": "KOR/2026/17",
            "date": "2026-11-20",
            "amount": "272.00",
            "confirmed_at": body["documents"][0]["confirmed_at"],
        }
    ]
    event = ReturnEvent.unscoped.get(return_request=credited, action="credit_note_confirmed")
    assert event.is_public and event.actor == world_a.agent
    assert "KOR/2026/17" in event.note

    # the customer: in the API answer and on the return's page in the portal
    seen = api_as(world_a.customer).get(f"{URL}{credited.pk}/").json()
    assert [(d["type"], d["number"], d["amount"]) for d in seen["documents"]] == [
        ("credit_note", "KOR/2026/17", "272.00")
    ]
    assert "credit_note_confirmed" in {e["action"] for e in seen["events"]}
    page = login(world_a.customer).get(f"/portal/returns/{credited.pk}/")
    money = definitions(page, "section.money dl")
    assert money["Credit note"] == "KOR/2026/17"
    assert money["Credit note amount"].split()[0] in ("272.00", "272,00")
    assert "Credit note issued" in texts(page, "#timeline .timeline-head strong")


def test_confirming_the_same_credit_note_again_changes_nothing(credited, world_a):
    agent = api_as(world_a.agent)
    first = agent.post(confirm_url(credited), credit_note(), format="json")
    assert first.status_code == 200
    after_first = state(credited)

    again = agent.post(confirm_url(credited), credit_note(), format="json")

    assert again.status_code == 200, again.content
    assert again.json()["documents"] == first.json()["documents"]
    assert again.json()["version"] == first.json()["version"]
    assert state(credited) == after_first


@pytest.mark.parametrize(
    "changes",
    [
        {"number": "KOR/2026/99"},  # another credit note for the same return
        {"date": "2026-11-21"},  # the same one with another date
    ],
)
def test_a_different_credit_note_for_a_confirmed_return_is_a_conflict(credited, world_a, changes):
    agent = api_as(world_a.agent)
    assert agent.post(confirm_url(credited), credit_note(), format="json").status_code == 200
    before = state(credited)

    response = agent.post(confirm_url(credited), credit_note(**changes), format="json")

    error = assert_error(response, 409, "conflict")
    assert "KOR/2026/17" in error["message"]
    assert state(credited) == before


def test_a_credit_note_number_of_another_return_is_a_conflict(credited, world_a, file_return):
    other = file_return(
        world_a.customer,
        world_a.company,
        [
            {
                "order_line_id": delivered_line(world_a.company).pk,
                "quantity": 1,
                "reason": "defective",
            }
        ],
        submit=False,
    )
    other = advance(other, S.RESOLVED, agent=world_a.agent)  # a refund of 100.00
    agent = api_as(world_a.agent)
    assert agent.post(confirm_url(credited), credit_note(), format="json").status_code == 200
    before = state(other)

    response = agent.post(confirm_url(other), credit_note(amount="100.00"), format="json")

    error = assert_error(response, 409, "conflict")
    assert credited.number in error["message"]
    assert state(other) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (credit_note(amount="271.99"), "amount"),  # not what the return pays back
        (credit_note(amount=None), "amount"),
        (credit_note(date=None), "date"),
        (credit_note(number="  "), "number"),
        (credit_note(number="K" * 41), "number"),
        (credit_note(type="invoice"), "type"),
        ({"type": "replacement_order", "number": "ZAM/R/1"}, "type"),  # no replacement lines
    ],
)
def test_bad_confirmations_answer_400_and_change_nothing(credited, world_a, body, field):
    before = state(credited)

    response = api_as(world_a.agent).post(confirm_url(credited), body, format="json")

    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    assert state(credited) == before


def test_a_credit_note_dated_after_today_is_refused(credited, world_a):
    tomorrow = tenant_today(world_a.tenant) + datetime.timedelta(days=1)
    before = state(credited)

    response = api_as(world_a.agent).post(
        confirm_url(credited), credit_note(date=tomorrow.isoformat()), format="json"
    )

    assert "date" in assert_error(response, 400, "invalid")["fields"]
    assert state(credited) == before


def test_a_return_that_pays_nothing_back_takes_no_credit_note(two_lines, world_a):
    with tenant_context(world_a.tenant):
        rma = services.return_request_resolve(
            return_request=two_lines, actor=world_a.agent, resolution="repair"
        )
    before = state(rma)

    response = api_as(world_a.agent).post(confirm_url(rma), credit_note(amount="0.00"))

    assert "type" in assert_error(response, 400, "invalid")["fields"]
    assert state(rma) == before


# --- confirm: the replacement order -----------------------------------------------------------


def test_the_erp_confirms_the_replacement_order(two_lines, world_a):
    first, second = ReturnLine.unscoped.filter(return_request=two_lines).order_by("pk")
    with tenant_context(world_a.tenant):
        rma = services.return_request_resolve(
            return_request=two_lines,
            actor=world_a.agent,
            lines={
                first.pk: services.LineResolution("replacement"),
                second.pk: services.LineResolution("credit_note"),
            },
        )
    agent = api_as(world_a.agent)
    order = {"type": "replacement_order", "number": "ZAM/R/2026/3", "date": today(world_a)}

    with_amount = agent.post(confirm_url(rma), {**order, "amount": "1.00"}, format="json")
    assert "amount" in assert_error(with_amount, 400, "invalid")["fields"]
    response = agent.post(confirm_url(rma), order, format="json")
    credit = agent.post(confirm_url(rma), credit_note(amount="72.00"), format="json")

    assert response.status_code == 200, response.content
    assert credit.status_code == 200, credit.content
    body = credit.json()
    assert body["replacement_order_ref"] == "ZAM/R/2026/3"
    assert [(d["type"], d["number"], d["amount"]) for d in body["documents"]] == [
        ("replacement_order", "ZAM/R/2026/3", None),
        ("credit_note", "KOR/2026/17", "72.00"),
    ]
    assert [e.action for e in ReturnEvent.unscoped.filter(return_request=rma, is_public=True)][
        -2:
    ] == ["replacement_order_confirmed", "credit_note_confirmed"]


# --- states, roles, isolation --------------------------------------------------------------


@pytest.mark.parametrize("status", [S.SUBMITTED, S.APPROVED, S.INSPECTED])
def test_a_return_not_resolved_yet_is_a_conflict(world_a, delivered_order, file_return, status):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        submit=False,
    )
    rma = advance(draft, status, agent=world_a.agent)
    before = state(rma)

    response = api_as(world_a.agent).post(confirm_url(rma), credit_note(amount="100.00"))

    error = assert_error(response, 409, "conflict")
    assert "not resolved" in error["message"]
    assert state(rma) == before


def test_a_closed_return_still_takes_its_credit_note(credited, world_a):
    closed = advance(credited, S.CLOSED, agent=world_a.agent)

    response = api_as(world_a.agent).post(confirm_url(closed), credit_note(), format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"


def test_a_stale_version_is_a_conflict(credited, world_a):
    agent = api_as(world_a.agent)
    version = agent.get(f"{URL}{credited.pk}/").json()["version"]
    with tenant_context(world_a.tenant):  # someone else changed the return since it was read
        services.return_request_assign(
            return_request=credited, actor=world_a.coordinator, assignee=world_a.agent
        )
    before = state(credited)

    response = agent.post(
        confirm_url(credited), credit_note(), format="json", HTTP_IF_MATCH=f'"{version}"'
    )

    assert_error(response, 409, "conflict")
    assert state(credited) == before


@pytest.mark.parametrize("who", ["customer", "customer_admin", "manager"])
def test_customers_and_managers_may_not_confirm(credited, world_a, who):
    before = state(credited)

    response = api_as(getattr(world_a, who)).post(confirm_url(credited), credit_note())

    assert_error(response, 403, "forbidden")
    assert state(credited) == before


@pytest.mark.parametrize(
    "who", ["world_b.agent", "world_a.other_company_user", "world_a.colleague"]
)
def test_returns_the_user_may_not_see_answer_404_and_change_nothing(
    credited, world_a, world_b, who
):
    user = {
        "world_b.agent": world_b.agent,
        "world_a.other_company_user": world_a.other_company_user,
        "world_a.colleague": world_a.colleague,
    }[who]
    before = state(credited)

    assert_not_found(api_as(user).post(confirm_url(credited), credit_note(), format="json"))
    assert_not_found(api_as(user).post(f"{URL}{credited.pk}/resolve/", {"resolution": "refund"}))
    assert_not_found(
        api_as(world_b.agent).post(f"{URL}999999999/resolution/confirm/", credit_note())
    )
    assert state(credited) == before
    assert not ResolutionDocument.unscoped.exists()


def test_the_refund_total_is_what_the_credit_note_must_carry(credited, world_a):
    body = api_as(world_a.agent).get(f"{URL}{credited.pk}/").json()

    assert Decimal(body["refund_total"]) == Decimal("272.00")
    assert Decimal(body["credit_note_total"]) == Decimal("272.00")
    assert body["documents"] == []

"""Syncing through the lists: what changed since, filters that may be repeated (any of their
values), and cursors that neither skip nor repeat rows while others write between pages."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.models import Complaint
from customers.models import Order
from returns.models import ReturnRequest
from rma_portal.api.pagination import encode_cursor
from tests.complaints.conftest import complaint_file
from tests.returns import conftest as returns_fixtures

from . import api_as, assert_error, delivered_line

pytestmark = pytest.mark.django_db

policy_a = returns_fixtures.policy_a
file_return = returns_fixtures.file_return

RETURNS = "/api/v1/returns/"
COMPLAINTS = "/api/v1/complaints/"
ORDERS = "/api/v1/orders/"
JAN = datetime.datetime(2026, 1, 5, 8, 0, tzinfo=datetime.UTC)


def at(hours: float) -> datetime.datetime:
    return JAN + datetime.timedelta(hours=hours)


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def changed_at(model, row, moment: datetime.datetime) -> None:
    # update() leaves auto_now alone: the test decides when each row last changed.
    model.unscoped.filter(pk=row.pk).update(updated_at=moment)


@pytest.fixture
def new_return(world_a, policy_a, file_return):
    """A new submitted return (one unit of a line with plenty delivered), of world A's customer
    unless another user and company are given."""
    lines = {}

    def _new(customer=None, company=None):
        company = company or world_a.company
        if company.pk not in lines:
            lines[company.pk] = delivered_line(company, quantity=1000)
        return file_return(
            customer or world_a.customer,
            company,
            [{"order_line_id": lines[company.pk].pk, "quantity": 1, "reason": "defective"}],
        )

    return _new


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def walk(client, url: str, params: dict, *, between_pages=None) -> list[int]:
    """Every row of a cursor walk, calling `between_pages(page_number)` after each page."""
    seen, cursor, page = [], "", 0
    while True:
        body = client.get(url, {**params, "cursor": cursor}).json()
        seen += [row["id"] for row in body["results"]]
        assert body["count"] is None and body["previous"] is None
        page += 1
        if body["next"] is None:
            return seen
        assert "cursor=" in body["next"]
        cursor = body["next_cursor"]
        if between_pages:
            between_pages(page)


# --- updated_since, created_from/to ----------------------------------------------------------


def test_updated_since_lists_what_changed_at_or_after_the_moment(world_a, new_return):
    old, edge, recent = new_return(), new_return(), new_return()
    for row, hours in ((old, 0), (edge, 1), (recent, 2)):
        changed_at(ReturnRequest, row, at(hours))

    response = api_as(world_a.agent).get(RETURNS, {"updated_since": iso(at(1))})

    assert sorted(ids(response)) == sorted([edge.pk, recent.pk])


def test_updated_since_in_another_zone_is_the_same_moment(world_a, new_return):
    before, after = new_return(), new_return()
    changed_at(ReturnRequest, before, at(0))
    changed_at(ReturnRequest, after, at(2))
    one_hour_later_in_warsaw = at(1).astimezone(datetime.timezone(datetime.timedelta(hours=1)))

    response = api_as(world_a.agent).get(
        RETURNS, {"updated_since": one_hour_later_in_warsaw.isoformat()}
    )

    assert ids(response) == [after.pk]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", ""])
def test_a_bad_updated_since_is_named(world_a, value):
    response = api_as(world_a.agent).get(RETURNS, {"updated_since": value})

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"updated_since"}


def test_complaints_and_orders_take_updated_since_too(world_a, make_order):
    old_complaint = complaint_file(world_a.customer, world_a.company)
    new_complaint = complaint_file(world_a.customer, world_a.company)
    changed_at(Complaint, old_complaint, at(0))
    changed_at(Complaint, new_complaint, at(5))
    old_order, new_order = make_order(world_a.company), make_order(world_a.company)
    changed_at(Order, old_order, at(0))
    changed_at(Order, new_order, at(5))
    client = api_as(world_a.agent)

    assert ids(client.get(COMPLAINTS, {"updated_since": iso(at(1))})) == [new_complaint.pk]
    assert ids(client.get(ORDERS, {"updated_since": iso(at(1))})) == [new_order.pk]


def test_orders_are_created_on_their_order_date(world_a, make_order):
    early = make_order(world_a.company, order_date=datetime.date(2026, 1, 2))
    late = make_order(world_a.company, order_date=datetime.date(2026, 3, 2))
    client = api_as(world_a.agent)

    since_feb = client.get(ORDERS, {"created_from": "2026-02-01"})
    until_feb = client.get(ORDERS, {"created_to": "2026-02-01"})

    assert (ids(since_feb), ids(until_feb)) == ([late.pk], [early.pk])


# --- filters that may be repeated -------------------------------------------------------------


def test_customer_filter_takes_several_companies_and_never_another_tenants(
    world_a, world_b, new_return
):
    ours = new_return()
    theirs = new_return(world_a.other_company_user, world_a.other_company)
    client = api_as(world_a.agent)
    company, other = world_a.company.pk, world_a.other_company.pk

    both = client.get(f"{RETURNS}?customer={company}&customer={other}")
    one = client.get(RETURNS, {"customer": other})
    foreign = client.get(RETURNS, {"customer": world_b.company.pk})

    assert sorted(ids(both)) == sorted([ours.pk, theirs.pk])
    assert ids(one) == [theirs.pk]
    assert ids(foreign) == []


def test_assignee_filter_on_returns(world_a, new_return):
    taken, other_taken, free = new_return(), new_return(), new_return()
    ReturnRequest.unscoped.filter(pk=taken.pk).update(assignee=world_a.agent)
    ReturnRequest.unscoped.filter(pk=other_taken.pk).update(assignee=world_a.coordinator)
    client = api_as(world_a.agent)

    mine = client.get(RETURNS, {"assignee": world_a.agent.pk})
    either = client.get(f"{RETURNS}?assignee={world_a.agent.pk}&assignee={world_a.coordinator.pk}")

    assert ids(mine) == [taken.pk]
    assert sorted(ids(either)) == sorted([taken.pk, other_taken.pk])
    assert free.pk not in ids(either)


def test_complaints_filter_by_several_statuses_and_by_assignee_for_staff_only(world_a):
    new = complaint_file(world_a.customer, world_a.company)
    taken = complaint_file(world_a.customer, world_a.company)
    Complaint.unscoped.filter(pk=taken.pk).update(status="open", assignee=world_a.agent)
    staff, customer = api_as(world_a.agent), api_as(world_a.customer)

    assert sorted(ids(staff.get(f"{COMPLAINTS}?status=new&status=open"))) == sorted(
        [new.pk, taken.pk]
    )
    assert ids(staff.get(COMPLAINTS, {"assignee": world_a.agent.pk})) == [taken.pk]
    # Who handles a complaint is a name to customers, never a user id to search by.
    assert_error(customer.get(COMPLAINTS, {"assignee": world_a.agent.pk}), 403, "forbidden")


def test_the_schema_documents_repeatable_filters_as_arrays(world_a):
    schema = api_as(world_a.agent).get("/api/v1/schema/", {"format": "json"}).json()
    for path, names in (
        (RETURNS, {"status", "customer", "assignee"}),
        (COMPLAINTS, {"status", "category", "priority", "customer", "assignee"}),
        (ORDERS, {"customer"}),
    ):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert {"updated_since", "created_from", "created_to", "cursor"} <= set(parameters)
        for name in names:
            assert parameters[name]["schema"]["type"] == "array", (path, name)
            assert parameters[name].get("explode", True), (path, name)


# --- cursors ---------------------------------------------------------------------------------


def test_a_cursor_walk_lists_every_row_once_in_the_order_of_change(world_a, new_return):
    rows = [new_return() for _ in range(5)]
    for hours, row in enumerate(reversed(rows)):
        changed_at(ReturnRequest, row, at(hours))

    seen = walk(api_as(world_a.agent), RETURNS, {"page_size": 2})

    assert seen == [row.pk for row in reversed(rows)]


def test_rows_written_between_pages_are_neither_skipped_nor_repeated(world_a, new_return):
    rows = [new_return() for _ in range(6)]
    for hours, row in enumerate(rows):
        changed_at(ReturnRequest, row, at(hours))
    added = []

    def someone_writes(page):
        if page == 1:
            added.append(new_return())  # a new return: it changed last
            ReturnRequest.unscoped.filter(pk=rows[0].pk).update(updated_at=at(10))  # read

    seen = walk(api_as(world_a.agent), RETURNS, {"page_size": 2}, between_pages=someone_writes)

    # Every row that was there comes exactly once where it stood, except the one changed
    # after it was read: it comes again, at its new place; the new row comes at the end.
    assert seen == [row.pk for row in rows] + [rows[0].pk, added[0].pk]


def test_rows_changed_at_the_same_moment_are_paged_by_id(world_a, new_return):
    rows = sorted((new_return() for _ in range(4)), key=lambda row: row.pk)
    for row in rows:
        changed_at(ReturnRequest, row, at(0))

    assert walk(api_as(world_a.agent), RETURNS, {"page_size": 1}) == [row.pk for row in rows]


def test_the_last_next_cursor_resumes_with_what_changed_since(world_a, new_return):
    first, second = new_return(), new_return()
    changed_at(ReturnRequest, first, at(0))
    changed_at(ReturnRequest, second, at(1))
    client = api_as(world_a.agent)
    done = client.get(RETURNS, {"cursor": ""}).json()
    assert (done["next"], [r["id"] for r in done["results"]]) == (None, [first.pk, second.pk])

    nothing_new = client.get(RETURNS, {"cursor": done["next_cursor"]}).json()
    changed_at(ReturnRequest, first, at(3))
    later = client.get(RETURNS, {"cursor": done["next_cursor"]}).json()

    assert (nothing_new["results"], nothing_new["next_cursor"]) == ([], done["next_cursor"])
    assert [row["id"] for row in later["results"]] == [first.pk]
    assert later["next_cursor"] == encode_cursor(at(3), first.pk)


def test_cursor_walks_combine_with_filters(world_a, new_return):
    rows = [new_return() for _ in range(3)]
    for hours, row in enumerate(rows):
        changed_at(ReturnRequest, row, at(hours))

    seen = walk(api_as(world_a.agent), RETURNS, {"page_size": 1, "updated_since": iso(at(1))})

    assert seen == [rows[1].pk, rows[2].pk]


def test_a_customers_walk_holds_only_their_own_returns(world_a, world_b, new_return):
    own = new_return()
    new_return(world_a.colleague)  # a colleague's: a plain customer user does not see it
    new_return(world_a.other_company_user, world_a.other_company)
    new_return(world_b.customer, world_b.company)

    assert walk(api_as(world_a.customer), RETURNS, {"page_size": 1}) == [own.pk]


@pytest.mark.parametrize("url", [RETURNS, COMPLAINTS, ORDERS])
@pytest.mark.parametrize("cursor", ["abc", "12_", "-1_3", "1_2_3"])
def test_a_cursor_that_is_not_one_is_refused(world_a, url, cursor):
    response = api_as(world_a.agent).get(url, {"cursor": cursor})

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"cursor"}


def test_page_and_cursor_do_not_go_together(world_a):
    response = api_as(world_a.agent).get(RETURNS, {"cursor": "", "page": 2})

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"cursor"}


def test_lists_without_updated_at_take_no_cursor(world_a):
    response = api_as(world_a.agent).get("/api/v1/auth/tokens/", {"cursor": ""})

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"cursor"}


def test_complaint_and_order_walks(world_a, make_order):
    complaints = [complaint_file(world_a.customer, world_a.company) for _ in range(3)]
    orders = [make_order(world_a.company) for _ in range(3)]
    for hours, (complaint, order) in enumerate(zip(complaints, orders, strict=True)):
        changed_at(Complaint, complaint, at(hours))
        changed_at(Order, order, at(hours))
    client = api_as(world_a.agent)

    assert walk(client, COMPLAINTS, {"page_size": 2}) == [c.pk for c in complaints]
    assert walk(client, ORDERS, {"page_size": 2}) == [o.pk for o in orders]


def test_a_cursor_page_costs_the_same_queries_for_more_rows(world_a, new_return):
    client = api_as(world_a.agent)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(RETURNS, {"cursor": "", "page_size": 50})
        assert response.status_code == 200
        return len(captured)

    for _ in range(2):
        new_return()
    few = queries()
    for _ in range(6):
        new_return()

    assert queries() == few

"""The quantity ledger: a line is returned at most up to what was delivered, counting what
other open or accepted returns hold, serial numbers at most once, also under concurrency."""

from __future__ import annotations

import pytest

from returns import services
from returns.models import ReturnLine, ReturnRequest, ReturnStatus
from returns.selectors import claimed_quantities
from rma_portal.tenancy.context import tenant_context

from .conftest import advance, return_state, run_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(world_a, policy_a, make_order_line):
    """5 units of one product delivered to world A's company 5 days ago."""
    return make_order_line(world_a.company, quantity=5)


@pytest.fixture
def file_line(world_a, file_return):
    """File a return of `quantity` units of an order line as world A's customer."""

    def _file(order_line, quantity, *, submit=True, serials=(), customer=None):
        return file_return(
            customer or world_a.customer,
            world_a.company,
            [
                {
                    "order_line_id": order_line.pk,
                    "quantity": quantity,
                    "reason": "defective",
                    "serial_numbers": serials,
                }
            ],
            submit=submit,
        )

    return _file


def submit(return_request, actor):
    with tenant_context(return_request.tenant):
        return services.return_request_submit(return_request=return_request, actor=actor)


def claimed(order_line) -> int:
    with tenant_context(order_line.tenant):
        return claimed_quantities(order_line_ids=[order_line.pk])[order_line.pk]


def test_over_return_is_refused_with_the_numbers_and_nothing_is_saved(world_a, line, file_line):
    # given: 3 of 5 already in a submitted return, a draft for 3 more
    file_line(line, 3)
    draft = file_line(line, 3, submit=False)
    before = return_state(draft)

    # when
    with pytest.raises(services.ReturnInvalid) as refused:
        submit(draft, world_a.customer)

    # then
    assert refused.value.code == "policy_refused"
    assert refused.value.message == (
        f"{line.order.number}/{line.line_number}: Only 2 of 5 can still be returned "
        "(3 already in other returns); you asked for 3."
    )
    assert return_state(draft) == before
    assert ReturnRequest.unscoped.get(pk=draft.pk).status == ReturnStatus.DRAFT
    assert claimed(line) == 3


def test_more_than_delivered_is_refused_when_the_draft_is_made(world_a, line, file_line):
    with pytest.raises(services.ReturnInvalid) as refused:
        file_line(line, 6, submit=False)

    assert refused.value.fields == {
        "lines[0].quantity": [
            f"{line.order.number} line {line.line_number}: only 5 were delivered."
        ]
    }
    assert not ReturnRequest.unscoped.exists()


def test_returns_together_cannot_exceed_the_delivered_quantity(world_a, line, file_line):
    first = file_line(line, 3)
    second = file_line(line, 2, customer=world_a.customer_admin)  # the whole company counts
    third = file_line(line, 1, submit=False)

    with pytest.raises(services.ReturnInvalid) as refused:
        submit(third, world_a.customer)

    assert (first.status, second.status) == (ReturnStatus.SUBMITTED, ReturnStatus.SUBMITTED)
    assert "Only 0 of 5 can still be returned (5 already in other returns)" in (
        refused.value.message
    )
    assert claimed(line) == 5


def test_drafts_hold_nothing(world_a, line, file_line):
    file_line(line, 5, submit=False)

    assert claimed(line) == 0
    assert file_line(line, 5).status == ReturnStatus.SUBMITTED


@pytest.mark.parametrize("final", [ReturnStatus.CANCELLED, ReturnStatus.REJECTED])
def test_cancelled_and_rejected_returns_free_their_quantity(world_a, line, file_line, final):
    held = file_line(line, 4)
    blocked = file_line(line, 2, submit=False)
    with pytest.raises(services.ReturnInvalid):
        submit(blocked, world_a.customer)

    advance(held, final, agent=world_a.agent)

    assert claimed(line) == 0
    assert submit(blocked, world_a.customer).status == ReturnStatus.SUBMITTED
    assert claimed(line) == 2


@pytest.mark.parametrize(
    "status",
    [
        ReturnStatus.SUBMITTED,
        ReturnStatus.NEEDS_INFO,
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
    ],
)
def test_open_returns_hold_what_they_ask_for(world_a, line, file_line, status):
    rma = file_line(line, 4)
    advance(rma, status, agent=world_a.agent)

    assert claimed(line) == 4


@pytest.mark.parametrize("status", [ReturnStatus.RESOLVED, ReturnStatus.CLOSED])
def test_resolved_returns_hold_only_the_accepted_quantity(world_a, line, file_line, status):
    # given: 4 returned, inspection accepts 1 (3 were not ours, say)
    rma = advance(file_line(line, 4), ReturnStatus.RECEIVED, agent=world_a.agent)
    (return_line,) = ReturnLine.unscoped.filter(return_request=rma)
    with tenant_context(world_a.tenant):
        services.return_request_inspect(
            return_request=rma,
            actor=world_a.agent,
            results={return_line.pk: services.InspectionInput("used", "scrap", 1)},
        )
    assert claimed(line) == 4  # inspected, not yet resolved: still holds all it asked for

    advance(ReturnRequest.unscoped.get(pk=rma.pk), status, agent=world_a.agent)

    assert claimed(line) == 1
    too_many = file_line(line, 5, submit=False)
    with pytest.raises(services.ReturnInvalid):
        submit(too_many, world_a.customer)
    assert file_line(line, 4).status == ReturnStatus.SUBMITTED


def test_ledger_counts_each_order_line_separately_and_can_exclude_a_return(
    world_a, policy_a, make_order_line, file_return
):
    a = make_order_line(world_a.company, quantity=5)
    b = make_order_line(world_a.company, quantity=5)
    untouched = make_order_line(world_a.company, quantity=5)
    rma = file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": a.pk, "quantity": 2, "reason": "defective"},
            {"order_line_id": b.pk, "quantity": 3, "reason": "defective"},
        ],
    )

    with tenant_context(world_a.tenant):
        assert claimed_quantities(order_line_ids=[a.pk, b.pk, untouched.pk]) == {
            a.pk: 2,
            b.pk: 3,
            untouched.pk: 0,
        }
        assert claimed_quantities(order_line_ids=[a.pk, b.pk], exclude_return_id=rma.pk) == {
            a.pk: 0,
            b.pk: 0,
        }
        assert claimed_quantities(order_line_ids=[]) == {}


# --- serial numbers ---------------------------------------------------------------------


@pytest.fixture
def serial_line(world_a, policy_a, make_order_line):
    return make_order_line(world_a.company, quantity=3, serial_numbers=["SN-1", "SN-2", "SN-3"])


@pytest.mark.parametrize(
    ("quantity", "serials", "message"),
    [
        (2, ["SN-1"], "give the serial number of each returned unit (2)."),
        (1, [], "give the serial number of each returned unit (1)."),
        (2, ["SN-1", "SN-1"], "a serial number is listed twice."),
        (1, ["SN-9"], "serial numbers SN-9 were not delivered on this line."),
    ],
)
def test_serial_numbers_must_match_quantity_and_the_order_line(
    world_a, serial_line, file_line, quantity, serials, message
):
    with pytest.raises(services.ReturnInvalid) as refused:
        file_line(serial_line, quantity, serials=serials, submit=False)

    where = f"{serial_line.order.number} line {serial_line.line_number}"
    assert refused.value.fields == {"lines[0].serial_numbers": [f"{where}: {message}"]}
    assert not ReturnRequest.unscoped.exists()


def test_serial_of_another_order_line_is_refused(world_a, serial_line, make_order_line, file_line):
    other = make_order_line(world_a.company, quantity=1, serial_numbers=["SN-OTHER"])

    with pytest.raises(services.ReturnInvalid) as refused:
        file_line(serial_line, 1, serials=["SN-OTHER"], submit=False)

    assert "SN-OTHER were not delivered on this line" in refused.value.message
    assert file_line(other, 1, serials=["SN-OTHER"]).status == ReturnStatus.SUBMITTED


def test_serial_numbers_for_a_product_without_them_are_refused(world_a, line, file_line):
    with pytest.raises(services.ReturnInvalid) as refused:
        file_line(line, 1, serials=["SN-1"], submit=False)

    assert "this product has no serial numbers" in refused.value.message
    assert not ReturnRequest.unscoped.exists()


def test_serial_number_cannot_be_in_two_open_returns(world_a, serial_line, file_line):
    # given: SN-1 is in a submitted return; a second draft names SN-1 too
    first = file_line(serial_line, 1, serials=["SN-1"])
    second = file_line(serial_line, 1, serials=["SN-1"], submit=False)
    before = return_state(second)

    with pytest.raises(services.ReturnInvalid) as refused:
        submit(second, world_a.customer)

    assert refused.value.code == "policy_refused"
    assert refused.value.message == "Serial numbers SN-1 are already in another return."
    assert return_state(second) == before
    # other units of the same line are free
    assert file_line(serial_line, 2, serials=["SN-2", " SN-3 "]).status == ReturnStatus.SUBMITTED
    # once the first return is cancelled, SN-1 is free again
    advance(first, ReturnStatus.CANCELLED, agent=world_a.agent)
    assert submit(second, world_a.customer).status == ReturnStatus.SUBMITTED


# --- concurrency ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_never_claim_more_than_delivered(
    world_a, policy_a, make_order_line, file_line
):
    for _round in range(5):
        # given: 5 delivered, two drafts of 3 each: either alone is fine, both are too many
        order_line = make_order_line(world_a.company, quantity=5)
        drafts = [
            file_line(order_line, 3, submit=False),
            file_line(order_line, 3, submit=False, customer=world_a.customer_admin),
        ]

        # when: both are submitted at the same moment
        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda d=draft: services.return_request_submit(return_request=d, actor=d.requester)
                for draft in drafts
            ],
        )

        # then: exactly one wins, the other is refused by the policy, the ledger holds
        kinds = sorted(kind for kind, _value in outcomes)
        assert kinds == ["error", "ok"], outcomes
        error = next(value for kind, value in outcomes if kind == "error")
        assert isinstance(error, services.ReturnInvalid), repr(error)
        assert error.code == "policy_refused"
        assert "Only 2 of 5 can still be returned" in error.message
        statuses = sorted(
            ReturnRequest.unscoped.filter(pk__in=[d.pk for d in drafts]).values_list(
                "status", flat=True
            )
        )
        assert statuses == [ReturnStatus.DRAFT, ReturnStatus.SUBMITTED]
        assert claimed(order_line) == 3 <= order_line.quantity

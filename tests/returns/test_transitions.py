"""Who may move a return from which state: every transition service against every role and
every state, bad input, and two staff members acting at once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from customers.models import CustomerAccount, OrderLine
from returns import services
from returns.models import ReturnEvent, ReturnLine, ReturnRequest, ReturnStatus
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

from .conftest import advance, full_inspection, return_state, run_concurrently

pytestmark = pytest.mark.django_db

S = ReturnStatus


def _inspect(r, a):
    return services.return_request_inspect(return_request=r, actor=a, results=full_inspection(r))


# transition: (service call with valid input, source states, target state, event action)
TRANSITIONS = {
    "submit": (
        lambda r, a: services.return_request_submit(return_request=r, actor=a),
        [S.DRAFT],
        S.SUBMITTED,
        "submitted",
    ),
    "approve": (
        lambda r, a: services.return_request_approve(return_request=r, actor=a, note="OK"),
        [S.SUBMITTED, S.AWAITING_APPROVAL],
        S.APPROVED,
        "approved",
    ),
    "request_info": (
        lambda r, a: services.return_request_request_info(
            return_request=r, actor=a, question="Can you send a photo of the label?"
        ),
        [S.SUBMITTED],
        S.NEEDS_INFO,
        "info_requested",
    ),
    "provide_info": (
        lambda r, a: services.return_request_provide_info(
            return_request=r, actor=a, answer="Photo attached."
        ),
        [S.NEEDS_INFO],
        S.SUBMITTED,
        "info_provided",
    ),
    "reject": (
        lambda r, a: services.return_request_reject(
            return_request=r, actor=a, reason="Bought elsewhere."
        ),
        [S.SUBMITTED, S.NEEDS_INFO, S.AWAITING_APPROVAL],
        S.REJECTED,
        "rejected",
    ),
    "cancel": (
        lambda r, a: services.return_request_cancel(return_request=r, actor=a),
        [S.DRAFT, S.SUBMITTED, S.NEEDS_INFO, S.AWAITING_APPROVAL, S.APPROVED],
        S.CANCELLED,
        "cancelled",
    ),
    "reopen": (
        lambda r, a: services.return_request_reopen(return_request=r, actor=a),
        [S.SUBMITTED, S.NEEDS_INFO],
        S.DRAFT,
        "reopened",
    ),
    "mark_received": (
        lambda r, a: services.return_request_mark_received(return_request=r, actor=a),
        [S.APPROVED],
        S.RECEIVED,
        "received",
    ),
    "inspect": (_inspect, [S.RECEIVED], S.INSPECTED, "inspected"),
    "resolve": (
        lambda r, a: services.return_request_resolve(
            return_request=r, actor=a, resolution="credit_note", credit_note_number="KOR/7"
        ),
        [S.INSPECTED],
        S.RESOLVED,
        "resolved",
    ),
    "close": (
        lambda r, a: services.return_request_close(return_request=r, actor=a),
        [S.RESOLVED],
        S.CLOSED,
        "closed",
    ),
}

ROLES = [
    "requester",
    "colleague",
    "customer_admin",
    "other_company_user",
    "agent",
    "coordinator",
    "manager",
    "tenant_admin",
    "other_tenant_staff",
]
CUSTOMER_PARTY = {"requester", "customer_admin"}
ACTING_STAFF = {"agent", "coordinator", "tenant_admin"}  # a manager only reads
ALLOWED = {
    "submit": CUSTOMER_PARTY,
    "provide_info": CUSTOMER_PARTY,
    "reopen": CUSTOMER_PARTY,
    "cancel": CUSTOMER_PARTY | ACTING_STAFF,
    "approve": ACTING_STAFF,
    "request_info": ACTING_STAFF,
    "reject": ACTING_STAFF,
    "mark_received": ACTING_STAFF,
    "inspect": ACTING_STAFF,
    "resolve": ACTING_STAFF,
    "close": ACTING_STAFF,
}


@pytest.fixture
def actor_for(request, world_a):
    def _actor(role: str):
        if role == "requester":
            return world_a.customer
        if role == "other_tenant_staff":
            return request.getfixturevalue("world_b").tenant_admin
        return getattr(world_a, role)

    return _actor


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("transition", list(TRANSITIONS))
def test_transition_role_matrix(transition, role, actor_for, return_in):
    # given: a return of world A's customer where this transition is possible
    call, sources, target, action = TRANSITIONS[transition]
    rma = return_in(sources[0])
    actor = actor_for(role)
    before = return_state(rma)

    # when: the actor tries it, as the services run for them: under their own tenant
    with tenant_context(actor.tenant):
        if role in ALLOWED[transition]:
            result = call(rma, actor)
        elif role == "other_tenant_staff":
            # another tenant's return does not exist for them (a 404, never a 403)
            with pytest.raises(ReturnRequest.DoesNotExist):
                call(rma, actor)
            result = None
        else:
            with pytest.raises(services.ReturnAccessDenied):
                call(rma, actor)
            result = None

    # then
    if result is None:
        assert return_state(rma) == before
        return
    assert result.status == target
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == target
    new_events = list(
        ReturnEvent.unscoped.filter(return_request=rma).exclude(pk__in=before["events"])
    )
    assert len(new_events) == 1
    event = new_events[0]
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        action,
        actor,
        sources[0],
        target,
    )
    assert event.tenant_id == rma.tenant_id


@pytest.mark.parametrize(
    ("transition", "source"),
    [
        (name, source)
        for name, (_c, sources, _t, _a) in TRANSITIONS.items()
        for source in sources[1:]
    ],
)
def test_transition_from_each_other_allowed_state(transition, source, return_in, world_a):
    call, _sources, target, action = TRANSITIONS[transition]
    rma = return_in(source)
    actor = (
        world_a.customer if transition in ("submit", "provide_info", "reopen") else world_a.agent
    )
    if source == S.AWAITING_APPROVAL and transition == "approve":
        actor = world_a.coordinator  # the agent asked them to

    with tenant_context(world_a.tenant):
        result = call(rma, actor)

    assert result.status == target
    last = ReturnEvent.unscoped.filter(return_request=rma).latest("pk")
    assert (last.action, last.from_status, last.to_status) == (action, source, target)


@pytest.mark.parametrize(
    ("transition", "state"),
    [
        (name, state)
        for name, (_c, sources, _t, _a) in TRANSITIONS.items()
        for state in ReturnStatus.values
        if state not in sources
    ],
)
def test_transition_from_a_wrong_state_is_a_conflict_and_changes_nothing(
    transition, state, return_in, world_a
):
    call, _sources, _target, _action = TRANSITIONS[transition]
    rma = return_in(state)
    actor = (
        world_a.customer if transition in ("submit", "provide_info", "reopen") else world_a.agent
    )
    before = return_state(rma)

    with tenant_context(world_a.tenant), pytest.raises(services.ReturnConflict) as conflict:
        call(rma, actor)

    assert rma.number in conflict.value.message
    assert return_state(rma) == before


def test_staff_of_another_tenant_is_refused_even_inside_the_returns_tenant(
    return_in, world_a, world_b
):
    # A caller that set the wrong tenant context must still not let them act.
    rma = return_in(S.SUBMITTED)
    before = return_state(rma)

    with tenant_context(world_a.tenant):
        for staff in (world_b.agent, world_b.tenant_admin):
            for call in (
                TRANSITIONS["approve"][0],
                TRANSITIONS["reject"][0],
                TRANSITIONS["cancel"][0],
            ):
                with pytest.raises(services.ReturnAccessDenied):
                    call(rma, staff)

    assert return_state(rma) == before


def test_customer_of_another_tenant_is_refused_inside_the_returns_tenant(return_in, world_b):
    rma = return_in(S.DRAFT)
    before = return_state(rma)

    with tenant_context(rma.tenant), pytest.raises(services.ReturnAccessDenied):
        services.return_request_submit(return_request=rma, actor=world_b.customer_admin)

    assert return_state(rma) == before


def test_system_may_close_a_resolved_return(return_in):
    rma = return_in(S.RESOLVED)

    with tenant_context(rma.tenant):
        rma = services.return_request_close(return_request=rma, actor=None)

    event = ReturnEvent.unscoped.filter(return_request=rma).latest("pk")
    assert (rma.status, event.action, event.actor) == (S.CLOSED, "closed", None)
    assert rma.closed_at is not None


# --- bad input --------------------------------------------------------------------------


def _refused_unchanged(rma, call, *, field):
    before = return_state(rma)
    with tenant_context(rma.tenant), pytest.raises(services.ReturnInvalid) as invalid:
        call()
    assert return_state(rma) == before
    if field:
        assert field in invalid.value.fields, invalid.value.fields
    return invalid.value


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_reject_needs_a_reason(return_in, world_a, reason):
    rma = return_in(S.SUBMITTED)

    error = _refused_unchanged(
        rma,
        lambda: services.return_request_reject(
            return_request=rma, actor=world_a.agent, reason=reason
        ),
        field="reason",
    )

    assert error.message == "A rejection needs a reason the customer can read."


def test_request_info_needs_a_question(return_in, world_a):
    rma = return_in(S.SUBMITTED)

    _refused_unchanged(
        rma,
        lambda: services.return_request_request_info(
            return_request=rma, actor=world_a.agent, question=" "
        ),
        field="question",
    )


def test_provide_info_needs_an_answer(return_in, world_a):
    rma = return_in(S.NEEDS_INFO)

    _refused_unchanged(
        rma,
        lambda: services.return_request_provide_info(
            return_request=rma, actor=world_a.customer, answer=""
        ),
        field="answer",
    )


@pytest.mark.parametrize(
    ("resolution", "extra", "field"),
    [
        ("", {}, "lines[{line}].resolution"),
        ("voucher", {}, "resolution"),
        ("refund", {"credit_note_number": "K" * 41}, "credit_note_number"),
    ],
)
def test_resolve_refuses_incomplete_input(return_in, world_a, resolution, extra, field):
    rma = return_in(S.INSPECTED)

    line = ReturnLine.unscoped.get(return_request=rma)

    _refused_unchanged(
        rma,
        lambda: services.return_request_resolve(
            return_request=rma, actor=world_a.agent, resolution=resolution, **extra
        ),
        field=field.format(line=line.pk),
    )

    row = ReturnRequest.unscoped.get(pk=rma.pk)
    assert (row.status, row.refund_total, row.resolution) == (S.INSPECTED, None, "")


Inspection = services.InspectionInput
OK = Inspection("opened", "restock", 1)
BAD_INSPECTIONS = {
    "more_than_returned": lambda line: {line.pk: Inspection("opened", "restock", 3)},
    "negative": lambda line: {line.pk: Inspection("opened", "restock", -1)},
    "not_a_number": lambda line: {line.pk: Inspection("opened", "restock", "2")},
    "not_whole": lambda line: {line.pk: Inspection("opened", "restock", 1.0)},
    "boolean": lambda line: {line.pk: Inspection("opened", "restock", True)},
    "missing_line": lambda line: {},
    "unknown_line": lambda line: {line.pk: OK, line.pk + 1000: OK},
    "bad_condition": lambda line: {line.pk: Inspection("shiny", "restock", 1)},
    "bad_disposition": lambda line: {line.pk: Inspection("opened", "sell", 1)},
}


@pytest.mark.parametrize("case", list(BAD_INSPECTIONS))
def test_inspect_refuses_bad_results_and_changes_nothing(return_in, world_a, case):
    # given: a received return of 2 units
    rma = return_in(S.RECEIVED, quantity=2)
    (line,) = ReturnLine.unscoped.filter(return_request=rma)

    _refused_unchanged(
        rma,
        lambda: services.return_request_inspect(
            return_request=rma, actor=world_a.agent, results=BAD_INSPECTIONS[case](line)
        ),
        field=None,
    )

    line.refresh_from_db()
    assert (line.accepted_quantity, line.condition, line.disposition) == (None, "", "")


def test_inspect_of_a_return_with_two_lines_needs_both(world_a, delivered_order, file_return):
    line1, line2 = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    rma = file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": line1.pk, "quantity": 1, "reason": "defective"},
            {"order_line_id": line2.pk, "quantity": 2, "reason": "wrong_size"},
        ],
    )
    rma = advance(rma, S.RECEIVED, agent=world_a.agent)
    first = ReturnLine.unscoped.filter(return_request=rma).order_by("pk").first()

    _refused_unchanged(
        rma,
        lambda: services.return_request_inspect(
            return_request=rma,
            actor=world_a.agent,
            results={first.pk: services.InspectionInput("opened", "restock", 1)},
        ),
        field=None,
    )


# --- concurrency ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_approving_at_once_approve_once(return_in, world_a):
    for _round in range(3):
        rma = return_in(S.SUBMITTED)

        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda actor=actor, rma=rma: services.return_request_approve(
                    return_request=rma, actor=actor
                )
                for actor in (world_a.agent, world_a.coordinator)
            ],
        )

        kinds = sorted(kind for kind, _value in outcomes)
        assert kinds == ["error", "ok"], outcomes
        error = next(value for kind, value in outcomes if kind == "error")
        assert isinstance(error, services.ReturnConflict), repr(error)
        assert ReturnEvent.unscoped.filter(return_request=rma, action="approved").count() == 1
        assert ReturnRequest.unscoped.get(pk=rma.pk).status == S.APPROVED


def _with_lock_timeout(call):
    """Run a service in a transaction that gives up waiting for a row lock after a second."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
        return call()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_transitions_do_not_wait_for_a_transaction_holding_the_tenant_or_company(
    return_in, world_a
):
    # given: a tenant admin saving the tenant's settings and a customer admin saving the
    # company's details, in transactions not yet committed
    submitted = return_in(S.SUBMITTED)
    draft = return_in(S.DRAFT)
    holding, release = threading.Event(), threading.Event()

    def hold_tenant_and_company():
        try:
            with transaction.atomic():
                Tenant.objects.filter(pk=world_a.tenant.pk).update(brand_colour="#112233")
                CustomerAccount.unscoped.filter(pk=world_a.company.pk).update(name="Renamed")
                holding.set()
                release.wait(15)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_tenant_and_company)
    holder.start()
    try:
        assert holding.wait(10)
        # when: staff approve one return and the customer submits another meanwhile
        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda: _with_lock_timeout(
                    lambda: services.return_request_approve(
                        return_request=submitted, actor=world_a.agent
                    )
                ),
                lambda: _with_lock_timeout(
                    lambda: services.return_request_submit(
                        return_request=draft, actor=world_a.customer
                    )
                ),
            ],
        )
    finally:
        release.set()
        holder.join(15)

    # then: neither waited for those rows
    assert [kind for kind, _value in outcomes] == ["ok", "ok"], outcomes
    assert ReturnRequest.unscoped.get(pk=submitted.pk).status == S.APPROVED
    assert ReturnRequest.unscoped.get(pk=draft.pk).status == S.SUBMITTED

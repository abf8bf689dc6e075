"""Who may move a complaint from which state: every transition service against every role and
every state, assignment rules, replies, and two people acting at once."""

from __future__ import annotations

import pytest

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    SatisfactionRating,
)
from rma_portal.tenancy.context import tenant_context
from tests.factories import UserFactory

from .conftest import AFTER_THE_PATH, advance, complaint_file, complaint_state, run_concurrently

pytestmark = pytest.mark.django_db

S = ComplaintStatus
NOW = AFTER_THE_PATH


def _rate(c, a):
    return services.complaint_rate(complaint=c, actor=a, score=4, comment="Fine.", now=NOW)


# transition: (service call with valid input, source states, target state, event actions)
TRANSITIONS = {
    "assign": (
        lambda c, a: services.complaint_assign(complaint=c, actor=a, assignee=a, now=NOW),
        [S.NEW],
        S.OPEN,
        ["assigned"],
    ),
    "start": (
        lambda c, a: services.complaint_start(complaint=c, actor=a, now=NOW),
        [S.OPEN],
        S.IN_PROGRESS,
        ["started"],
    ),
    "wait_for_customer": (
        lambda c, a: services.complaint_wait_for_customer(complaint=c, actor=a, now=NOW),
        [S.IN_PROGRESS],
        S.AWAITING_CUSTOMER,
        ["awaiting_customer"],
    ),
    "resolve": (
        lambda c, a: services.complaint_resolve(
            complaint=c, actor=a, resolution="A new batch was sent.", now=NOW
        ),
        [S.OPEN, S.IN_PROGRESS],
        S.RESOLVED,
        ["resolved"],
    ),
    "reject": (
        lambda c, a: services.complaint_reject(
            complaint=c, actor=a, reason="Damaged on site, not in transport.", now=NOW
        ),
        [S.NEW, S.OPEN, S.IN_PROGRESS],
        S.REJECTED,
        ["rejected"],
    ),
    "close": (
        lambda c, a: services.complaint_close(complaint=c, actor=a, now=NOW),
        [S.RESOLVED],
        S.CLOSED,
        ["closed"],
    ),
    "customer_reply": (
        lambda c, a: services.complaint_reply(
            complaint=c, actor=a, body="Photos attached.", now=NOW
        ),
        [S.AWAITING_CUSTOMER],
        S.IN_PROGRESS,
        ["customer_replied"],
    ),
    "reopen": (
        lambda c, a: services.complaint_reopen(
            complaint=c, actor=a, reason="Still cracked.", now=NOW
        ),
        [S.RESOLVED],
        S.IN_PROGRESS,
        ["reopened"],
    ),
    # A rating changes no status (None): a resolved complaint stays resolved until its reopen
    # window ends, a closed one closed.
    "rate": (_rate, [S.RESOLVED, S.CLOSED], None, ["rated"]),
}

ROLES = [
    "reporter",
    "colleague",
    "customer_admin",
    "other_company_user",
    "agent",
    "coordinator",
    "manager",
    "tenant_admin",
    "other_tenant_staff",
]
CUSTOMER_PARTY = {"reporter", "customer_admin"}
ACTING_STAFF = {"agent", "coordinator", "tenant_admin"}  # a manager only reads
ALLOWED = {
    "assign": ACTING_STAFF,
    "start": ACTING_STAFF,
    "wait_for_customer": ACTING_STAFF,
    "resolve": ACTING_STAFF,
    "reject": ACTING_STAFF,
    "close": ACTING_STAFF,
    "customer_reply": CUSTOMER_PARTY,
    "reopen": CUSTOMER_PARTY,
    "rate": CUSTOMER_PARTY,
}


@pytest.fixture
def actor_for(request, world_a):
    def _actor(role: str):
        if role == "reporter":
            return world_a.customer
        if role == "other_tenant_staff":
            return request.getfixturevalue("world_b").tenant_admin
        return getattr(world_a, role)

    return _actor


def _refused(call, complaint, actor, error):
    before = complaint_state(complaint)
    with tenant_context(actor.tenant), pytest.raises(error) as refused:
        call(complaint, actor)
    assert complaint_state(complaint) == before
    return refused.value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("transition", list(TRANSITIONS))
def test_transition_role_matrix(transition, role, actor_for, complaint_in):
    # given: a complaint of world A's customer where this transition is possible
    call, sources, target, actions = TRANSITIONS[transition]
    target = target or sources[0]
    complaint = complaint_in(sources[0])
    actor = actor_for(role)
    before = complaint_state(complaint)

    # when / then: refused, as the services run for the actor: under their own tenant
    if role not in ALLOWED[transition]:
        if role == "other_tenant_staff":
            # another tenant's complaint does not exist for them (a 404, never a 403)
            _refused(call, complaint, actor, Complaint.DoesNotExist)
        elif transition == "customer_reply" and role in ACTING_STAFF:
            # staff may write while the customer is asked; only the customer's answer resumes
            with tenant_context(actor.tenant):
                call(complaint, actor)
            assert Complaint.unscoped.get(pk=complaint.pk).status == S.AWAITING_CUSTOMER
            assert complaint_state(complaint)["events"] == before["events"]
        else:
            _refused(call, complaint, actor, services.ComplaintAccessDenied)
        return

    # when / then: allowed
    with tenant_context(actor.tenant):
        call(complaint, actor)
    assert Complaint.unscoped.get(pk=complaint.pk).status == target
    new_events = list(
        ComplaintEvent.unscoped.filter(complaint=complaint)
        .exclude(pk__in=[pk for (pk,) in before["events"]])
        .order_by("pk")
    )
    assert [e.action for e in new_events] == actions
    first = new_events[0]
    assert (first.actor, first.from_status, first.created_at, first.tenant_id) == (
        actor,
        sources[0],
        NOW,
        complaint.tenant_id,
    )
    assert new_events[-1].to_status == target


@pytest.mark.parametrize(
    ("transition", "source"),
    [
        (name, source)
        for name, (_c, sources, _t, _a) in TRANSITIONS.items()
        for source in sources[1:]
    ],
)
def test_transition_from_each_other_allowed_state(transition, source, complaint_in, world_a):
    call, _sources, target, actions = TRANSITIONS[transition]
    complaint = complaint_in(source)
    actor = world_a.customer if ALLOWED[transition] == CUSTOMER_PARTY else world_a.agent

    with tenant_context(world_a.tenant):
        call(complaint, actor)

    assert Complaint.unscoped.get(pk=complaint.pk).status == (target or source)
    last = ComplaintEvent.unscoped.filter(complaint=complaint, action=actions[0]).latest("pk")
    assert (last.from_status, last.actor) == (source, actor)


# A customer's message in an open complaint is fine, it just resumes nothing (tested below);
# reassigning is allowed in most states (tested in the assignment section).
MESSAGE_STATES = [S.NEW, S.OPEN, S.IN_PROGRESS]
WRONG_STATES = [
    (name, state)
    for name, (_c, sources, _t, _a) in TRANSITIONS.items()
    if name != "assign"
    for state in S.values
    if state not in sources and not (name == "customer_reply" and state in MESSAGE_STATES)
]


@pytest.mark.parametrize(("transition", "state"), WRONG_STATES)
def test_transition_from_a_wrong_state_is_a_conflict_and_changes_nothing(
    transition, state, complaint_in, world_a
):
    call, _sources, _target, _actions = TRANSITIONS[transition]
    complaint = complaint_in(state)
    actor = world_a.customer if ALLOWED[transition] == CUSTOMER_PARTY else world_a.agent

    error = _refused(call, complaint, actor, services.ComplaintConflict)

    assert complaint.code in error.message


@pytest.mark.parametrize("state", MESSAGE_STATES)
def test_a_customer_message_in_an_open_complaint_changes_no_state(state, complaint_in, world_a):
    complaint = complaint_in(state)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant):
        TRANSITIONS["customer_reply"][0](complaint, world_a.customer)

    after = complaint_state(complaint)
    assert after["row"]["status"] == state
    assert after["events"] == before["events"]
    assert len(after["messages"]) == len(before["messages"]) + 1


# --- assignment ---------------------------------------------------------------------------


@pytest.fixture
def second_agent(world_a):
    return UserFactory(tenant=world_a.tenant, role="agent", full_name="Second Agent")


@pytest.mark.parametrize("role", ["coordinator", "tenant_admin"])
def test_coordinators_and_tenant_admins_assign_anyone(role, world_a, second_agent):
    complaint = complaint_file(world_a.customer, world_a.company)
    actor = getattr(world_a, role)

    with tenant_context(world_a.tenant):
        assigned = services.complaint_assign(
            complaint=complaint, actor=actor, assignee=second_agent, now=NOW
        )
        reassigned = services.complaint_assign(
            complaint=assigned, actor=actor, assignee=world_a.coordinator, now=NOW
        )

    assert (reassigned.status, reassigned.assignee) == (S.OPEN, world_a.coordinator)
    events = ComplaintEvent.unscoped.filter(complaint=complaint, action="assigned").order_by("pk")
    assert [(e.from_status, e.to_status, e.note, e.is_public) for e in events] == [
        (S.NEW, S.OPEN, "Second Agent", False),
        (S.OPEN, S.OPEN, world_a.coordinator.full_name, False),
    ]


def test_an_agent_may_only_take_a_complaint_for_themselves(world_a, second_agent):
    complaint = complaint_file(world_a.customer, world_a.company)

    error = _refused(
        lambda c, a: services.complaint_assign(complaint=c, actor=a, assignee=second_agent),
        complaint,
        world_a.agent,
        services.ComplaintAccessDenied,
    )

    assert error.message == "Agents may only take complaints for themselves."


@pytest.mark.parametrize(
    "who", ["manager", "customer", "inactive_agent", "other_tenant_agent", "superuser"]
)
def test_the_assignee_must_be_active_staff_of_the_tenant(who, world_a, world_b, superuser):
    assignee = {
        "manager": world_a.manager,
        "customer": world_a.customer,
        "inactive_agent": UserFactory(tenant=world_a.tenant, role="agent", is_active=False),
        "other_tenant_agent": world_b.agent,
        "superuser": superuser,
    }[who]
    complaint = complaint_file(world_a.customer, world_a.company)

    error = _refused(
        lambda c, a: services.complaint_assign(complaint=c, actor=a, assignee=assignee),
        complaint,
        world_a.coordinator,
        services.ComplaintInvalid,
    )

    assert list(error.fields) == ["assignee"]


@pytest.mark.parametrize("state", [S.OPEN, S.IN_PROGRESS, S.AWAITING_CUSTOMER, S.RESOLVED])
def test_an_assigned_complaint_is_reassigned_in_its_state(state, complaint_in, world_a):
    complaint = complaint_in(state)  # taken by world A's agent

    with tenant_context(world_a.tenant):
        result = services.complaint_assign(
            complaint=complaint, actor=world_a.coordinator, assignee=world_a.tenant_admin, now=NOW
        )

    row = Complaint.unscoped.get(pk=complaint.pk)
    assert (result.status, row.status, row.assignee) == (state, state, world_a.tenant_admin)


@pytest.mark.parametrize("state", [S.CLOSED, S.REJECTED])
def test_a_finished_complaint_is_not_assigned(state, complaint_in, world_a):
    complaint = complaint_in(state)

    _refused(
        lambda c, a: services.complaint_assign(complaint=c, actor=a, assignee=a),
        complaint,
        world_a.coordinator,
        services.ComplaintConflict,
    )


def test_assigning_the_current_assignee_again_records_nothing(complaint_in, world_a):
    complaint = complaint_in(S.IN_PROGRESS)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant):
        services.complaint_assign(complaint=complaint, actor=world_a.agent, assignee=world_a.agent)

    assert complaint_state(complaint) == before


def test_assigning_a_complaint_someone_else_assigned_meanwhile_is_a_conflict(world_a, second_agent):
    # given: a coordinator looked at the new complaint; meanwhile an agent took it
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.complaint_assign(complaint=complaint, actor=world_a.agent, assignee=world_a.agent)

    # when: the coordinator assigns it from what they saw
    error = _refused(
        lambda c, a: services.complaint_assign(complaint=c, actor=a, assignee=second_agent),
        complaint,
        world_a.coordinator,
        services.ComplaintConflict,
    )

    # then: told, not overruled in silence
    assert error.message == (
        f"Complaint {complaint.code} has meanwhile been assigned to {world_a.agent.full_name}."
    )


# --- replies ------------------------------------------------------------------------------


def _reply(body: str, **kwargs):
    return lambda c, a: services.complaint_reply(complaint=c, actor=a, body=body, now=NOW, **kwargs)


REPLY_PARTIES = CUSTOMER_PARTY | ACTING_STAFF


@pytest.mark.parametrize("role", ROLES)
def test_who_may_write_in_the_thread(role, actor_for, complaint_in):
    complaint = complaint_in(S.IN_PROGRESS)
    actor = actor_for(role)
    call = _reply("A message.")

    if role == "other_tenant_staff":
        _refused(call, complaint, actor, Complaint.DoesNotExist)
    elif role not in REPLY_PARTIES:
        _refused(call, complaint, actor, services.ComplaintAccessDenied)
    else:
        with tenant_context(actor.tenant):
            message = call(complaint, actor)
        assert (message.author, message.is_internal, message.created_at) == (actor, False, NOW)
        assert message.complaint_id == complaint.pk


@pytest.mark.parametrize("role", ["agent", "coordinator", "tenant_admin"])
def test_staff_public_reply_and_internal_note(role, world_a, complaint_in):
    complaint = complaint_in(S.OPEN)
    actor = getattr(world_a, role)

    with tenant_context(world_a.tenant):
        note = _reply("Internal.", is_internal=True)(complaint, actor)
        assert Complaint.unscoped.get(pk=complaint.pk).status == S.OPEN
        reply = _reply("Public.")(complaint, actor)

    row = Complaint.unscoped.get(pk=complaint.pk)
    assert (note.is_internal, reply.is_internal) == (True, False)
    assert (row.status, row.first_responded_at) == (S.IN_PROGRESS, NOW)


@pytest.mark.parametrize("state", [S.CLOSED, S.REJECTED])
@pytest.mark.parametrize("role", ["reporter", "agent"])
def test_no_replies_to_a_finished_complaint(state, role, actor_for, complaint_in):
    complaint = complaint_in(state)

    _refused(_reply("Hello?"), complaint, actor_for(role), services.ComplaintConflict)


def test_a_resolved_complaint_takes_staff_replies_but_the_customer_must_reopen(
    world_a, complaint_in
):
    complaint = complaint_in(S.RESOLVED)

    _refused(_reply("Not fixed."), complaint, world_a.customer, services.ComplaintConflict)
    with tenant_context(world_a.tenant):
        _reply("A follow-up.")(complaint, world_a.agent)
    assert Complaint.unscoped.get(pk=complaint.pk).status == S.RESOLVED


def test_a_question_to_the_customer_is_a_public_reply_and_pauses(world_a, complaint_in):
    complaint = complaint_in(S.OPEN)

    with tenant_context(world_a.tenant):
        services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, question="Batch number?", now=NOW
        )

    row = Complaint.unscoped.get(pk=complaint.pk)
    assert (row.status, row.sla_paused_at, row.first_responded_at) == (
        S.AWAITING_CUSTOMER,
        NOW,
        NOW,
    )
    message = ComplaintMessage.unscoped.get(complaint=complaint)
    assert (message.body, message.is_internal) == ("Batch number?", False)


@pytest.mark.parametrize("role", ["reporter", "customer_admin", "manager", "colleague"])
def test_only_staff_may_ask_the_customer(role, actor_for, complaint_in):
    complaint = complaint_in(S.IN_PROGRESS)

    _refused(
        lambda c, a: services.complaint_wait_for_customer(
            complaint=c, actor=a, question="Anything?", now=NOW
        ),
        complaint,
        actor_for(role),
        services.ComplaintAccessDenied,
    )


# --- people of another tenant inside this tenant --------------------------------------------


def test_staff_of_another_tenant_are_refused_even_inside_the_complaints_tenant(
    complaint_in, world_a, world_b
):
    # A caller that set the wrong tenant context must still not let them act.
    complaint = complaint_in(S.IN_PROGRESS)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant):
        for staff in (world_b.agent, world_b.coordinator, world_b.tenant_admin):
            for call in (
                TRANSITIONS["resolve"][0],
                TRANSITIONS["reject"][0],
                TRANSITIONS["wait_for_customer"][0],
                _reply("Hi.", is_internal=True),
                lambda c, a: services.complaint_assign(
                    complaint=c, actor=a, assignee=world_a.agent
                ),
            ):
                with pytest.raises(services.ComplaintAccessDenied):
                    call(complaint, staff)

    assert complaint_state(complaint) == before


def test_a_customer_of_another_tenant_is_refused_inside_the_complaints_tenant(
    complaint_in, world_a, world_b
):
    complaint = complaint_in(S.RESOLVED)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant):
        for call in (TRANSITIONS["reopen"][0], TRANSITIONS["rate"][0], _reply("Hi.")):
            with pytest.raises(services.ComplaintAccessDenied):
                call(complaint, world_b.customer_admin)

    assert complaint_state(complaint) == before


def test_the_system_may_close_a_resolved_complaint(complaint_in):
    complaint = complaint_in(S.RESOLVED)

    with tenant_context(complaint.tenant):
        services.complaint_close(complaint=complaint, actor=None, now=NOW)

    event = ComplaintEvent.unscoped.filter(complaint=complaint).latest("pk")
    row = Complaint.unscoped.get(pk=complaint.pk)
    assert (row.status, row.closed_at, event.action, event.actor) == (S.CLOSED, NOW, "closed", None)


# --- concurrency --------------------------------------------------------------------------


def _one_won(outcomes, error_type):
    kinds = sorted(kind for kind, _value in outcomes)
    assert kinds == ["error", "ok"], outcomes
    error = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(error, error_type), repr(error)
    return next(value for kind, value in outcomes if kind == "ok")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_agents_resolving_at_once_resolve_once(world_a):
    second = UserFactory(tenant=world_a.tenant, role="agent")
    for _round in range(3):
        complaint = advance(
            complaint_file(world_a.customer, world_a.company), S.IN_PROGRESS, agent=world_a.agent
        )

        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda actor=actor, c=complaint: services.complaint_resolve(
                    complaint=c, actor=actor, resolution=f"By {actor.pk}.", now=NOW
                )
                for actor in (world_a.agent, second)
            ],
        )

        winner = _one_won(outcomes, services.ComplaintConflict)
        row = Complaint.unscoped.get(pk=complaint.pk)
        assert (row.status, row.resolution) == (S.RESOLVED, winner.resolution)
        assert ComplaintEvent.unscoped.filter(complaint=complaint, action="resolved").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_assigning_at_once_assign_once(world_a):
    agents = [UserFactory(tenant=world_a.tenant, role="agent") for _ in range(2)]
    for _round in range(3):
        complaint = complaint_file(world_a.customer, world_a.company)

        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda actor=actor, agent=agent, c=complaint: services.complaint_assign(
                    complaint=c, actor=actor, assignee=agent, now=NOW
                )
                for actor, agent in zip(
                    (world_a.coordinator, world_a.tenant_admin), agents, strict=True
                )
            ],
        )

        winner = _one_won(outcomes, services.ComplaintConflict)
        row = Complaint.unscoped.get(pk=complaint.pk)
        assert (row.status, row.assignee_id) == (S.OPEN, winner.assignee_id)
        assert ComplaintEvent.unscoped.filter(complaint=complaint, action="assigned").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_ratings_at_once_rate_once(world_a):
    for _round in range(3):
        complaint = advance(
            complaint_file(world_a.customer, world_a.company), S.RESOLVED, agent=world_a.agent
        )

        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda actor=actor, score=score, c=complaint: services.complaint_rate(
                    complaint=c, actor=actor, score=score, now=NOW
                )
                for actor, score in ((world_a.customer, 5), (world_a.customer_admin, 1))
            ],
        )

        winner = _one_won(outcomes, services.ComplaintConflict)
        rating = SatisfactionRating.unscoped.get(complaint=complaint)
        assert (rating.score, rating.rated_by_id) == (winner.score, winner.rated_by_id)
        assert Complaint.unscoped.get(pk=complaint.pk).status == S.RESOLVED
        assert ComplaintEvent.unscoped.filter(complaint=complaint, action="rated").count() == 1
        assert not ComplaintEvent.unscoped.filter(complaint=complaint, action="closed").exists()

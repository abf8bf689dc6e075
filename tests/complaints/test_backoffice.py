"""Back-office for complaints: SLA queues and badges, the buttons of the complaint page, the
reply form with canned responses, bulk assignment and the SLA configuration editors, for every
role and across tenants."""

from __future__ import annotations

import datetime
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    SlaPolicy,
    SupportSettings,
)
from complaints.selectors import business_calendar, complaint_thread, sla_states
from complaints.sla import SlaState
from customers.models import CannedResponse
from rma_portal.tenancy.context import tenant_context
from tests.conftest import World
from tests.factories import CustomerAccountFactory, UserFactory, customer_user

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
BUTTONS = ["start", "wait", "resolve", "reject", "close"]
ALL_ACTION_URLS = [*BUTTONS, "take", "assign", "reply"]
TEXTS = {
    "question": "x",
    "resolution": "x",
    "reason": "x",
    "body": "x",
}


def _url(name: str, *args) -> str:
    return reverse(f"admin:complaints_complaint_{name}", args=args)


def _post(client, url: str, data: dict | None = None):
    """POST and follow the redirect, so the messages are shown (and consumed) right away."""
    return client.post(url, data or {}, follow=True)


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def _levels(response) -> list[str]:
    return [level for level, _text in _messages(response)]


def _reload(complaint: Complaint) -> Complaint:
    return Complaint.unscoped.get(pk=complaint.pk)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return buffer.getvalue()


def _state(complaint: Complaint) -> dict:
    """Everything a refused action must leave alone."""
    return {
        "row": Complaint.unscoped.filter(pk=complaint.pk).values().get(),
        "messages": ComplaintMessage.unscoped.filter(complaint_id=complaint.pk).count(),
        "events": ComplaintEvent.unscoped.filter(complaint_id=complaint.pk).count(),
        "files": ComplaintAttachment.unscoped.filter(complaint_id=complaint.pk).count(),
    }


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _client_of(user) -> Client:
    """Another signed-in browser (the `login` fixture's client stays with its first user)."""
    client = Client()
    client.force_login(user)
    return client


def _support_around_the_clock(world: World) -> None:
    """Every day from midnight to midnight: business time is wall time, so complaints filed
    some hours before the real now are at risk or breached whenever the tests run."""
    SupportSettings.unscoped.create(
        tenant=world.tenant,
        day_start=datetime.time(0, 0),
        day_end=datetime.time(23, 59, 59, 999999),
        working_weekdays=[0, 1, 2, 3, 4, 5, 6],
    )


@pytest.fixture
def round_the_clock(world_a, world_b):
    _support_around_the_clock(world_a)
    _support_around_the_clock(world_b)


def file_complaint(
    world: World,
    *,
    ago: datetime.timedelta = datetime.timedelta(minutes=5),
    priority: str = "normal",
    subject: str = "Broken hinge",
    company=None,
    reporter=None,
    uploads=(),
) -> Complaint:
    """A complaint filed through the service `ago` before now (default SLA targets: urgent
    2 h / 8 h, normal 8 h / 40 h of business time)."""
    with tenant_context(world.tenant):
        return services.complaint_file(
            customer_account=company or world.company,
            reporter=reporter or world.customer,
            category="product_quality",
            priority=priority,
            subject=subject,
            description="The hinge broke after a week.",
            uploads=uploads,
            now=timezone.now() - ago,
        )


def _attach(world: World, complaint: Complaint, *, internal: bool = False) -> ComplaintAttachment:
    with tenant_context(world.tenant):
        message = services.complaint_reply(
            complaint=complaint,
            actor=world.agent,
            body="Photo of the label.",
            is_internal=internal,
            uploads=[SimpleUploadedFile("label.png", _png(), content_type="image/png")],
        )
        return ComplaintAttachment.objects.get(message=message)


# --- queues, badges and the list ----------------------------------------------------------


def _listed(client, query: str = "") -> list[str]:
    response = client.get(_url("changelist") + query)
    assert response.status_code == 200
    return sorted(obj.code for obj in response.context["cl"].result_list)


def _badges(client, query: str = "") -> dict[str, str]:
    """Complaint number → the text of its SLA badge, as rendered in the list."""
    html = client.get(_url("changelist") + query).content.decode()
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    badges = {}
    for row in rows:
        code = re.search(r'class="field-code"><a [^>]*>([^<]+)</a>', row)
        badge = re.search(r'<span class="sla-badge sla-(\w+)">([^<]+)</span>', row)
        if code and badge:
            badges[code.group(1)] = f"{badge.group(1)}: {badge.group(2)}"
    return badges


@pytest.fixture
def queue_world(world_a, world_b, round_the_clock):
    """Tenant A's complaints in every queue, and tenant B's, due and at risk alike."""
    hours = datetime.timedelta(hours=1)
    now = timezone.now()
    fresh = file_complaint(world_a, subject="Fresh")
    first_at_risk = file_complaint(
        world_a, priority="urgent", ago=105 * datetime.timedelta(minutes=1)
    )
    first_breached = file_complaint(world_a, priority="urgent", ago=3 * hours)
    mine = file_complaint(world_a, ago=10 * datetime.timedelta(minutes=1))
    resolution_at_risk = file_complaint(world_a, priority="urgent", ago=7 * hours)
    awaiting = file_complaint(world_a, priority="urgent", ago=5 * hours)
    resolved = file_complaint(world_a, ago=2 * hours)
    with tenant_context(world_a.tenant):
        services.complaint_assign(complaint=mine, actor=world_a.agent, assignee=world_a.agent)
        # answered in time: from now on the resolution clock (8 h) is the one that runs
        services.complaint_reply(
            complaint=resolution_at_risk,
            actor=world_a.agent,
            body="We are on it.",
            now=now - 6 * hours,
        )
        # started without an answer, overdue, then paused: no queue of running clocks
        services.complaint_assign(
            complaint=awaiting, actor=world_a.coordinator, assignee=world_a.coordinator
        )
        services.complaint_start(complaint=awaiting, actor=world_a.coordinator)
        services.complaint_wait_for_customer(
            complaint=awaiting, actor=world_a.coordinator, now=now - datetime.timedelta(minutes=5)
        )
        services.complaint_assign(complaint=resolved, actor=world_a.agent, assignee=world_a.agent)
        services.complaint_resolve(
            complaint=resolved, actor=world_a.agent, resolution="Replaced.", now=now - hours
        )
    foreign = [
        file_complaint(world_b, subject="Foreign fresh"),
        file_complaint(world_b, priority="urgent", ago=105 * datetime.timedelta(minutes=1)),
        file_complaint(world_b, priority="urgent", ago=3 * hours),
    ]
    # the customers of `mine` and of a foreign complaint have been owed an update for a
    # minute (the cadence's arithmetic is tested in tests/customers/test_update_cadence.py)
    Complaint.unscoped.filter(pk__in=[mine.pk, foreign[0].pk]).update(
        update_due_at=now - datetime.timedelta(minutes=1)
    )
    return {
        "fresh": fresh,
        "first_at_risk": first_at_risk,
        "first_breached": first_breached,
        "mine": mine,
        "resolution_at_risk": resolution_at_risk,
        "awaiting": awaiting,
        "resolved": resolved,
        "foreign": foreign,
    }


def test_queues_show_the_right_complaints_and_never_another_tenants(world_a, queue_world, login):
    c = {name: obj.code for name, obj in queue_world.items() if name != "foreign"}
    client = login(world_a.agent)

    assert _listed(client) == sorted(c.values())
    assert _listed(client, "?queue=unassigned") == sorted(
        [c["fresh"], c["first_at_risk"], c["first_breached"]]
    )
    assert _listed(client, "?queue=mine") == sorted([c["mine"], c["resolution_at_risk"]])
    assert _listed(client, "?queue=at_risk") == sorted(
        [c["first_at_risk"], c["resolution_at_risk"]]
    )
    assert _listed(client, "?queue=breached") == [c["first_breached"]]
    assert _listed(client, "?queue=awaiting_customer") == [c["awaiting"]]
    assert _listed(client, "?queue=update_owed") == [c["mine"]]

    tabs = {tab["key"]: tab["count"] for tab in client.get(_url("changelist")).context["queues"]}
    assert tabs == {
        "unassigned": 3,
        "mine": 2,
        "at_risk": 2,
        "breached": 1,
        "awaiting_customer": 1,
        "update_owed": 1,
        "all": 7,  # tenant B's complaints are not counted
    }
    # complaint numbers repeat across tenants: tenant B's never show up, in no queue
    foreign_ids = {obj.pk for obj in queue_world["foreign"]}
    for query in (
        "",
        "?queue=unassigned",
        "?queue=at_risk",
        "?queue=breached",
        "?queue=update_owed",
    ):
        response = client.get(_url("changelist") + query)
        assert not foreign_ids & {obj.pk for obj in response.context["cl"].result_list}
    # the coordinator's "mine" holds the complaint waiting for the customer
    coordinator = _client_of(world_a.coordinator)
    assert _listed(coordinator, "?queue=mine") == [c["awaiting"]]


def test_sla_badges_show_the_state_of_each_complaint(world_a, queue_world, login):
    c = {name: obj.code for name, obj in queue_world.items() if name != "foreign"}
    client = login(world_a.agent)
    assert _badges(client) == {
        c["fresh"]: "on_track: On track",
        c["first_at_risk"]: "at_risk: At risk",
        c["first_breached"]: "breached: Breached",
        c["mine"]: "on_track: On track",
        c["resolution_at_risk"]: "at_risk: At risk",
        c["awaiting"]: "breached: Breached (paused)",
        c["resolved"]: "met: Met",
    }
    # the change page shows both clocks
    page = client.get(_url("change", queue_world["resolution_at_risk"].pk))
    clocks = [(str(clock["label"]), clock["badge"]) for clock in page.context["sla_clocks"]]
    assert [label for label, _badge in clocks] == ["First response", "Resolution"]
    assert "sla-met" in clocks[0][1]
    assert "sla-at_risk" in clocks[1][1]


def test_filters_and_search(world_a, world_b, round_the_clock, login):
    other = file_complaint(
        world_a, company=world_a.other_company, reporter=world_a.other_company_user
    )
    urgent = file_complaint(world_a, priority="urgent", subject="Pallet crushed")
    file_complaint(world_b, subject="Pallet crushed")
    client = login(world_a.agent)
    assert _listed(client, "?priority__exact=urgent") == [urgent.code]
    assert _listed(client, f"?customer_account__id__exact={world_a.other_company.pk}") == [
        other.code
    ]
    assert _listed(client, "?q=pallet") == [urgent.code]
    assert _listed(client, f"?q={world_a.other_company.number}") == [other.code]
    assert _listed(client, f"?q={urgent.code}") == [urgent.code]  # B has the same number


def test_changelist_query_count_does_not_grow_with_rows(world_a, round_the_clock, login):
    companies = [world_a.company, world_a.other_company]
    reporters = [world_a.customer, world_a.other_company_user]

    def file(count: int, start: int) -> None:
        for index in range(start, start + count):
            complaint = file_complaint(
                world_a,
                priority=["low", "normal", "high", "urgent"][index % 4],
                ago=datetime.timedelta(minutes=30 * index),
                company=companies[index % 2],
                reporter=reporters[index % 2],
            )
            if index % 3:
                assignee = world_a.agent if index % 2 else world_a.coordinator
                with tenant_context(world_a.tenant):
                    services.complaint_assign(
                        complaint=complaint, actor=world_a.coordinator, assignee=assignee
                    )

    client = login(world_a.agent)

    def count_queries(query: str = "") -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_url("changelist") + query)
        assert response.status_code == 200
        return len(queries)

    file(3, 0)
    with_three = count_queries(), count_queries("?queue=unassigned")
    file(12, 3)
    with_fifteen = count_queries(), count_queries("?queue=unassigned")
    assert with_fifteen == with_three

    response = client.get(_url("changelist"))
    assert len(response.context["cl"].result_list) == 15
    assert response.content.decode().count('class="sla-badge') == 15


# --- the complaint page and its buttons ---------------------------------------------------


def _action_names(response) -> set[str]:
    return {action["name"] for action in response.context["complaint_actions"]}


def test_agent_takes_replies_with_a_canned_response_waits_and_resolves(
    world_a, round_the_clock, login
):
    canned = CannedResponse.unscoped.create(
        tenant=world_a.tenant,
        title="First answer",
        body="Dear {customer_name}, we are looking into {complaint_code}. Regards, {agent_name}",
    )
    CannedResponse.unscoped.create(
        tenant=world_a.tenant, title="Retired", body="Old text", is_active=False
    )
    complaint = file_complaint(world_a)
    client = login(world_a.agent)

    # the new complaint waits in "unassigned"; the agent takes it from there
    assert _listed(client, "?queue=unassigned") == [complaint.code]
    page = client.get(_url("change", complaint.pk))
    assert page.status_code == 200
    assert page.context["take_url"] == _url("take", complaint.pk)
    assert page.context["assign_form"] is None  # agents take, coordinators assign
    assert _action_names(page) == {"reject"}
    response = _post(client, _url("take", complaint.pk))
    assert response.redirect_chain == [(_url("change", complaint.pk), 302)]
    assert _messages(response) == [("success", f"You took complaint {complaint.code}.")]
    taken = _reload(complaint)
    assert (taken.status, taken.assignee) == (ComplaintStatus.OPEN, world_a.agent)
    assert _listed(client, "?queue=unassigned") == []
    assert _listed(client, "?queue=mine") == [complaint.code]

    # picking a canned response fills the reply in, placeholders and all (without JS: GET)
    page = client.get(_url("change", complaint.pk), {"canned": canned.pk})
    expected = (
        f"Dear {world_a.company.name}, we are looking into {complaint.code}. "
        f"Regards, {world_a.agent.full_name}"
    )
    assert page.context["reply_form"]["body"].value() == expected
    choices = dict(page.context["canned_form"].fields["canned"].choices)
    assert set(choices) == {"", str(canned.pk)}  # inactive responses are not offered
    assert page.context["canned_texts"] == {str(canned.pk): expected}  # for the instant JS fill
    assert 'id="canned-texts"' in page.content.decode()

    response = _post(client, _url("reply", complaint.pk), {"body": expected})
    assert _messages(response) == [
        ("success", f"Reply on complaint {complaint.code} sent to the customer.")
    ]
    replied = _reload(complaint)
    assert replied.status == ComplaintStatus.IN_PROGRESS
    assert replied.first_responded_at is not None
    message = ComplaintMessage.unscoped.filter(complaint=complaint).get()
    assert (message.body, message.is_internal, message.author) == (
        expected,
        False,
        world_a.agent,
    )

    page = client.get(_url("change", complaint.pk))
    assert _action_names(page) == {"wait", "resolve", "reject"}
    _post(client, _url("wait", complaint.pk), {"question": "Could you send a photo?"})
    waiting = _reload(complaint)
    assert waiting.status == ComplaintStatus.AWAITING_CUSTOMER
    assert waiting.sla_paused_at is not None
    assert _listed(client, "?queue=awaiting_customer") == [complaint.code]
    assert _action_names(client.get(_url("change", complaint.pk))) == set()

    with tenant_context(world_a.tenant):
        services.complaint_reply(complaint=complaint, actor=world_a.customer, body="Attached.")
    assert _reload(complaint).status == ComplaintStatus.IN_PROGRESS

    response = _post(client, _url("resolve", complaint.pk), {"resolution": "Replaced the hinge."})
    assert _messages(response) == [("success", f"Complaint {complaint.code} resolved.")]
    resolved = _reload(complaint)
    assert (resolved.status, resolved.resolution) == (
        ComplaintStatus.RESOLVED,
        "Replaced the hinge.",
    )
    page = client.get(_url("change", complaint.pk))
    assert _action_names(page) == {"close"}

    # the conversation tells the story: the complaint as filed, the messages, the steps
    conversation = page.context["conversation"]
    assert (conversation[0].kind, conversation[0].title) == ("customer", "Complaint filed")
    messages = [e for e in conversation[1:] if e.kind in ("customer", "reply", "internal")]
    thread = [(entry.author, entry.body) for entry in messages]
    assert thread == [
        (world_a.agent.full_name, expected),
        (world_a.agent.full_name, "Could you send a photo?"),
        (world_a.customer.full_name, "Attached."),
    ]
    actions = list(
        ComplaintEvent.unscoped.filter(complaint=complaint)
        .order_by("created_at", "pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "filed",
        "assigned",
        "started",
        "awaiting_customer",
        "customer_replied",
        "resolved",
    ]
    assert [entry.title for entry in conversation if entry.kind == "event"] == [
        "Filed",
        "Assigned",
        "Work started",
        "Waiting for the customer",
        "Customer replied",
        "Resolved",
    ]


def test_internal_note_stays_internal_and_changes_nothing_else(world_a, round_the_clock, login):
    complaint = file_complaint(world_a)
    client = login(world_a.agent)
    response = _post(
        client,
        _url("reply", complaint.pk),
        {
            "body": "Customer called twice; be careful.",
            "is_internal": "on",
            "files": [SimpleUploadedFile("note.png", _png(), content_type="image/png")],
        },
    )
    assert _messages(response) == [
        ("success", f"Internal note added to complaint {complaint.code}.")
    ]
    note = ComplaintMessage.unscoped.get(complaint=complaint)
    assert note.is_internal
    attachment = ComplaintAttachment.unscoped.get(message=note)
    unchanged = _reload(complaint)
    assert (unchanged.status, unchanged.first_responded_at, unchanged.assignee) == (
        ComplaintStatus.NEW,
        None,
        None,
    )
    # staff see it marked as internal, with its file; the customer never sees either
    html = client.get(_url("change", complaint.pk)).content.decode()
    assert "Internal note — staff only" in html
    assert 'class="entry entry-internal entry-staff-only"' in html
    assert _url("attachment", complaint.pk, attachment.pk) in html
    with tenant_context(world_a.tenant):
        public = complaint_thread(complaint=complaint, for_customer=True)
        assert list(public.messages.all()) == []
        assert public.visible_attachments == []


def test_a_failed_reply_keeps_the_text_for_the_next_try(world_a, round_the_clock, login):
    complaint = file_complaint(world_a)
    client = login(world_a.agent)
    response = _post(
        client,
        _url("reply", complaint.pk),
        {
            "body": "Please see the attached.",
            "files": [SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="image/png")],
        },
    )
    assert _levels(response) == ["error"]
    assert response.context["reply_form"]["body"].value() == "Please see the attached."
    assert not ComplaintMessage.unscoped.filter(complaint=complaint).exists()
    response = _post(client, _url("reply", complaint.pk), {"body": "  "})
    assert _messages(response) == [("error", "Write a message.")]


def test_buttons_the_state_does_not_allow_show_an_error_and_change_nothing(
    world_a, round_the_clock, login
):
    complaint = file_complaint(world_a)  # new: only taking, assigning and rejecting fit
    client = login(world_a.agent)
    before = _state(complaint)
    for name in ("start", "wait", "resolve", "close"):
        response = _post(client, _url(name, complaint.pk), TEXTS)
        assert response.redirect_chain == [(_url("change", complaint.pk), 302)], name
        assert _levels(response) == ["error"], name
    # texts the service requires
    response = _post(client, _url("reject", complaint.pk), {"reason": " "})
    assert _messages(response) == [("error", "A rejection needs a reason.")]
    assert _state(complaint) == before

    with tenant_context(world_a.tenant):
        services.complaint_assign(complaint=complaint, actor=world_a.agent, assignee=world_a.agent)
    before = _state(complaint)
    response = _post(client, _url("resolve", complaint.pk), {"resolution": ""})
    assert _messages(response) == [("error", "Describe how the complaint was resolved.")]
    assert _state(complaint) == before

    response = _post(client, _url("reject", complaint.pk), {"reason": "Not our product."})
    assert _reload(complaint).status == ComplaintStatus.REJECTED
    page = client.get(_url("change", complaint.pk))
    assert _action_names(page) == set()
    assert page.context["reply_form"] is None
    assert not page.context["take_url"]
    before = _state(complaint)
    for name in ("take", "reply"):
        assert _levels(_post(client, _url(name, complaint.pk), TEXTS)) == ["error"], name
    assert _state(complaint) == before


def test_state_changes_are_post_only_and_csrf_protected(world_a, round_the_clock):
    complaint = file_complaint(world_a)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.agent)
    for name in ALL_ACTION_URLS:
        assert client.get(_url(name, complaint.pk)).status_code == 405, name
    assert client.post(_url("take", complaint.pk)).status_code == 403  # no CSRF token
    assert _reload(complaint).assignee is None


def test_coordinator_assigns_agents_of_the_own_tenant_only(
    world_a, world_b, round_the_clock, login
):
    complaint = file_complaint(world_a)
    inactive = UserFactory(tenant=world_a.tenant, role="agent", is_active=False)
    client = login(world_a.coordinator)
    page = client.get(_url("change", complaint.pk))
    choices = {str(pk) for pk, _label in page.context["assign_form"].fields["assignee"].choices}
    assert choices == {str(world_a.agent.pk), str(world_a.coordinator.pk)}

    response = _post(client, _url("assign", complaint.pk), {"assignee": world_a.agent.pk})
    assert _messages(response) == [
        ("success", f"Complaint {complaint.code} assigned to {world_a.agent.full_name}.")
    ]
    assert _reload(complaint).assignee == world_a.agent
    for stranger in (world_a.customer, world_b.agent, inactive, world_a.manager):
        response = _post(client, _url("assign", complaint.pk), {"assignee": stranger.pk})
        assert _levels(response) == ["error"]
        assert _reload(complaint).assignee == world_a.agent
    # an agent cannot hand a complaint to someone else, not even by a forged POST
    agent = _client_of(world_a.agent)
    response = _post(agent, _url("assign", complaint.pk), {"assignee": world_a.coordinator.pk})
    assert _levels(response) == ["error"]
    assert _reload(complaint).assignee == world_a.agent
    assert ComplaintEvent.unscoped.filter(complaint=complaint, action="assigned").count() == 1


def test_manager_reads_everything_and_cannot_act(world_a, round_the_clock, login):
    complaint = file_complaint(world_a)
    attachment = _attach(world_a, complaint, internal=True)
    client = login(world_a.manager)
    before = _state(complaint)

    page = client.get(_url("change", complaint.pk))
    assert page.status_code == 200
    assert page.context["complaint_actions"] == []
    assert page.context["reply_form"] is None
    assert page.context["assign_form"] is None
    html = page.content.decode()
    assert 'id="complaint-actions"' not in html
    assert 'id="complaint-reply"' not in html
    assert "Photo of the label." in html  # the thread is readable
    for name in ALL_ACTION_URLS:
        response = client.post(_url(name, complaint.pk), {**TEXTS, "assignee": world_a.agent.pk})
        assert response.status_code == 403, name
    # the ordinary change form never saves, whoever posts it
    assert client.post(_url("change", complaint.pk), {"status": "closed"}).status_code == 403
    response = client.post(
        _url("changelist"), {"action": "assign_selected", "_selected_action": [complaint.pk]}
    )
    assert response.status_code in (200, 302)
    assert _state(complaint) == before
    # reading the files is part of reading the complaint
    assert client.get(_url("attachment", complaint.pk, attachment.pk)).status_code == 200


def test_status_is_never_editable_in_the_form(world_a, round_the_clock, login):
    complaint = file_complaint(world_a)
    client = login(world_a.tenant_admin)
    page = client.get(_url("change", complaint.pk))
    assert "status" not in page.context["adminform"].form.fields
    assert client.post(_url("change", complaint.pk), {"status": "closed"}).status_code == 403
    assert client.get(_url("add")).status_code == 403
    assert client.post(_url("delete", complaint.pk), {"post": "yes"}).status_code == 403
    assert _reload(complaint).status == ComplaintStatus.NEW


def test_another_tenants_complaint_is_404_everywhere_and_unchanged(
    world_a, world_b, round_the_clock, login
):
    foreign = file_complaint(world_b)
    foreign_file = _attach(world_b, foreign)
    own = file_complaint(world_a)
    before = _state(foreign)
    client = login(world_a.tenant_admin)

    assert client.get(_url("change", foreign.pk)).status_code == 404
    assert client.get(_url("history", foreign.pk)).status_code == 404
    for name in ALL_ACTION_URLS:
        response = client.post(_url(name, foreign.pk), {**TEXTS, "assignee": world_a.agent.pk})
        assert response.status_code == 404, name
    assert client.get(_url("attachment", foreign.pk, foreign_file.pk)).status_code == 404
    # a foreign file under an own complaint, and ids that are no ids
    assert client.get(_url("attachment", own.pk, foreign_file.pk)).status_code == 404
    assert client.get(_url("attachment", "nonsense", foreign_file.pk)).status_code == 404
    assert client.post(_url("take", "nonsense")).status_code == 404
    # bulk assignment of a forged foreign id does nothing
    client.post(
        _url("changelist"),
        {
            "action": "assign_selected",
            "_selected_action": [foreign.pk],
            "apply": "1",
            "assignee": world_a.agent.pk,
        },
    )
    assert _state(foreign) == before


def test_staff_download_attachments_of_their_tenant(world_a, round_the_clock, login):
    complaint = file_complaint(
        world_a, uploads=[SimpleUploadedFile("crack.png", _png(), content_type="image/png")]
    )
    filed = ComplaintAttachment.unscoped.get(complaint=complaint)
    client = login(world_a.agent)
    html = client.get(_url("change", complaint.pk)).content.decode()
    link = _url("attachment", complaint.pk, filed.pk)
    assert link in html
    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


# --- bulk assignment ------------------------------------------------------------------------


def test_bulk_assign_assigns_open_complaints_and_reports_the_skipped(
    world_a, world_b, round_the_clock, login
):
    first, second = file_complaint(world_a), file_complaint(world_a)
    already = file_complaint(world_a)
    rejected = file_complaint(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_assign(complaint=already, actor=world_a.agent, assignee=world_a.agent)
        services.complaint_reject(complaint=rejected, actor=world_a.agent, reason="Duplicate.")
    selected = [first.pk, second.pk, already.pk, rejected.pk]
    client = login(world_a.coordinator)

    # the action asks whom to assign to: agents and coordinators of the tenant
    page = client.post(
        _url("changelist"), {"action": "assign_selected", "_selected_action": selected}
    )
    assert page.status_code == 200
    choices = {str(pk) for pk, _label in page.context["form"].fields["assignee"].choices}
    assert choices == {str(world_a.agent.pk), str(world_a.coordinator.pk)}
    assert str(world_b.agent.pk) not in choices
    assert [c.pk for c in page.context["complaints"]] == sorted(selected)

    response = _post(
        client,
        _url("changelist"),
        {
            "action": "assign_selected",
            "_selected_action": selected,
            "apply": "1",
            "assignee": world_a.agent.pk,
        },
    )
    assert response.redirect_chain == [(_url("changelist"), 302)]
    notes = dict(_messages(response))
    assert notes["success"] == (
        f"2 complaints assigned to {world_a.agent.full_name}: {first.code}, {second.code}."
    )
    assert notes["warning"].startswith("2 complaints skipped:")
    assert f"{already.code}: already assigned to {world_a.agent.full_name}" in notes["warning"]
    assert f"{rejected.code}: it is rejected" in notes["warning"]
    assert {(_reload(c).status, _reload(c).assignee_id) for c in (first, second)} == {
        (ComplaintStatus.OPEN, world_a.agent.pk)
    }
    assert _reload(rejected).assignee_id is None
    assert ComplaintEvent.unscoped.filter(complaint=already, action="assigned").count() == 1


def test_bulk_assign_offers_agents_only_themselves(world_a, round_the_clock, login):
    complaint = file_complaint(world_a)
    client = login(world_a.agent)
    page = client.post(
        _url("changelist"), {"action": "assign_selected", "_selected_action": [complaint.pk]}
    )
    choices = {str(pk) for pk, _label in page.context["form"].fields["assignee"].choices}
    assert choices == {str(world_a.agent.pk)}
    response = client.post(
        _url("changelist"),
        {
            "action": "assign_selected",
            "_selected_action": [complaint.pk],
            "apply": "1",
            "assignee": world_a.coordinator.pk,
        },
    )
    assert response.status_code == 200  # the form refuses the choice
    assert response.context["form"].errors["assignee"]
    assert _reload(complaint).assignee is None


# --- at-risk moments kept by the services -------------------------------------------------


def test_the_stored_at_risk_moment_agrees_with_the_badge_after_a_pause(world_a):
    # Default calendar Mon–Fri 8–16; normal: first response 8 business hours.
    monday = datetime.datetime(2026, 11, 16, 9, 0, tzinfo=WARSAW)
    with tenant_context(world_a.tenant):
        complaint = services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="delivery",
            priority="normal",
            subject="Late",
            description="Late.",
            now=monday,
        )
        # 80 % of 8 h after Monday 9:00 is Monday 15:24
        assert complaint.first_response_at_risk_at == monday.replace(hour=15, minute=24)
        services.complaint_assign(complaint=complaint, actor=world_a.agent, assignee=world_a.agent)
        services.complaint_start(complaint=complaint, actor=world_a.agent)
        services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, now=monday.replace(hour=10)
        )
        services.complaint_reply(
            complaint=complaint,
            actor=world_a.customer,
            body="Here.",
            now=monday.replace(hour=14),
        )
        complaint = Complaint.objects.get(pk=complaint.pk)
        calendar = business_calendar(world_a.tenant)
    # paused 4 h: due Tuesday 13:00; at risk when 1.6 of the 8 allowed hours are left
    tuesday = monday + datetime.timedelta(days=1)
    assert complaint.first_response_due_at == tuesday.replace(hour=13)
    at_risk_at = complaint.first_response_at_risk_at
    assert at_risk_at == tuesday.replace(hour=11, minute=24)
    second = datetime.timedelta(seconds=1)
    before = sla_states(complaint, calendar, now=at_risk_at - second)["first_response"]
    after = sla_states(complaint, calendar, now=at_risk_at + second)["first_response"]
    assert (before, after) == (SlaState.ON_TRACK, SlaState.AT_RISK)


# --- SLA policies, support settings, holidays and canned responses ------------------------


def _sla_url(name: str, *args) -> str:
    return reverse(f"admin:complaints_slapolicy_{name}", args=args)


def test_sla_policy_validation_errors_are_form_errors(world_a, login):
    client = login(world_a.tenant_admin)
    data = {"priority": "high", "first_response_hours": "10", "resolution_hours": "5"}
    response = client.post(_sla_url("add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["resolution_hours"] == [
        "The resolution time cannot be shorter than the first response time."
    ]
    response = client.post(_sla_url("add"), {**data, "first_response_hours": "-1"})
    assert response.context["adminform"].form.errors["first_response_hours"]
    assert not SlaPolicy.unscoped.exists()

    response = client.post(_sla_url("add"), {**data, "resolution_hours": "24"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    policy = SlaPolicy.unscoped.get()
    assert (policy.tenant, policy.customer_account, policy.first_response_hours) == (
        world_a.tenant,
        None,
        10,
    )
    # a second tenant target for the same priority is a form error, a customer's is not
    response = client.post(_sla_url("add"), {**data, "resolution_hours": "30"})
    assert response.context["adminform"].form.errors["priority"]
    response = client.post(
        _sla_url("add"),
        {**data, "resolution_hours": "30", "customer_account": world_a.company.pk},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    with tenant_context(world_a.tenant):
        complaint = services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="delivery",
            priority="high",
            subject="Late",
            description="Late.",
            now=datetime.datetime(2026, 11, 16, 8, 0, tzinfo=WARSAW),
        )
    # the customer's contract applies: 30 business hours from Monday 8:00 is Thursday 14:00
    assert complaint.resolution_due_at == datetime.datetime(2026, 11, 19, 14, 0, tzinfo=WARSAW)


def test_agents_and_coordinators_read_sla_policies_but_cannot_change_them(world_a):
    policy = SlaPolicy.unscoped.create(
        tenant=world_a.tenant, priority="urgent", first_response_hours=1, resolution_hours=4
    )
    data = {"priority": "urgent", "first_response_hours": "9", "resolution_hours": "9"}
    for user in (world_a.agent, world_a.coordinator):
        client = _client_of(user)
        assert client.get(_sla_url("change", policy.pk)).status_code == 200
        assert client.post(_sla_url("change", policy.pk), data).status_code == 403
        assert client.get(_sla_url("add")).status_code == 403
        assert client.post(_sla_url("delete", policy.pk), {"post": "yes"}).status_code == 403
    assert SlaPolicy.unscoped.get(pk=policy.pk).first_response_hours == 1


def test_another_tenants_sla_policy_is_404_and_customers_are_own_only(world_a, world_b, login):
    foreign = SlaPolicy.unscoped.create(
        tenant=world_b.tenant, priority="low", first_response_hours=1, resolution_hours=2
    )
    client = login(world_a.tenant_admin)
    assert client.get(_sla_url("change", foreign.pk)).status_code == 404
    data = {"priority": "low", "first_response_hours": "5", "resolution_hours": "5"}
    assert client.post(_sla_url("change", foreign.pk), data).status_code == 404
    response = client.post(_sla_url("add"), {**data, "customer_account": world_b.company.pk})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["customer_account"]
    assert SlaPolicy.unscoped.filter(tenant=world_a.tenant).count() == 0
    assert SlaPolicy.unscoped.get(pk=foreign.pk).first_response_hours == 1


def test_support_settings_weekdays_are_checkboxes_and_one_row_per_tenant(world_a, login):
    url = reverse("admin:complaints_supportsettings_add")
    client = login(world_a.tenant_admin)
    page = client.get(url)
    assert 'type="checkbox" name="working_weekdays"' in page.content.decode()
    data = {
        "day_start": "09:00",
        "day_end": "17:00",
        "working_weekdays": ["4", "0", "2"],
        "reopen_window_days": "10",
        "auto_close_days": "7",
        "update_cadence_hours": "24",
        "status_update_emails": "on",
    }
    response = client.post(url, {**data, "day_end": "08:00"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["day_end"]
    response = client.post(url, {**data, "working_weekdays": []})
    assert response.context["adminform"].form.errors["working_weekdays"]
    for hours in ("-1", "721", "two days"):  # the cadence: 0 (off) to 30 days
        response = client.post(url, {**data, "update_cadence_hours": hours})
        assert response.context["adminform"].form.errors["update_cadence_hours"]
    assert not SupportSettings.unscoped.exists()

    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = SupportSettings.unscoped.get()
    assert (row.tenant, row.working_weekdays) == (world_a.tenant, [0, 2, 4])
    assert (row.update_cadence_hours, row.status_update_emails) == (24, True)
    with tenant_context(world_a.tenant):
        calendar = business_calendar(world_a.tenant)
    assert calendar.weekdays == frozenset({0, 2, 4})
    assert calendar.day_start == datetime.time(9, 0)
    # one per tenant: no second one, the list offers no "add"
    assert client.get(url).status_code == 403
    assert client.post(url, data).status_code == 403
    listing = client.get(reverse("admin:complaints_supportsettings_changelist"))
    assert listing.context["has_add_permission"] is False
    # agents read the calendar, only tenant admins change it
    agent = _client_of(world_a.agent)
    change = reverse("admin:complaints_supportsettings_change", args=[row.pk])
    assert agent.get(change).status_code == 200
    assert agent.post(change, {**data, "working_weekdays": ["5"]}).status_code == 403
    assert SupportSettings.unscoped.get().working_weekdays == [0, 2, 4]


def test_holiday_on_the_same_day_is_a_form_error(world_a, world_b, login):
    url = reverse("admin:complaints_holiday_add")
    client = login(world_a.tenant_admin)
    response = client.post(url, {"date": "2026-12-24", "name": "Wigilia"})
    assert response.status_code == 302
    response = client.post(url, {"date": "2026-12-24", "name": "Christmas Eve"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["date"] == ["This day is already a holiday."]
    # another tenant may have the same day
    other = _client_of(world_b.tenant_admin)
    assert other.post(url, {"date": "2026-12-24", "name": "Wigilia"}).status_code == 302
    with tenant_context(world_a.tenant):
        assert datetime.date(2026, 12, 24) in business_calendar(world_a.tenant).holidays


def test_canned_responses_are_kept_by_coordinators_and_read_by_agents(world_a, login):
    url = reverse("admin:customers_cannedresponse_add")
    data = {
        "title": "Photo please",
        "language": "en",
        "body": "Hello {contact_name}",
        "is_active": "on",
    }
    coordinator = login(world_a.coordinator)
    page = coordinator.get(url)
    assert "{customer_name}" in page.content.decode()  # the placeholders are explained
    assert coordinator.post(url, data).status_code == 302
    response = coordinator.post(url, data)
    assert response.context["adminform"].form.errors["title"]
    canned = CannedResponse.unscoped.get()
    assert canned.tenant == world_a.tenant

    agent = _client_of(world_a.agent)
    change = reverse("admin:customers_cannedresponse_change", args=[canned.pk])
    assert agent.get(change).status_code == 200
    assert agent.post(change, {**data, "body": "Changed"}).status_code == 403
    assert agent.get(url).status_code == 403
    assert CannedResponse.unscoped.get().body == "Hello {contact_name}"


def test_canned_responses_are_offered_in_the_customers_language(world_a, round_the_clock, login):
    for title, language in (("Any", ""), ("English", "en"), ("Polski", "pl")):
        CannedResponse.unscoped.create(
            tenant=world_a.tenant, title=title, language=language, body=title
        )
    polish_company = CustomerAccountFactory(tenant=world_a.tenant, preferred_language="pl")
    polish_reporter = customer_user(polish_company, language="pl")
    complaint = file_complaint(world_a, company=polish_company, reporter=polish_reporter)
    client = login(world_a.agent)
    page = client.get(_url("change", complaint.pk))
    titles = [
        label for value, label in page.context["canned_form"].fields["canned"].choices if value
    ]
    assert titles == ["Any", "Polski"]

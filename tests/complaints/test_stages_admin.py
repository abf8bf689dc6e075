"""Back-office of complaint stages: tenant admins edit the stages (bad input refused with a
readable message and nothing saved), other staff only read them, another tenant's stage is
404 and stays as it was; the complaint page and list show the current stage and its state."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, ComplaintStage, ComplaintStageVisit, SupportSettings
from complaints.services.complaints import complaint_stages_ensure
from rma_portal.tenancy.context import tenant_context
from tests.conftest import World
from tests.html import parse

pytestmark = pytest.mark.django_db


def _url(name: str, *args) -> str:
    return reverse(f"admin:complaints_complaintstage_{name}", args=args)


def _complaint_url(name: str, *args) -> str:
    return reverse(f"admin:complaints_complaint_{name}", args=args)


def _client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _stages(world: World) -> list[tuple]:
    return list(
        ComplaintStage.unscoped.filter(tenant=world.tenant)
        .order_by("position", "key")
        .values_list("key", "name", "limit_days", "statuses", "is_active")
    )


def _defaults(world: World) -> dict[str, ComplaintStage]:
    with tenant_context(world.tenant):
        return {stage.key: stage for stage in complaint_stages_ensure(world.tenant)}


def _form_data(**changes) -> dict:
    data = {
        "position": "50",
        "key": "quality",
        "name": "Quality check",
        "limit_days": "2",
        "statuses": [],
        "is_active": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.get("Location")
    return {
        field: list(errors) for field, errors in response.context["adminform"].form.errors.items()
    }


# --- editing -----------------------------------------------------------------------------


def test_a_tenant_admin_sees_the_defaults_and_changes_a_limit(world_a, world_b, login):
    client = login(world_a.tenant_admin)

    page = client.get(_url("changelist"))

    assert page.status_code == 200
    assert [row.key for row in page.context["cl"].result_list] == [
        "acknowledge",
        "analysis",
        "information",
        "resolution",
    ]
    assert _stages(world_b) == []  # made for the tenant that looked, no other
    analysis = ComplaintStage.unscoped.get(tenant=world_a.tenant, key="analysis")
    form = client.get(_url("change", analysis.pk))
    assert 'type="checkbox" name="statuses"' in form.content.decode()

    response = client.post(
        _url("change", analysis.pk),
        _form_data(
            key="analysis",
            name="Analysis",
            position="20",
            limit_days="2.5",
            statuses=["in_progress"],
        ),
    )

    assert response.status_code == 302, _errors(response)
    analysis.refresh_from_db()
    assert (analysis.limit_days, analysis.statuses) == (Decimal("2.5"), ["in_progress"])


def test_a_tenant_admin_adds_a_stage_for_a_status_nobody_covers(world_a, login):
    _defaults(world_a)
    ComplaintStage.unscoped.filter(tenant=world_a.tenant, key="resolution").update(is_active=False)
    client = login(world_a.tenant_admin)

    response = client.post(_url("add"), _form_data(statuses=["resolved", "resolved"]))

    assert response.status_code == 302, _errors(response)
    added = ComplaintStage.unscoped.get(tenant=world_a.tenant, key="quality")
    assert (added.statuses, added.limit_days, added.is_active) == (["resolved"], 2, True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"limit_days": "0"}, "limit_days", "The limit must be more than 0 working days."),
        ({"limit_days": "-1"}, "limit_days", "The limit must be more than 0 working days."),
        ({"limit_days": "abc"}, "limit_days", "Enter a number."),
        (
            {"statuses": ["bogus"]},
            "statuses",
            "“bogus” is not a complaint status a stage can cover: choose among new, open, in "
            "progress, awaiting customer and resolved.",
        ),
        (
            {"statuses": ["closed"]},
            "statuses",
            "“closed” is not a complaint status a stage can cover: choose among new, open, in "
            "progress, awaiting customer and resolved.",
        ),
        ({"statuses": []}, "statuses", "Choose at least one complaint status the stage covers."),
        (
            {"statuses": ["in_progress"]},
            "statuses",
            "“In progress” already belongs to the stage “Analysis”.",
        ),
        (
            {"key": "analysis", "statuses": ["resolved"]},
            "key",
            "Another stage already has this key.",
        ),
    ],
)
def test_bad_stages_are_refused_with_a_message_and_nothing_is_saved(
    world_a, login, changes, field, message
):
    _defaults(world_a)
    ComplaintStage.unscoped.filter(tenant=world_a.tenant, key="resolution").update(is_active=False)
    before = _stages(world_a)
    client = login(world_a.tenant_admin)
    data = _form_data(statuses=["resolved"])
    data.update(changes)

    errors = _errors(client.post(_url("add"), data))

    assert message in errors[field]
    assert _stages(world_a) == before


def test_two_stages_claiming_one_status_name_every_clash_and_change_nothing(world_a, login):
    stages = _defaults(world_a)
    before = _stages(world_a)
    client = login(world_a.tenant_admin)

    errors = _errors(
        client.post(
            _url("change", stages["resolution"].pk),
            _form_data(key="resolution", name="Resolution", statuses=["new", "resolved", "open"]),
        )
    )

    assert errors["statuses"] == [
        "“New” already belongs to the stage “Acknowledge”.",
        "“Open” already belongs to the stage “Acknowledge”.",
        "A status belongs to one active stage: take it off the other stage first, or make "
        "this stage inactive.",
    ]
    assert _stages(world_a) == before
    # an inactive stage may name them: it is entered by no complaint
    response = client.post(
        _url("change", stages["resolution"].pk),
        _form_data(key="resolution", name="Resolution", statuses=["new"], is_active=None),
    )
    assert response.status_code == 302, _errors(response)
    # and cannot be made active while they are taken
    errors = _errors(
        client.post(
            _url("change", stages["resolution"].pk),
            _form_data(key="resolution", name="Resolution", statuses=["new"]),
        )
    )
    assert "“New” already belongs to the stage “Acknowledge”." in errors["statuses"]
    assert ComplaintStage.unscoped.get(pk=stages["resolution"].pk).is_active is False


# --- who may do what -----------------------------------------------------------------------


def test_agents_coordinators_and_managers_only_read_stages(world_a):
    analysis = _defaults(world_a)["analysis"]
    before = _stages(world_a)
    data = _form_data(key="analysis", name="Analysis", limit_days="9", statuses=["in_progress"])
    for user in (world_a.agent, world_a.coordinator, world_a.manager):
        client = _client_of(user)
        assert client.get(_url("changelist")).status_code == 200, user.role
        assert client.get(_url("change", analysis.pk)).status_code == 200, user.role
        assert client.post(_url("change", analysis.pk), data).status_code == 403, user.role
        assert client.get(_url("add")).status_code == 403, user.role
        assert client.post(_url("add"), _form_data(statuses=["resolved"])).status_code == 403
        assert client.post(_url("delete", analysis.pk), {"post": "yes"}).status_code == 403
    assert _stages(world_a) == before


def test_customers_never_reach_the_stages(world_a):
    analysis = _defaults(world_a)["analysis"]
    response = _client_of(world_a.customer).get(_url("change", analysis.pk))
    assert response.status_code in (302, 403, 404)
    assert response.status_code != 200


def test_another_tenants_stage_is_404_and_nothing_changes(world_a, world_b, login):
    foreign = _defaults(world_b)["analysis"]
    _defaults(world_a)
    before = _stages(world_b)
    client = login(world_a.tenant_admin)
    data = _form_data(key="analysis", name="Hijacked", limit_days="9", statuses=["in_progress"])

    assert client.get(_url("change", foreign.pk)).status_code == 404
    assert client.get(_url("history", foreign.pk)).status_code == 404
    assert client.get(_url("delete", foreign.pk)).status_code == 404
    assert client.post(_url("change", foreign.pk), data).status_code == 404
    assert client.post(_url("delete", foreign.pk), {"post": "yes"}).status_code == 404
    listed = client.get(_url("changelist")).context["cl"].result_list
    assert foreign.pk not in {row.pk for row in listed}

    assert _stages(world_b) == before


def test_a_stage_a_complaint_has_been_in_cannot_be_deleted(world_a, login):
    with tenant_context(world_a.tenant):
        services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="delivery",
            priority="normal",
            subject="Late",
            description="Late.",
        )
    acknowledge = ComplaintStage.unscoped.get(tenant=world_a.tenant, key="acknowledge")
    client = login(world_a.tenant_admin)

    client.post(_url("delete", acknowledge.pk), {"post": "yes"})

    assert ComplaintStage.unscoped.filter(pk=acknowledge.pk).exists()
    assert ComplaintStageVisit.unscoped.filter(stage=acknowledge).count() == 1


# --- the complaint list and page -------------------------------------------------------------


@pytest.fixture
def round_the_clock(world_a):
    """Support every day around the clock: a working day is (almost) 24 h of wall time, so
    complaints filed hours before the real now are at risk or overdue whenever this runs."""
    SupportSettings.unscoped.create(
        tenant=world_a.tenant,
        day_start=datetime.time(0, 0),
        day_end=datetime.time(23, 59, 59, 999999),
        working_weekdays=[0, 1, 2, 3, 4, 5, 6],
    )


def _file(world: World, *, ago: datetime.timedelta, subject: str) -> Complaint:
    with tenant_context(world.tenant):
        return services.complaint_file(
            customer_account=world.company,
            reporter=world.customer,
            category="delivery",
            priority="normal",
            subject=subject,
            description="Late.",
            now=timezone.now() - ago,
        )


def _listed(client, query: str) -> list[str]:
    response = client.get(_complaint_url("changelist") + query)
    assert response.status_code == 200
    return sorted(row.subject for row in response.context["cl"].result_list)


def test_the_list_shows_and_filters_the_stage_and_its_time(
    world_a, world_b, round_the_clock, login
):
    hour = datetime.timedelta(hours=1)
    _file(world_a, ago=0.1 * hour, subject="Fresh")
    _file(world_a, ago=21 * hour, subject="At risk")  # 80 % of one working day is 19.2 h
    overdue = _file(world_a, ago=50 * hour, subject="Overdue")
    with tenant_context(world_a.tenant):
        services.complaint_reply(complaint=overdue, actor=world_a.agent, body="On it.")
    _file(world_b, ago=50 * hour, subject="Foreign")
    client = login(world_a.agent)

    page = parse(client.get(_complaint_url("changelist")))
    cells = {
        row.select_one(".field-subject").text: row.select_one(".field-stage").text
        for row in page.select("#result_list tbody tr")
    }
    assert cells == {
        "Fresh": "Acknowledge On track",
        "At risk": "Acknowledge At risk",
        "Overdue": "Analysis On track",
    }
    stages = {stage.key: stage for stage in ComplaintStage.unscoped.filter(tenant=world_a.tenant)}
    assert _listed(client, f"?stage__id__exact={stages['acknowledge'].pk}") == ["At risk", "Fresh"]
    assert _listed(client, f"?stage__id__exact={stages['analysis'].pk}") == ["Overdue"]
    assert _listed(client, "?stage_time=at_risk") == ["At risk"]
    assert _listed(client, "?stage_time=overdue") == []
    _file(world_a, ago=30 * hour, subject="Late")
    assert _listed(client, "?stage_time=overdue") == ["Late"]


def test_the_complaint_page_shows_the_current_stage_and_its_history(
    world_a, round_the_clock, login
):
    complaint = _file(world_a, ago=datetime.timedelta(hours=30), subject="Late")
    client = login(world_a.agent)

    response = client.get(_complaint_url("change", complaint.pk))

    assert response.status_code == 200
    current = response.context["stage_current"]
    assert current["name"] == "Acknowledge"
    assert 'class="stage-badge stage-breached"' in current["badge"]
    page = parse(response)
    assert "Current stage: Acknowledge" in page.select_one("#complaint-stage-current").text
    rows = page.select("#complaint-stages tbody tr")
    assert [row.select_one("th").text for row in rows] == ["Acknowledge"]

    with tenant_context(world_a.tenant):
        services.complaint_reply(complaint=complaint, actor=world_a.agent, body="On it.")
    response = client.get(_complaint_url("change", complaint.pk))
    states = [visit["badge"] for visit in response.context["stage_visits"]]
    assert [("stage-missed" in states[0]), ("stage-on_track" in states[1])] == [True, True]
    assert response.context["stage_current"]["name"] == "Analysis"

"""The back-office of automatic assignment: teams, absences and rules are kept by
coordinators, managers and tenant admins of their own tenant; their pickers offer only the
tenant's people and teams; the load page shows each agent's open cases, complaints at risk
and breached, and who is away, in a fixed number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint
from customers.models import AssignmentRule
from rma_portal.accounts.models import Team, TeamMembership
from tests.assignment.conftest import (
    file_complaint,
    make_absence,
    make_agent,
    make_rule,
    make_team,
    submit_return,
)
from tests.html import parse

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:accounts_team_changelist",
    "admin:accounts_team_add",
    "admin:accounts_absence_changelist",
    "admin:accounts_absence_add",
    "admin:customers_assignmentrule_changelist",
    "admin:customers_assignmentrule_add",
    "admin:accounts_team_load",
]


@pytest.mark.parametrize("role", ["coordinator", "manager", "tenant_admin"])
def test_coordinators_managers_and_tenant_admins_keep_the_set_up(world_a, login, role):
    client = login(getattr(world_a, role))
    for page in PAGES:
        assert client.get(reverse(page)).status_code == 200, page
    # one link away from the home ("My work"): the list of every section
    home = parse(client.get(reverse("admin:index")))
    assert reverse("admin:sections") in {a["href"] for a in home.select("a[href]")}
    index = parse(client.get(reverse("admin:sections")))
    links = {a["href"] for a in index.select("#content-main a[href]")}
    assert reverse("admin:accounts_team_changelist") in links
    assert reverse("admin:customers_assignmentrule_changelist") in links


def test_agents_see_none_of_it(world_a, login):
    client = login(world_a.agent)
    for page in PAGES:
        assert client.get(reverse(page)).status_code == 403, page


def _options(response, name: str) -> set[str]:
    select = parse(response).select_one(f"select[name={name}]")
    return {option["value"] for option in select.select("option") if option["value"]}


def test_the_rule_form_offers_the_tenants_people_and_teams_and_the_apps_values(
    world_a, world_b, agents, login
):
    own_team = make_team(world_a.tenant, agents)
    make_team(world_b.tenant, [make_agent(world_b.tenant, "Agent of Beta")])
    client = login(world_a.coordinator)

    response = client.get(reverse("admin:customers_assignmentrule_add"))

    assert _options(response, "team") == {str(own_team.pk)}
    assert _options(response, "agent") == {
        str(pk) for pk in (*[a.pk for a in agents], world_a.agent.pk, world_a.coordinator.pk)
    }
    # The values are the complaints' and returns' own, registered with customers.cases.
    assert "billing" in _options(response, "complaint_category")
    assert "urgent" in _options(response, "complaint_priority")
    assert "wrong_item" in _options(response, "return_reason")
    assert "phone" in _options(response, "channel")


def test_a_rule_naming_another_tenants_agent_or_team_is_refused(world_a, world_b, login):
    foreign_agent = make_agent(world_b.tenant, "Agent of Beta")
    foreign_team = make_team(world_b.tenant, [foreign_agent])
    client = login(world_a.coordinator)
    url = reverse("admin:customers_assignmentrule_add")
    form = {"name": "Steal", "position": "10", "is_active": "on", "case_kind": "any"}

    for target in ({"agent": foreign_agent.pk}, {"team": foreign_team.pk}):
        response = client.post(url, {**form, **target})
        assert response.status_code == 200  # the form again, with an error
        assert parse(response).select(".errorlist")
    assert not AssignmentRule.unscoped.exists()


def test_a_coordinator_adds_a_rule_for_a_team(world_a, agents, login):
    team = make_team(world_a.tenant, agents)
    client = login(world_a.coordinator)

    response = client.post(
        reverse("admin:customers_assignmentrule_add"),
        {
            "name": "Urgent complaints",
            "position": "5",
            "is_active": "on",
            "case_kind": "complaint",
            "complaint_priority": "urgent",
            "channel": "phone",
            "team": team.pk,
        },
    )

    assert response.status_code == 302, parse(response).text[:500]
    rule = AssignmentRule.unscoped.get()
    assert (rule.tenant, rule.team, rule.complaint_priority) == (world_a.tenant, team, "urgent")
    assert file_complaint(world_a, priority="urgent", channel="phone").assignee == agents[0]


def _team_form(name: str, users) -> dict:
    data = {
        "name": name,
        "strategy": "round_robin",
        "memberships-TOTAL_FORMS": str(len(users)),
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for index, user in enumerate(users):
        data[f"memberships-{index}-user"] = user.pk
    return data


def test_a_team_is_made_of_the_tenants_agents_only(world_a, world_b, agents, login):
    client = login(world_a.coordinator)
    url = reverse("admin:accounts_team_add")

    assert _options(client.get(url), "memberships-0-user") == {
        str(pk) for pk in (*[a.pk for a in agents], world_a.agent.pk, world_a.coordinator.pk)
    }
    foreign = make_agent(world_b.tenant, "Agent of Beta")
    refused = client.post(url, _team_form("Mixed", [agents[0], foreign]))
    assert refused.status_code == 200 and parse(refused).select(".errorlist")
    refused = client.post(url, _team_form("Bosses", [world_a.manager]))
    assert refused.status_code == 200 and parse(refused).select(".errorlist")
    assert not Team.unscoped.exists()

    saved = client.post(url, _team_form("Desk", agents[:2]))
    assert saved.status_code == 302
    team = Team.unscoped.get()
    assert team.tenant == world_a.tenant
    assert set(TeamMembership.unscoped.filter(team=team).values_list("user", flat=True)) == {
        agents[0].pk,
        agents[1].pk,
    }


def test_an_absence_is_for_a_staff_member_of_the_tenant(world_a, world_b, login):
    client = login(world_a.coordinator)
    url = reverse("admin:accounts_absence_add")
    today = timezone.localdate()
    form = {"first_day": today.isoformat(), "last_day": today.isoformat()}

    choices = _options(client.get(url), "user")
    assert str(world_a.agent.pk) in choices and str(world_a.manager.pk) in choices
    assert str(world_a.customer.pk) not in choices and str(world_b.agent.pk) not in choices
    for user in (world_b.agent, world_a.customer):
        response = client.post(url, {**form, "user": user.pk})
        assert response.status_code == 200 and parse(response).select(".errorlist")
    backwards = {
        "user": world_a.agent.pk,
        "first_day": today.isoformat(),
        "last_day": (today - datetime.timedelta(days=1)).isoformat(),
    }
    response = client.post(url, backwards)
    assert response.status_code == 200 and parse(response).select(".errorlist")


def test_another_tenants_team_absence_and_rule_answer_404(world_a, world_b, login):
    beta_agent = make_agent(world_b.tenant, "Agent of Beta")
    rows = {
        "accounts_team": make_team(world_b.tenant, [beta_agent]),
        "accounts_absence": make_absence(beta_agent),
        "customers_assignmentrule": make_rule(world_b.tenant, agent=beta_agent),
    }
    client = login(world_a.coordinator)
    for prefix, row in rows.items():
        for view in ("change", "delete", "history"):
            response = client.get(reverse(f"admin:{prefix}_{view}", args=[row.pk]))
            assert response.status_code == 404, (prefix, view)
        response = client.post(
            reverse(f"admin:{prefix}_change", args=[row.pk]), {"name": "Taken over"}
        )
        assert response.status_code == 404, prefix
    assert Team.unscoped.get(pk=rows["accounts_team"].pk).name == "Support"


# --- the load page ----------------------------------------------------------------------


def _load_cells(response, user) -> dict[str, str]:
    row = parse(response).select_one(f"#agent-load tr[data-user='{user.pk}']")
    return {
        next(name for name in cell.classes if name not in ("count", "nonzero")): cell.text
        for cell in row.select("td.count")
    }


def _at_risk(complaint: Complaint) -> None:
    """Move the complaint's first-response clock to "at risk": most of its time used."""
    now = timezone.now()
    Complaint.unscoped.filter(pk=complaint.pk).update(
        first_response_at_risk_at=now - datetime.timedelta(hours=1),
        first_response_due_at=now + datetime.timedelta(hours=1),
        resolution_at_risk_at=now + datetime.timedelta(days=3),
        resolution_due_at=now + datetime.timedelta(days=4),
    )


def test_the_load_page_shows_each_agents_open_cases_risks_and_absence(
    world_a, world_b, agents, login
):
    ann, bob, cid = agents
    make_rule(world_a.tenant, agent=ann, case_kind="complaint")
    make_rule(world_a.tenant, agent=bob, case_kind="return")
    breached = file_complaint(world_a, now=timezone.now() - datetime.timedelta(days=30))
    at_risk = file_complaint(world_a)
    _at_risk(at_risk)
    file_complaint(world_a)
    submit_return(world_a)
    make_team(world_a.tenant, [ann, bob], name="Front desk")
    make_absence(cid)
    # Another tenant's cases of its own agent are never counted here.
    beta_agent = make_agent(world_b.tenant, "Agent of Beta")
    make_rule(world_b.tenant, agent=beta_agent)
    file_complaint(world_b)
    assert breached.assignee == ann

    client = login(world_a.coordinator)
    response = client.get(reverse("admin:accounts_team_load"))

    assert response.status_code == 200
    assert _load_cells(response, ann) == {
        "open_returns": "0",
        "open_complaints": "3",
        "complaints_at_risk": "1",
        "complaints_breached": "1",
        "open_cases": "3",
    }
    assert _load_cells(response, bob)["open_returns"] == "1"
    assert _load_cells(response, bob)["open_cases"] == "1"
    page = parse(response)
    ann_row = page.select_one(f"#agent-load tr[data-user='{ann.pk}']")
    assert "Front desk" in ann_row.text
    cid_row = page.select_one(f"#agent-load tr[data-user='{cid.pk}']")
    assert "away" in cid_row.classes and "until" in cid_row.select_one("td.away").text
    assert page.first(f"#agent-load tr[data-user='{beta_agent.pk}']") is None
    # Each figure links to the queue of those cases.
    link = ann_row.select_one("td.complaints_breached a")["href"]
    assert link.startswith(reverse("admin:complaints_complaint_changelist"))
    assert f"assignee__id__exact={ann.pk}" in link and "queue=breached" in link
    assert client.get(link).status_code == 200

    filtered = client.get(reverse("admin:accounts_team_load"), {"team": Team.unscoped.get().pk})
    users = {row["data-user"] for row in parse(filtered).select("#agent-load tbody tr")}
    assert users == {str(ann.pk), str(bob.pk)}


def test_the_load_page_needs_the_same_queries_for_one_agent_or_many(world_a, agents, login):
    client = login(world_a.coordinator)
    make_rule(world_a.tenant, team=make_team(world_a.tenant, agents, name="All"))

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("admin:accounts_team_load"))
        assert response.status_code == 200
        return len(queries)

    file_complaint(world_a)
    few = count_queries()
    more = [make_agent(world_a.tenant, f"Agent {n}") for n in range(6)]
    make_team(world_a.tenant, more, name="Second line")
    for agent in more[:3]:
        make_absence(agent)
    for _ in range(4):
        file_complaint(world_a)
        submit_return(world_a)
    many = count_queries()

    assert many == few
    rows = parse(client.get(reverse("admin:accounts_team_load"))).select("#agent-load tbody tr")
    assert len(rows) == 2 + len(agents) + len(more)  # with the world's agent and coordinator

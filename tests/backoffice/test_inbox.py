"""The agents' inbox ("My work", the back-office's home; rma_portal/backoffice/inbox.py): open
returns and complaints of the tenant in one list, with views and counts, sorted by the next
deadline, in a constant number of queries; never another tenant's case."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint
from returns.models import ReturnRequest
from rma_portal.backoffice.inbox import SORTS, Filters, inbox_rows
from rma_portal.tenancy.context import tenant_context
from tests.complaints.conftest import complaint_file
from tests.html import parse
from tests.returns import conftest as returns_fixtures

pytestmark = pytest.mark.django_db

# The returns' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
make_order_line = returns_fixtures.make_order_line
file_return = returns_fixtures.file_return

HOME = "admin:index"


@pytest.fixture
def file_one(world_a, world_b, make_order_line, file_return):
    """File a return (submitted) of company A, or B's with `world=world_b`."""

    def _file(world=None, *, submit=True):
        world = world or world_a
        line = make_order_line(world.company, quantity=3)
        return file_return(
            world.customer,
            world.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
            submit=submit,
        )

    return _file


def rows(response) -> list[tuple[str, int]]:
    page = parse(response)
    return [(tr["data-kind"], int(tr["data-id"])) for tr in page.select("tr.inbox-row")]


def counts(response) -> dict[str, int]:
    return {v["key"]: v["count"] for v in response.context["views"]}


def test_staff_land_on_their_work_with_both_kinds_of_case(world_a, world_b, file_one, login):
    rma = file_one()
    complaint = complaint_file(world_a.customer, world_a.company, now=timezone.now())
    draft = file_one(submit=False)
    foreign_return = file_one(world_b)
    foreign_complaint = complaint_file(world_b.customer, world_b.company, now=timezone.now())
    client = login(world_a.agent)

    response = client.get(reverse(HOME) + "?view=all")

    assert response.status_code == 200
    assert "admin/inbox.html" in [t.name for t in response.templates]
    listed = rows(response)
    assert set(listed) == {("return", rma.pk), ("complaint", complaint.pk)}
    assert ("return", draft.pk) not in listed  # drafts are the customer's
    assert ("return", foreign_return.pk) not in listed
    assert ("complaint", foreign_complaint.pk) not in listed
    text = response.content.decode()
    assert rma.number in text and complaint.code in text
    assert reverse("admin:returns_returnrequest_change", args=[rma.pk]) in text
    # searching for another tenant's number finds nothing (numbers repeat across tenants)
    response = client.get(reverse(HOME), {"view": "all", "q": foreign_complaint.code})
    assert ("complaint", foreign_complaint.pk) not in rows(response)


def test_views_count_and_hold_their_cases(world_a, file_one, login):
    now = timezone.now()
    mine = complaint_file(world_a.customer, world_a.company, now=now)
    unassigned = file_one()
    breached = complaint_file(world_a.customer, world_a.company, now=now)
    Complaint.unscoped.filter(pk=mine.pk).update(assignee=world_a.agent)
    Complaint.unscoped.filter(pk=breached.pk).update(
        first_response_due_at=now - datetime.timedelta(hours=1),
        first_response_at_risk_at=now - datetime.timedelta(hours=2),
    )
    ReturnRequest.unscoped.filter(pk=unassigned.pk).update(
        decision_due_at=now + datetime.timedelta(hours=1),
        decision_at_risk_at=now - datetime.timedelta(minutes=1),
    )
    client = login(world_a.agent)

    response = client.get(reverse(HOME))  # "mine" by default

    assert rows(response) == [("complaint", mine.pk)]
    assert counts(response) == {
        "mine": 1,
        "unassigned": 2,
        "at_risk": 1,
        "breached": 1,
        "update_owed": 0,
        "waiting": 0,
        "awaiting_approval": 0,
        "all": 3,
    }
    assert rows(client.get(reverse(HOME), {"view": "breached"})) == [("complaint", breached.pk)]
    assert rows(client.get(reverse(HOME), {"view": "at_risk"})) == [("return", unassigned.pk)]
    assert rows(client.get(reverse(HOME), {"view": "all", "kind": "return"})) == [
        ("return", unassigned.pk)
    ]
    only_urgent = client.get(reverse(HOME), {"view": "all", "priority": "urgent"})
    assert rows(only_urgent) == [] and counts(only_urgent)["all"] == 0


def test_sorted_by_the_next_deadline_with_cases_without_one_last(world_a, file_one, login):
    now = timezone.now()
    late = complaint_file(world_a.customer, world_a.company, now=now)
    soon = file_one()
    none = file_one()
    Complaint.unscoped.filter(pk=late.pk).update(
        first_response_due_at=now + datetime.timedelta(hours=5)
    )
    ReturnRequest.unscoped.filter(pk=soon.pk).update(
        decision_due_at=now + datetime.timedelta(hours=1)
    )
    ReturnRequest.unscoped.filter(pk=none.pk).update(decision_due_at=None)
    client = login(world_a.agent)

    response = client.get(reverse(HOME), {"view": "all"})

    assert rows(response) == [("return", soon.pk), ("complaint", late.pk), ("return", none.pk)]
    newest = rows(client.get(reverse(HOME), {"view": "all", "sort": "newest"}))
    assert newest == [("return", none.pk), ("return", soon.pk), ("complaint", late.pk)]


def test_a_page_is_its_slice_of_the_whole_order_across_kinds(world_a, file_one):
    """Each kind's rows are cut to the page's end before they are merged: every page of
    every sort must still be the same slice of the one order over both kinds."""
    now = timezone.now()
    hours = iter((5, 1, 3, 2, 6, 4))
    for _ in range(3):  # due and filed: the kinds take turns in every sort
        complaint = complaint_file(world_a.customer, world_a.company, now=now)
        hour = datetime.timedelta(hours=next(hours))
        Complaint.unscoped.filter(pk=complaint.pk).update(
            first_response_due_at=now + hour, created_at=now - hour
        )
        rma = file_one()
        hour = datetime.timedelta(hours=next(hours))
        ReturnRequest.unscoped.filter(pk=rma.pk).update(
            decision_due_at=now + hour, created_at=now - hour
        )
    with tenant_context(world_a.tenant):
        for sort in SORTS:
            filters = Filters(view="all", sort=sort)
            whole = inbox_rows(filters, world_a.agent, now, offset=0, limit=100)
            assert len(whole) == 6
            assert {row["kind"] for row in whole[:3]} == {"return", "complaint"}
            for limit in (1, 2, 4):
                for offset in range(0, 7):
                    page = inbox_rows(filters, world_a.agent, now, offset=offset, limit=limit)
                    assert page == whole[offset : offset + limit], (sort, offset, limit)


@pytest.mark.parametrize("assignee", ["", "coordinator"])
def test_the_number_of_queries_does_not_grow_with_the_cases(world_a, file_one, login, assignee):
    client = login(world_a.agent)
    url = reverse(HOME) + "?view=all"
    if assignee:
        url += f"&assignee={getattr(world_a, assignee).pk}"

    def queries() -> int:
        client.get(url)  # warm: sessions, permissions, site context
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    file_one()
    Complaint.unscoped.filter(
        pk=complaint_file(world_a.customer, world_a.company, now=timezone.now()).pk
    ).update(assignee=world_a.agent)
    few = queries()
    for _ in range(4):
        Complaint.unscoped.filter(
            pk=complaint_file(world_a.customer, world_a.company, now=timezone.now()).pk
        ).update(assignee=world_a.coordinator)
        file_one()
    assert queries() == few


def test_bad_parameters_are_explained_and_change_nothing(world_a, file_one, login):
    rma = file_one()
    client = login(world_a.agent)

    response = client.get(reverse(HOME), {"view": "everything", "page": "x", "sort": "up"})

    assert response.status_code == 200
    errors = parse(response).first("ul.errorlist[role=alert]")
    assert errors is not None and "valid" in errors.text
    assert rows(response) == []  # the default view, "mine", is empty for this agent
    assert ReturnRequest.unscoped.get(pk=rma.pk).version == rma.version
    # a page past the last shows the last
    response = client.get(reverse(HOME), {"view": "all", "page": "9999"})
    assert rows(response) == [("return", rma.pk)]


def test_customers_and_anonymous_visitors_never_see_it(world_a, file_one, client, login):
    file_one()
    assert client.get(reverse(HOME)).status_code == 302
    customer = login(world_a.customer)
    response = customer.get(reverse(HOME))
    assert response.status_code in (302, 403)
    assert b"inbox-row" not in response.content


def test_every_section_is_one_link_away(world_a, login):
    client = login(world_a.tenant_admin)
    home = parse(client.get(reverse(HOME)))
    sections = reverse("admin:sections")
    assert sections in {a["href"] for a in home.select("a[href]")}
    page = parse(client.get(sections))
    links = {a["href"] for a in page.select("#content-main a[href]")}
    assert reverse("admin:complaints_complaint_changelist") in links
    assert reverse("admin:returns_returnrequest_changelist") in links


def test_the_language_switch_is_in_the_back_office_and_remembered(world_a, login):
    client = login(world_a.agent)
    home = parse(client.get(reverse(HOME)))
    switch = home.select_one("form.lang-switch")
    assert switch["action"] == reverse("accounts:set_language")
    assert {b["value"] for b in switch.select("button[name=language]")} >= {"en", "pl"}

    client.post(reverse("accounts:set_language"), {"language": "pl", "next": reverse(HOME)})

    assert "Moja praca" in parse(client.get(reverse(HOME))).first("h1").text
    world_a.agent.refresh_from_db()
    assert world_a.agent.language == "pl"


def test_a_return_and_the_complaint_about_it_link_each_other(world_a, file_one, login):
    from complaints import services as complaint_services
    from rma_portal.tenancy.context import tenant_context

    rma = file_one()
    complaint = complaint_file(world_a.customer, world_a.company, now=timezone.now())
    with tenant_context(world_a.tenant):
        complaint_services.complaint_link_return(
            complaint=complaint, actor=world_a.agent, return_request=rma
        )
    client = login(world_a.agent)

    return_page = parse(client.get(reverse("admin:returns_returnrequest_change", args=[rma.pk])))
    complaint_url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    assert complaint_url in {a["href"] for a in return_page.select("a[href]")}
    complaint_page = parse(client.get(complaint_url))
    return_url = reverse("admin:returns_returnrequest_change", args=[rma.pk])
    assert return_url in {a["href"] for a in complaint_page.select("a[href]")}


def test_saved_views_are_the_staff_members_own(world_a, world_b, file_one, login):
    from rma_portal.accounts.models import SavedView

    rma = file_one()
    client = login(world_a.agent)
    save = reverse("admin:inbox_save_view")

    response = client.post(
        save, {"name": "My returns", "query": "view=all&kind=return&sort=bogus&q="}
    )

    view = SavedView.unscoped.get(user=world_a.agent)
    assert view.query == "view=all&kind=return&sort=due"  # only valid filters, in order
    home = client.get(response["Location"])
    assert rows(home) == [("return", rma.pk)]
    assert "My returns" in home.content.decode()
    # the same name again, or no name: refused with a message, nothing saved
    for bad in ({"name": "My returns", "query": ""}, {"name": " ", "query": ""}):
        client.post(save, bad)
    assert SavedView.unscoped.filter(user=world_a.agent).count() == 1
    # a colleague does not see it and cannot delete it; nor can another tenant's staff
    for other in (world_a.coordinator, world_b.agent):
        colleague = Client()
        colleague.force_login(other)
        assert parse(colleague.get(reverse(HOME))).first("nav.inbox-saved") is None
        delete = reverse("admin:inbox_delete_view", args=[view.pk])
        assert colleague.post(delete).status_code == 404
    assert SavedView.unscoped.filter(pk=view.pk).exists()
    # its owner deletes it
    client.post(reverse("admin:inbox_delete_view", args=[view.pk]))
    assert not SavedView.unscoped.filter(pk=view.pk).exists()


# --- the assignee filter ------------------------------------------------------------------


def test_the_assignee_filter_holds_the_cases_of_whom_it_names(world_a, file_one, login):
    now = timezone.now()
    mine = complaint_file(world_a.customer, world_a.company, now=now)
    coordinators = file_one()
    nobodys = complaint_file(world_a.customer, world_a.company, now=now)
    Complaint.unscoped.filter(pk=mine.pk).update(assignee=world_a.agent)
    ReturnRequest.unscoped.filter(pk=coordinators.pk).update(assignee=world_a.coordinator)
    client = login(world_a.agent)

    def shown(assignee: str):
        response = client.get(reverse(HOME), {"view": "all", "assignee": assignee})
        assert parse(response).first("ul.errorlist") is None
        return set(rows(response)), counts(response)

    listed, counted = shown("me")
    assert listed == {("complaint", mine.pk)}
    assert counted["all"] == counted["mine"] == 1 and counted["unassigned"] == 0
    listed, counted = shown(str(world_a.coordinator.pk))
    assert listed == {("return", coordinators.pk)}
    assert (counted["all"], counted["mine"], counted["unassigned"]) == (1, 0, 0)
    listed, counted = shown("none")
    assert listed == {("complaint", nobodys.pk)}
    assert (counted["all"], counted["unassigned"]) == (1, 1)
    listed, counted = shown("")
    assert len(listed) == counted["all"] == 3
    # the filter offers the tenant's staff, the one chosen stays chosen
    page = parse(client.get(reverse(HOME), {"assignee": world_a.coordinator.pk}))
    options = {o["value"]: o.text for o in page.select("select[name=assignee] option")}
    assert {"", "me", "none", str(world_a.agent.pk), str(world_a.manager.pk)} <= set(options)
    assert str(world_a.customer.pk) not in options
    chosen = page.first("select[name=assignee] option[selected]")
    assert chosen["value"] == str(world_a.coordinator.pk)
    assert page.first("label[for=id_assignee]").text == "Assignee"


def test_an_assignee_not_of_the_tenants_staff_is_named_and_anyone_shown(
    world_a, world_b, file_one, login
):
    rma = file_one()
    client = login(world_a.agent)
    for bad in (str(world_b.agent.pk), str(world_a.customer.pk), "somebody", "-1"):
        response = client.get(reverse(HOME), {"view": "all", "assignee": bad})
        assert response.status_code == 200
        errors = parse(response).first("ul.errorlist[role=alert]")
        assert errors is not None and bad in errors.text, bad
        assert rows(response) == [("return", rma.pk)]  # the default: anyone
        assert response.context["filters"].assignee == ""


def test_a_saved_view_keeps_the_assignee_filter(world_a, world_b, file_one, login):
    from rma_portal.accounts.models import SavedView

    rma = file_one()
    ReturnRequest.unscoped.filter(pk=rma.pk).update(assignee=world_a.coordinator)
    client = login(world_a.agent)
    save = reverse("admin:inbox_save_view")
    coordinator = world_a.coordinator.pk

    response = client.post(
        save, {"name": "Coordinator's", "query": f"view=all&assignee={coordinator}"}
    )
    client.post(save, {"name": "Foreign", "query": f"view=all&assignee={world_b.agent.pk}"})

    saved = dict(SavedView.unscoped.filter(user=world_a.agent).values_list("name", "query"))
    assert saved == {
        "Coordinator's": f"view=all&assignee={coordinator}&sort=due",
        "Foreign": "view=all&sort=due",  # not the tenant's staff: left out
    }
    assert rows(client.get(response["Location"])) == [("return", rma.pk)]

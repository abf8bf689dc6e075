"""Fields the back-office shows as a row of a table (tabular inlines, editable lists, the
inspection's lines) have no <label> each: they are named for screen readers by their field's
label (rma_portal.backoffice.admin.name_fields_for_screen_readers). The browser check of every
staff page (tests/browser/test_staff_pages_fit.py) runs axe-core over them; these tests keep
the names where Chromium is not installed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import AssignmentRule
from returns.models import ReturnStatus
from rma_portal.accounts.models import Team, TeamMembership
from tests.html import parse
from tests.returns import conftest as returns_fixtures

policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return
return_in = returns_fixtures.return_in

pytestmark = pytest.mark.django_db

FIELDS = "input:not([type=hidden]), select, textarea"


def _names(rows) -> list[tuple[str, str | None]]:
    return [(field["name"], field.get("aria-label")) for field in rows.select(FIELDS)]


def test_a_tabular_inlines_fields_are_named_the_delete_box_too(world_a, login):
    team = Team.unscoped.create(tenant=world_a.tenant, name="Desk")
    TeamMembership.unscoped.create(tenant=world_a.tenant, team=team, user=world_a.agent)
    page = parse(
        login(world_a.tenant_admin).get(reverse("admin:accounts_team_change", args=[team.pk]))
    )

    row = page.select_one("#memberships-0")
    assert _names(row) == [("memberships-0-user", "Member"), ("memberships-0-DELETE", "Delete")]
    # The form Django copies for "Add another" is named alike.
    assert dict(_names(page.select_one("#memberships-empty")))["memberships-__prefix__-user"]


def test_an_editable_lists_fields_are_named(world_a, login):
    AssignmentRule.unscoped.create(tenant=world_a.tenant, name="All", agent=world_a.agent)
    page = parse(
        login(world_a.tenant_admin).get(reverse("admin:customers_assignmentrule_changelist"))
    )

    labels = dict(_names(page.select_one("#result_list tbody")))
    del labels["_selected_action"]  # Django names the row's action box itself
    assert labels == {"form-0-position": "Position", "form-0-is_active": "Active"}


def test_the_inspections_line_fields_are_named(world_a, login, return_in):
    received = return_in(ReturnStatus.RECEIVED)
    page = parse(
        login(world_a.agent).get(reverse("admin:returns_returnrequest_inspect", args=[received.pk]))
    )

    labels = [label for _name, label in _names(page.select_one("#inspection tbody"))]
    assert labels == [
        "Condition",
        "Disposition",
        "Accepted quantity",
        "Note for the customer",
        "Internal note",
    ]

"""Staff filing returns and complaints for a customer user through the API (`on_behalf_of`):
who may, the channel recorded, the same policy checks as the customer's own, a policy refusal
overridden only with a reason (on the staff timeline), the customer owning the case (e-mail,
portal), and ids of other tenants, staff or nobody answering alike with nothing created."""

from __future__ import annotations

import pytest
from django.urls import reverse

from complaints.models import Complaint, ComplaintEvent
from returns import services
from returns.models import ReturnEvent, ReturnRequest, ReturnStatus
from rma_portal.accounts.models import Role
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context
from tests.factories import UserFactory
from tests.returns import conftest as returns_fixtures

from . import api_as, assert_error, delivered_line

pytestmark = pytest.mark.django_db

# The service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
make_order_line = returns_fixtures.make_order_line

RETURNS = "/api/v1/returns/"
COMPLAINTS = "/api/v1/complaints/"
ACTING = ["agent", "coordinator", "tenant_admin"]


def return_body(order_line, **changes) -> dict:
    return {
        "lines": [{"order_line": order_line.pk, "quantity": 1, "reason": "defective"}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
        "submit": True,
        **changes,
    }


def complaint_body(**changes) -> dict:
    return {
        "category": "delivery",
        "subject": "Pallet arrived late",
        "description": "Two weeks late.",
        **changes,
    }


def nothing_filed() -> bool:
    return not ReturnRequest.unscoped.exists() and not Complaint.unscoped.exists()


@pytest.fixture
def line(world_a, policy_a):
    """A line of world A's company, delivered 3 days ago: 5 × 100.00."""
    return delivered_line(world_a.company)


# --- returns --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ACTING)
def test_staff_file_a_return_for_a_customer_user(world_a, line, login, who):
    staff = getattr(world_a, who)

    response = api_as(staff).post(
        RETURNS,
        return_body(line, on_behalf_of=world_a.customer.pk, channel="phone"),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["channel"], body["channel_label"]) == (
        "submitted",
        "phone",
        "Phone",
    )
    assert body["requester"]["id"] == world_a.customer.pk
    assert body["customer"]["id"] == world_a.company.pk
    assert body["filed_by"]["id"] == staff.pk
    rma = ReturnRequest.unscoped.get(pk=body["id"])
    assert (rma.requester, rma.filed_by, rma.channel) == (world_a.customer, staff, "phone")
    # the timeline names who typed it in
    assert [
        (e.action, e.actor) for e in ReturnEvent.unscoped.filter(return_request=rma).order_by("pk")
    ] == [("created", staff), ("submitted", staff)]
    # the customer gets the e-mail and owns the return: API and portal
    assert Notification.unscoped.filter(
        recipient=world_a.customer, event="return.submitted"
    ).exists()
    mine = api_as(world_a.customer).get(RETURNS).json()
    assert [row["id"] for row in mine["results"]] == [rma.pk]
    page = login(world_a.customer).get(reverse("portal:return_detail", args=[rma.pk]))
    assert page.status_code == 200


def test_a_draft_filed_for_the_customer_is_theirs_to_submit(world_a, line):
    response = api_as(world_a.agent).post(
        RETURNS,
        return_body(line, on_behalf_of=world_a.customer.pk, channel="email", submit=False),
        format="json",
    )

    assert response.status_code == 201, response.content
    rma = ReturnRequest.unscoped.get(pk=response.json()["id"])
    assert rma.status == ReturnStatus.DRAFT
    submitted = api_as(world_a.customer).post(f"{RETURNS}{rma.pk}/submit/", format="json")
    assert submitted.json()["status"] == "submitted"


def test_customers_file_through_the_portal_channel(world_a, line):
    own = api_as(world_a.customer).post(
        RETURNS, return_body(line, channel="phone", on_behalf_of=world_a.customer.pk)
    )

    assert own.status_code == 201, own.content
    assert own.json()["channel"] == "portal"  # a customer's channel is not theirs to choose
    assert own.json()["filed_by"] is None


@pytest.mark.parametrize(
    ("who", "extra"),
    [
        ("manager", {"on_behalf_of": "customer"}),  # managers read only
        ("customer", {"on_behalf_of": "colleague"}),  # not even for a colleague
        ("customer_admin", {"on_behalf_of": "customer"}),
        ("customer", {"override_reason": "Please."}),  # customers override nothing
    ],
)
def test_who_may_not_file_for_someone_else(world_a, line, who, extra):
    body = return_body(line, channel="phone", **extra)
    if "on_behalf_of" in extra:
        body["on_behalf_of"] = getattr(world_a, extra["on_behalf_of"]).pk

    response = api_as(getattr(world_a, who)).post(RETURNS, body, format="json")

    assert_error(response, 403, "forbidden")
    assert nothing_filed()


@pytest.mark.parametrize(
    "target",
    ["other_tenant_customer", "missing", "staff", "inactive", "inactive_company"],
)
def test_a_customer_user_the_tenant_does_not_have_answers_alike(world_a, world_b, line, target):
    if target == "inactive":
        world_a.colleague.is_active = False
        world_a.colleague.save()
    if target == "inactive_company":
        world_a.other_company.is_active = False
        world_a.other_company.save()
    user_id = {
        "other_tenant_customer": world_b.customer.pk,
        "missing": 999_999_999,
        "staff": world_a.coordinator.pk,
        "inactive": world_a.colleague.pk,
        "inactive_company": world_a.other_company_user.pk,
    }[target]
    known = api_as(world_a.agent).post(
        RETURNS, return_body(line, on_behalf_of=999_999_998, channel="phone"), format="json"
    )

    response = api_as(world_a.agent).post(
        RETURNS, return_body(line, on_behalf_of=user_id, channel="phone"), format="json"
    )

    error = assert_error(response, 400, "invalid")
    assert error == assert_error(known, 400, "invalid")  # no tell between the cases
    assert list(error["fields"]) == ["on_behalf_of"]
    assert nothing_filed()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"channel": ""}, "channel"),  # people say how the customer reached them
        ({"on_behalf_of": None}, "on_behalf_of"),
        ({"on_behalf_of": "someone"}, "on_behalf_of"),
    ],
)
def test_staff_name_the_customer_and_the_channel(world_a, line, changes, field):
    body = {**return_body(line, on_behalf_of=world_a.customer.pk, channel="phone"), **changes}

    response = api_as(world_a.agent).post(RETURNS, body, format="json")

    assert field in assert_error(response, 400, "invalid")["fields"]
    assert nothing_filed()


def test_the_lines_must_be_the_customers_companys(world_a, line):
    other = delivered_line(world_a.other_company)

    response = api_as(world_a.agent).post(
        RETURNS,
        return_body(other, on_behalf_of=world_a.customer.pk, channel="phone"),
        format="json",
    )

    assert "lines[0].order_line" in assert_error(response, 400, "invalid")["fields"]
    assert nothing_filed()


# --- the policy, and overriding it ------------------------------------------------------------


@pytest.fixture
def late_line(world_a, policy_a, make_order_line):
    """Delivered 40 days ago: outside the 14-day window."""
    return make_order_line(world_a.company, delivered_days_ago=40)


def test_a_policy_refusal_stops_staff_as_it_stops_the_customer(world_a, late_line):
    body = return_body(late_line, on_behalf_of=world_a.customer.pk, channel="phone")

    staff = api_as(world_a.agent).post(RETURNS, body, format="json")
    customer = api_as(world_a.customer).post(
        RETURNS, {k: v for k, v in body.items() if k != "on_behalf_of"}, format="json"
    )

    refused = assert_error(staff, 400, "policy_refused")
    assert refused == assert_error(customer, 400, "policy_refused")
    assert "return window" in refused["message"]
    assert nothing_filed()


def test_an_agent_overrides_the_policy_with_a_reason(world_a, late_line):
    body = return_body(
        late_line,
        on_behalf_of=world_a.customer.pk,
        channel="phone",
        override_reason="Key account: the contract allows 60 days.",
    )

    response = api_as(world_a.agent).post(RETURNS, body, format="json")

    assert response.status_code == 201, response.content
    rma = ReturnRequest.unscoped.get(pk=response.json()["id"])
    assert rma.status == ReturnStatus.SUBMITTED  # waits for a decision, never auto-approved
    override = ReturnEvent.unscoped.get(return_request=rma, action=services.POLICY_OVERRIDDEN)
    assert (override.actor, override.is_public) == (world_a.agent, False)
    assert override.note.startswith("Key account: the contract allows 60 days.")
    assert "return window" in override.note
    # staff see it on the timeline; the customer does not
    staff_events = api_as(world_a.manager).get(f"{RETURNS}{rma.pk}/").json()["events"]
    assert services.POLICY_OVERRIDDEN in {e["action"] for e in staff_events}
    customer_events = api_as(world_a.customer).get(f"{RETURNS}{rma.pk}/").json()["events"]
    assert services.POLICY_OVERRIDDEN not in {e["action"] for e in customer_events}


def test_no_reason_overrides_the_quantities(world_a, line):
    body = return_body(
        line,
        on_behalf_of=world_a.customer.pk,
        channel="phone",
        override_reason="They say they got more.",
    )
    body["lines"][0]["quantity"] = 5
    api_as(world_a.agent).post(RETURNS, body, format="json")  # all 5 units are claimed now
    assert ReturnRequest.unscoped.count() == 1
    body["lines"][0]["quantity"] = 1

    response = api_as(world_a.agent).post(RETURNS, body, format="json")

    assert_error(response, 400, "policy_refused")
    assert ReturnRequest.unscoped.count() == 1


def test_an_override_needs_the_return_submitted_at_once(world_a, late_line):
    body = return_body(
        late_line,
        on_behalf_of=world_a.customer.pk,
        channel="phone",
        submit=False,
        override_reason="Goodwill.",
    )

    response = api_as(world_a.agent).post(RETURNS, body, format="json")

    assert "override_reason" in assert_error(response, 400, "invalid")["fields"]
    assert nothing_filed()


def test_the_tenants_integration_files_through_the_api_channel(world_a, line):
    integration = UserFactory(tenant=world_a.tenant, role=Role.INTEGRATION)
    with tenant_context(world_a.tenant):
        rma = services.return_request_file_for_customer(
            actor=integration,
            customer_id=world_a.customer.pk,
            lines=[services.LineInput(order_line_id=line.pk, quantity=1, reason="defective")],
            requested_resolution="refund",
            return_method="drop_off",
            submit=True,
        )

    assert (rma.channel, rma.filed_by, rma.requester) == ("api", integration, world_a.customer)


# --- complaints -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ACTING)
def test_staff_file_a_complaint_for_a_customer_user(world_a, login, who):
    staff = getattr(world_a, who)

    response = api_as(staff).post(
        COMPLAINTS,
        complaint_body(on_behalf_of=world_a.customer.pk, channel="email"),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["reporter"]["id"], body["filed_by"]["id"]) == (
        "email",
        world_a.customer.pk,
        staff.pk,
    )
    complaint = Complaint.unscoped.get(pk=body["id"])
    assert (complaint.customer_account, complaint.filed_by) == (world_a.company, staff)
    filed = ComplaintEvent.unscoped.get(complaint=complaint, action="filed")
    assert filed.actor == staff
    assert Notification.unscoped.filter(
        recipient=world_a.customer, event="complaint.filed"
    ).exists()
    # the customer sees it as their own; who filed it is for staff
    theirs = api_as(world_a.customer).get(f"{COMPLAINTS}{complaint.pk}/").json()
    assert (theirs["channel"], theirs["filed_by"]) == ("email", None)
    page = login(world_a.customer).get(reverse("portal:complaint_detail", args=[complaint.pk]))
    assert page.status_code == 200


def test_a_customers_own_complaint_comes_through_the_portal(world_a):
    response = api_as(world_a.customer).post(COMPLAINTS, complaint_body(channel="phone"))

    assert response.status_code == 201, response.content
    assert (response.json()["channel"], response.json()["filed_by"]) == ("portal", None)


@pytest.mark.parametrize(
    ("who", "on_behalf_of", "status"),
    [
        ("manager", "customer", 403),
        ("customer", "colleague", 403),
        ("customer_admin", "customer", 403),
        ("agent", "world_b.customer", 400),
        ("agent", "coordinator", 400),
        ("agent", "missing", 400),
        ("agent", None, 400),
    ],
)
def test_complaints_for_someone_else_are_refused_alike(world_a, world_b, who, on_behalf_of, status):
    ids = {
        "customer": world_a.customer.pk,
        "colleague": world_a.colleague.pk,
        "world_b.customer": world_b.customer.pk,
        "coordinator": world_a.coordinator.pk,
        "missing": 999_999_999,
        None: None,
    }

    response = api_as(getattr(world_a, who)).post(
        COMPLAINTS,
        complaint_body(on_behalf_of=ids[on_behalf_of], channel="phone"),
        format="json",
    )

    error = assert_error(response, status, "forbidden" if status == 403 else "invalid")
    if status == 400:
        assert list(error["fields"]) == ["on_behalf_of"]
    assert nothing_filed()


def test_a_complaint_about_another_companys_order_line_is_refused(world_a):
    other = delivered_line(world_a.other_company)

    response = api_as(world_a.agent).post(
        COMPLAINTS,
        complaint_body(on_behalf_of=world_a.customer.pk, channel="chat", order_line=other.pk),
        format="json",
    )

    assert "order_line" in assert_error(response, 400, "invalid")["fields"]
    assert nothing_filed()


def test_staff_say_how_the_complaint_reached_them(world_a):
    response = api_as(world_a.agent).post(
        COMPLAINTS, complaint_body(on_behalf_of=world_a.customer.pk), format="json"
    )

    assert "channel" in assert_error(response, 400, "invalid")["fields"]
    assert nothing_filed()

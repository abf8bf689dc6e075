"""Presence on the back-office's case pages (rma_portal/backoffice/presence.py): who else has a
return or complaint open, viewing it or typing a reply; for staff of the case's tenant only,
kept in the cache and judged against an explicit clock."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.models import Complaint
from returns.models import ReturnRequest
from rma_portal.backoffice.presence import (
    EXPIRY_SECONDS,
    CasePresenceMixin,
    CaseRef,
    PresenceState,
    presence_others,
    presence_report,
)
from rma_portal.tenancy.context import tenant_context
from tests.conftest import World
from tests.factories import PASSWORD, UserFactory
from tests.html import parse

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 16, 9, 0, tzinfo=datetime.UTC)


def _at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def _return(world: World) -> ReturnRequest:
    return ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=f"RMA-{world.tenant.slug}",
        customer_account=world.company,
        requester=world.customer,
    )


def _complaint(world: World) -> Complaint:
    return Complaint.unscoped.create(
        tenant=world.tenant,
        code=f"CMP-{world.tenant.slug}",
        customer_account=world.company,
        reporter=world.customer,
        category="delivery",
        subject="Late delivery",
        description="Late delivery.",
        first_response_due_at=_at(8 * 3600),
        resolution_due_at=_at(40 * 3600),
    )


# kind -> (builder, URL name prefix, the noun of "is viewing this …")
KINDS = {
    "return": (_return, "returns_returnrequest", "return"),
    "complaint": (_complaint, "complaints_complaint", "complaint"),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request) -> str:
    return request.param


@pytest.fixture
def clock(monkeypatch):
    """The back-office's presence clock, moved on by the test: `clock[0] = _at(…)`."""
    now = [T0]
    monkeypatch.setattr(CasePresenceMixin, "presence_clock", staticmethod(lambda: now[0]))
    return now


def _named(world: World):
    world.agent.full_name = "Anna Nowak"
    world.agent.save()
    world.coordinator.full_name = "Bartosz Lis"
    world.coordinator.save()
    return world


def _client(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def _case(kind: str, world: World):
    return KINDS[kind][0](world)


def _presence_url(kind: str, object_id) -> str:
    return reverse(f"admin:{KINDS[kind][1]}_presence", args=[object_id])


def _change_url(kind: str, object_id) -> str:
    return reverse(f"admin:{KINDS[kind][1]}_change", args=[object_id])


def _texts(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [other["text"] for other in response.json()["others"]]


def _recorded(kind: str, case, *worlds: World) -> list:
    """Whatever presence the cache holds on the case, read in each world's tenant scope."""
    ref = CaseRef(tenant_id=case.tenant_id, kind=kind, case_id=case.pk)
    found = []
    for world in worlds:
        with tenant_context(world.tenant):
            found.append(cache.get(ref.roster_key))
            found += presence_others(ref, user_id=0, now=_at(0))
    return [item for item in found if item is not None]


# --- the store ------------------------------------------------------------------------------


def test_a_report_counts_until_it_expires_judged_by_the_clock_given(world_a):
    case = CaseRef(tenant_id=world_a.tenant.pk, kind="complaint", case_id=7)
    with tenant_context(world_a.tenant):
        presence_report(case, user=world_a.agent, state=PresenceState.VIEWING, now=_at(0))

        seen = presence_others(case, user_id=world_a.coordinator.pk, now=_at(EXPIRY_SECONDS - 1))
        assert [(p.user_id, p.typing, p.reported_at) for p in seen] == [
            (world_a.agent.pk, False, _at(0))
        ]
        assert presence_others(case, user_id=world_a.coordinator.pk, now=_at(EXPIRY_SECONDS)) == []
        # Nobody is shown to themselves.
        assert presence_others(case, user_id=world_a.agent.pk, now=_at(1)) == []


def test_typing_comes_first_and_leaving_drops_out_at_once(world_a):
    _named(world_a)
    case = CaseRef(tenant_id=world_a.tenant.pk, kind="return", case_id=3)
    with tenant_context(world_a.tenant):
        presence_report(case, user=world_a.agent, state=PresenceState.VIEWING, now=_at(0))
        presence_report(case, user=world_a.coordinator, state=PresenceState.TYPING, now=_at(1))

        seen = presence_others(case, user_id=world_a.manager.pk, now=_at(2))
        assert [(p.name, p.typing) for p in seen] == [("Bartosz Lis", True), ("Anna Nowak", False)]

        presence_report(case, user=world_a.coordinator, state=PresenceState.LEFT, now=_at(3))
        seen = presence_others(case, user_id=world_a.manager.pk, now=_at(3))
        assert [p.name for p in seen] == ["Anna Nowak"]


def test_a_joining_user_clears_expired_ones_from_the_roster(world_a):
    case = CaseRef(tenant_id=world_a.tenant.pk, kind="complaint", case_id=1)
    with tenant_context(world_a.tenant):
        presence_report(case, user=world_a.agent, state=PresenceState.VIEWING, now=_at(0))
        presence_report(case, user=world_a.manager, state=PresenceState.VIEWING, now=_at(30))
        presence_report(
            case, user=world_a.coordinator, state=PresenceState.VIEWING, now=_at(EXPIRY_SECONDS)
        )
        assert cache.get(case.roster_key) == [world_a.manager.pk, world_a.coordinator.pk]


def test_cases_kinds_and_tenants_are_kept_apart(world_a, world_b):
    complaint = CaseRef(tenant_id=world_a.tenant.pk, kind="complaint", case_id=5)
    with tenant_context(world_a.tenant):
        presence_report(complaint, user=world_a.agent, state=PresenceState.VIEWING, now=_at(0))
        for other in (
            CaseRef(tenant_id=world_a.tenant.pk, kind="return", case_id=5),
            CaseRef(tenant_id=world_a.tenant.pk, kind="complaint", case_id=6),
            CaseRef(tenant_id=world_b.tenant.pk, kind="complaint", case_id=5),
        ):
            assert presence_others(other, user_id=0, now=_at(1)) == []
    # Only staff of the case's tenant report on it: a name never reaches another tenant.
    with tenant_context(world_b.tenant), pytest.raises(ValueError):
        presence_report(complaint, user=world_b.agent, state=PresenceState.VIEWING, now=_at(0))


# --- the endpoint ---------------------------------------------------------------------------


def test_two_agents_see_each_other_view_type_and_go(kind, world_a, clock):
    _named(world_a)
    case = _case(kind, world_a)
    url = _presence_url(kind, case.pk)
    anna, bartosz = _client(world_a.agent), _client(world_a.coordinator)
    noun = KINDS[kind][2]

    assert _texts(anna.post(url, {"state": "viewing"})) == []  # alone: nobody shown
    clock[0] = _at(5)
    assert _texts(bartosz.post(url, {"state": "viewing"})) == [f"Anna Nowak is viewing this {noun}"]
    assert _texts(anna.get(url)) == [f"Bartosz Lis is viewing this {noun}"]

    clock[0] = _at(15)
    bartosz.post(url, {"state": "typing"})
    answer = anna.get(url).json()
    assert answer["others"] == [
        {"name": "Bartosz Lis", "typing": True, "text": "Bartosz Lis is typing a reply"}
    ]
    assert answer["heartbeat_seconds"] == 15

    # Bartosz's tab stops reporting: he is gone once his last report expired, Anna is not
    # (she kept reporting).
    clock[0] = _at(30)
    anna.post(url, {"state": "viewing"})
    clock[0] = _at(15 + EXPIRY_SECONDS - 1)
    assert _texts(anna.get(url)) == ["Bartosz Lis is typing a reply"]
    clock[0] = _at(15 + EXPIRY_SECONDS)
    assert _texts(anna.get(url)) == []
    assert _texts(bartosz.get(url)) == [f"Anna Nowak is viewing this {noun}"]


def test_leaving_the_page_drops_out_at_once(kind, world_a, clock):
    _named(world_a)
    case = _case(kind, world_a)
    url = _presence_url(kind, case.pk)
    anna, bartosz = _client(world_a.agent), _client(world_a.coordinator)
    bartosz.post(url, {"state": "viewing"})
    assert len(_texts(anna.get(url))) == 1

    assert bartosz.post(url, {"state": "left"}).status_code == 200
    assert _texts(anna.get(url)) == []


def test_managers_may_see_and_be_seen(kind, world_a, clock):
    world_a.manager.full_name = "Maria Wolska"
    world_a.manager.save()
    case = _case(kind, world_a)
    url = _presence_url(kind, case.pk)
    manager = _client(world_a.manager)

    assert _texts(manager.post(url, {"state": "viewing"})) == []
    assert _texts(_client(world_a.agent).get(url)) == [
        f"Maria Wolska is viewing this {KINDS[kind][2]}"
    ]


def test_anonymous_users_and_customers_are_refused(kind, world_a, clock):
    case = _case(kind, world_a)
    url = _presence_url(kind, case.pk)
    for client in (Client(), _client(world_a.customer), _client(world_a.customer_admin)):
        for response in (client.get(url), client.post(url, {"state": "typing"})):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "forbidden"
    assert _recorded(kind, case, world_a) == []


def test_another_tenants_case_answers_like_a_missing_one_and_records_nothing(
    kind, world_a, world_b, clock
):
    case = _case(kind, world_a)
    _case(kind, world_b)
    missing = type(case).unscoped.order_by("-pk").first().pk + 1000
    foreign_agent = _client(world_b.agent)

    for method in ("get", "post"):
        send = getattr(foreign_agent, method)
        foreign = send(_presence_url(kind, case.pk), {"state": "viewing"})
        unknown = send(_presence_url(kind, missing), {"state": "viewing"})
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json() == unknown.json()
        assert foreign.json()["error"]["code"] == "not_found"
    assert foreign_agent.get(_presence_url(kind, "not-a-number")).status_code == 404
    assert _recorded(kind, case, world_a, world_b) == []
    assert _texts(_client(world_a.agent).get(_presence_url(kind, case.pk))) == []


def test_platform_superusers_are_nobodys_colleague(kind, world_a, superuser, clock):
    case = _case(kind, world_a)
    client = _client(superuser)
    client.post(reverse("admin:switch_tenant"), {"tenant": world_a.tenant.pk})

    assert client.post(_presence_url(kind, case.pk), {"state": "viewing"}).status_code == 403
    page = client.get(_change_url(kind, case.pk))
    assert page.status_code == 200
    assert parse(page).select("[data-case-presence]") == []
    assert _recorded(kind, case, world_a) == []


def test_bad_input_is_refused_and_records_nothing(kind, world_a, clock):
    case = _case(kind, world_a)
    url = _presence_url(kind, case.pk)
    agent = _client(world_a.agent)

    for data in ({}, {"state": "sleeping"}, {"state": "VIEWING"}):
        response = agent.post(url, data)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert error["fields"] == {"state": ["Send the state viewing, typing or left."]}
    for method in ("put", "delete", "patch"):
        assert getattr(agent, method)(url).status_code == 405
    assert _recorded(kind, case, world_a) == []


def test_a_report_needs_the_csrf_token(kind, world_a, clock):
    case = _case(kind, world_a)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.agent)
    url = _presence_url(kind, case.pk)

    assert client.post(url, {"state": "viewing"}).status_code == 403
    assert _recorded(kind, case, world_a) == []
    assert client.get(url).status_code == 200  # asking who is here changes nothing


def test_the_poll_takes_the_same_few_queries_however_many_are_there(kind, world_a, clock):
    case = _case(kind, world_a)
    url = _presence_url(kind, case.pk)
    agent = _client(world_a.agent)
    agent.post(url, {"state": "viewing"})

    def tables() -> list[str]:
        """The table each query of a poll (a report and a question) reads."""
        with CaptureQueriesContext(connection) as queries:
            assert agent.post(url, {"state": "typing"}).status_code == 200
            assert agent.get(url).status_code == 200
        return [query["sql"].split(" FROM ")[1].split()[0] for query in queries]

    alone = tables()
    for _ in range(4):
        _client(UserFactory(tenant=world_a.tenant)).post(url, {"state": "viewing"})
    assert len(_texts(agent.get(url))) == 4
    assert tables() == alone
    # Per request the session, the user (the tenant comes with it) and the case; the names
    # shown come from the cache.
    assert alone == 2 * ['"django_session"', '"accounts_user"', f'"{case._meta.db_table}"']


# --- the case page --------------------------------------------------------------------------


def test_the_page_carries_the_regions_and_the_script_and_touches_no_cache(kind, world_a, clock):
    case = _case(kind, world_a)
    _named(world_a)
    _client(world_a.coordinator).post(_presence_url(kind, case.pk), {"state": "typing"})
    anna = _client(world_a.agent)

    page = parse(anna.get(_change_url(kind, case.pk)))

    top = page.select_one("#case-presence")
    assert top["aria-live"] == "polite"
    assert top["data-url"] == _presence_url(kind, case.pk)
    assert top["data-heartbeat-seconds"] == "15"
    assert top["data-csrf"]
    assert [s["src"] for s in page.select("script[src$='presence.js']")] == [
        "/static/js/presence.js"
    ]
    # Next to the reply box too, naming the box the script watches.
    reply = page.select_one("#case-presence-reply")
    assert page.select_one(f"textarea#{reply['data-reply-field']}") is not None
    # Filled by the script, never by the page: rendering it neither reports Anna nor reads
    # who is there.
    assert top.text.strip() == reply.text.strip() == ""
    assert _texts(_client(world_a.coordinator).get(_presence_url(kind, case.pk))) == []


def test_managers_pages_have_no_reply_box_but_the_top_region(kind, world_a, clock):
    case = _case(kind, world_a)
    page = parse(_client(world_a.manager).get(_change_url(kind, case.pk)))
    assert page.select_one("#case-presence") is not None
    assert page.select("#case-presence-reply") == []

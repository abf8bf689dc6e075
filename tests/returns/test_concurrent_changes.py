"""Concurrent and stale changes of a return: the change page's forms carry the version they
were rendered with, the API takes it as If-Match, and a change based on an older version is
refused with a clear message and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import OrderLine
from returns.models import ReturnEvent, ReturnRequest, ReturnStatus
from rma_portal.accounts.models import Role
from tests.concurrency import (
    messages_of,
    press,
    run_concurrently,
    signed_in,
    version_on_page,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _url(name: str, return_request: ReturnRequest) -> str:
    return reverse(f"admin:returns_returnrequest_{name}", args=[return_request.pk])


def _reload(return_request: ReturnRequest) -> ReturnRequest:
    return ReturnRequest.unscoped.get(pk=return_request.pk)


def _state(return_request: ReturnRequest) -> tuple:
    row = _reload(return_request)
    events = ReturnEvent.unscoped.filter(return_request=row).count()
    return row.status, row.assignee_id, row.version, events


@pytest.fixture
def submitted(world_a, delivered_order, file_return) -> ReturnRequest:
    line = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number").first()
    return file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "wrong_size"}],
    )


def test_approve_and_reject_pressed_at_once_decide_once(world_a, submitted):
    agents = [UserFactory(tenant=world_a.tenant, role=Role.AGENT) for _ in range(6)]
    browsers = [signed_in(agent) for agent in agents]
    seen = [version_on_page(b, _url("change", submitted), "action-approve") for b in browsers]
    events_before = ReturnEvent.unscoped.filter(return_request=submitted).count()

    outcomes = run_concurrently(
        None,
        [
            (
                lambda b=browser, v=version, n=index: b.post(
                    _url("approve" if n % 2 else "reject", submitted),
                    {"version": v, "reason": "Not ours."},
                )
            )
            for index, (browser, version) in enumerate(zip(browsers, seen, strict=True))
        ],
    )

    assert [kind for kind, _ in outcomes] == ["ok"] * 6, outcomes
    levels = sorted(level for _, response in outcomes for level, _ in messages_of(response))
    assert levels == ["error"] * 5 + ["success"]
    row = _reload(submitted)
    assert row.status in (ReturnStatus.APPROVED, ReturnStatus.REJECTED)
    assert ReturnEvent.unscoped.filter(return_request=row).count() == events_before + 1


def test_a_button_on_a_page_opened_before_a_reassignment_changes_nothing(world_a, submitted):
    browser = signed_in(world_a.agent)
    stale = version_on_page(browser, _url("change", submitted), "action-approve")
    coordinator = signed_in(world_a.coordinator)
    press(
        coordinator,
        _url("change", submitted),
        "action-assign",
        _url("assign", submitted),
        {"assignee": world_a.coordinator.pk},
    )
    before = _state(submitted)

    response = browser.post(_url("approve", submitted), {"version": stale})

    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text.startswith(f"Return {submitted.number} has changed since you opened it")
    assert _state(submitted) == before


def test_the_api_refuses_a_stale_if_match_and_answers_the_new_etag(world_a, world_b, submitted):
    client = Client()
    client.force_login(world_a.agent)
    url = f"/api/v1/returns/{submitted.pk}/"
    read = client.get(url)
    etag = read["ETag"]
    assert etag == f'"{read.json()["version"]}"'
    # someone else changes the return through the back-office
    coordinator = signed_in(world_a.coordinator)
    press(
        coordinator,
        _url("change", submitted),
        "action-assign",
        _url("assign", submitted),
        {"assignee": world_a.coordinator.pk},
    )
    before = _state(submitted)

    stale = client.post(f"{url}approve/", {}, content_type="application/json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert _state(submitted) == before

    # another tenant's agent: 404, whatever it claims to have seen
    foreign = Client()
    foreign.force_login(world_b.agent)
    assert (
        foreign.post(
            f"{url}approve/", {}, content_type="application/json", HTTP_IF_MATCH=etag
        ).status_code
        == 404
    )
    assert _state(submitted) == before

    fresh = client.get(url)["ETag"]
    approved = client.post(
        f"{url}approve/", {}, content_type="application/json", HTTP_IF_MATCH=fresh
    )
    assert approved.status_code == 200
    assert approved["ETag"] not in (etag, fresh)
    assert _reload(submitted).status == ReturnStatus.APPROVED

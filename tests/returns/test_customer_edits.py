"""The customer changes a return until staff decide: a submitted return (or one with a
question open) is taken back to a draft, changed in the wizard and submitted again; the
timeline keeps the lines as they were."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import OrderLine
from returns import services
from returns.models import ReturnEvent, ReturnRequest, ReturnStatus
from returns.selectors import claimed_quantities
from rma_portal.tenancy.context import tenant_context

from .conftest import return_state, run_concurrently

pytestmark = pytest.mark.django_db

S = ReturnStatus


def _actions(rma) -> list[str]:
    return list(
        ReturnEvent.unscoped.filter(return_request=rma)
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_the_customer_takes_a_return_back_changes_it_and_submits_it_again(
    world_a, delivered_order, return_in, client, login
):
    rma = return_in(S.SUBMITTED, quantity=2)
    first_submitted = rma.submitted_at
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    client = login(world_a.customer)
    page = client.get(reverse("portal:return_detail", args=[rma.pk]))
    assert b'id="return-reopen"' in page.content

    response = client.post(reverse("portal:return_reopen", args=[rma.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:return_wizard_lines", args=[rma.pk])
    row = ReturnRequest.unscoped.get(pk=rma.pk)
    assert row.status == S.DRAFT
    reopened = ReturnEvent.unscoped.filter(return_request=rma, action="reopened").get()
    assert (reopened.actor, reopened.is_public) == (world_a.customer, True)
    assert reopened.note.startswith(f"2 × {line.product.sku} (order {delivered_order.number}/1)")
    with tenant_context(world_a.tenant):
        # a draft holds nothing in the ledger
        assert claimed_quantities(order_line_ids=[line.pk]) == {line.pk: 0}
        services.return_draft_set_lines(
            return_request=row,
            actor=world_a.customer,
            lines=[services.LineInput(order_line_id=line.pk, quantity=3, reason="defective")],
        )
        again = services.return_request_submit(
            return_request=ReturnRequest.objects.get(pk=rma.pk), actor=world_a.customer
        )

    assert again.status == S.SUBMITTED
    assert again.submitted_at == first_submitted  # the customer's clock started then
    with tenant_context(world_a.tenant):
        assert list(again.lines.values_list("quantity", flat=True)) == [3]
    assert _actions(rma) == ["created", "submitted", "reopened", "submitted"]


def test_an_open_question_is_answered_by_the_changed_return(world_a, return_in):
    rma = return_in(S.NEEDS_INFO)
    with tenant_context(world_a.tenant):
        reopened = services.return_request_reopen(return_request=rma, actor=world_a.customer)
    assert (reopened.status, reopened.info_request) == (S.DRAFT, "")


@pytest.mark.parametrize("status", [S.APPROVED, S.AWAITING_APPROVAL, S.REJECTED])
def test_once_staff_decided_or_are_deciding_nothing_changes(
    world_a, return_in, status, client, login
):
    rma = return_in(status)
    before = return_state(rma)
    client = login(world_a.customer)
    page = client.get(reverse("portal:return_detail", args=[rma.pk]))
    assert b'id="return-reopen"' not in page.content

    response = client.post(reverse("portal:return_reopen", args=[rma.pk]), follow=True)

    assert "can no longer be changed" in response.content.decode()
    assert return_state(rma) == before


def test_another_company_and_staff_cannot_take_it_back(world_a, world_b, return_in, client):
    rma = return_in(S.SUBMITTED)
    before = return_state(rma)
    for outsider in (world_a.other_company_user, world_b.customer):
        client.force_login(outsider)
        assert client.post(reverse("portal:return_reopen", args=[rma.pk])).status_code == 404
    client.force_login(world_a.agent)
    assert client.post(reverse("portal:return_reopen", args=[rma.pk])).status_code in (302, 403)
    with tenant_context(world_a.tenant), pytest.raises(services.ReturnAccessDenied):
        services.return_request_reopen(return_request=rma, actor=world_a.agent)
    assert return_state(rma) == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_taking_it_back_while_staff_approve_lets_exactly_one_happen(world_a, return_in):
    for _round in range(4):
        rma = return_in(S.SUBMITTED)

        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda rma=rma: services.return_request_reopen(
                    return_request=ReturnRequest.objects.get(pk=rma.pk), actor=world_a.customer
                ),
                lambda rma=rma: services.return_request_approve(
                    return_request=ReturnRequest.objects.get(pk=rma.pk), actor=world_a.agent
                ),
            ],
        )

        row = ReturnRequest.unscoped.get(pk=rma.pk)
        succeeded = [kind for kind, _value in outcomes].count("ok")
        assert succeeded == 1, outcomes
        assert row.status in (S.DRAFT, S.APPROVED)
        assert _actions(rma)[-1] == ("reopened" if row.status == S.DRAFT else "approved")

"""The portal wizard refuses on step 2 what submission would refuse (one engine, one rule
code), shows the money to expect before submission, keeps the customer's place in a draft,
gives the RMA number on submission, and a return's page says where the case stands."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint
from customers.models import OrderLine, Product
from returns import services
from returns.maintenance import returns_delete_empty_drafts
from returns.maintenance_tasks import delete_empty_drafts_task
from returns.models import ReturnEvent, ReturnLine, ReturnRequest, ReturnStatus
from returns.policies import REFUSAL_NOT_RETURNABLE, REFUSAL_QUANTITY_BEYOND_RETURNABLE
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import TenantSequence
from tests.complaints.conftest import complaint_file
from tests.html import definitions, parse, summary, table_rows, texts
from tests.returns.conftest import advance
from tests.returns.test_portal_wizard import lines_post, order_lines, start_draft, url

pytestmark = pytest.mark.django_db


def _deliver(line: OrderLine, *, quantity: int) -> None:
    OrderLine.unscoped.filter(pk=line.pk).update(delivered_quantity=quantity)


def _saved(draft) -> list[tuple]:
    return list(
        ReturnLine.unscoped.filter(return_request=draft)
        .order_by("pk")
        .values_list("order_line_id", "quantity", "reason")
    )


def _draft_through_services(customer, company, lines, *, resolution="refund"):
    with tenant_context(company.tenant):
        return services.return_request_create(
            customer_account=company,
            requester=customer,
            lines=[services.LineInput(**line) for line in lines],
            requested_resolution=resolution,
            return_method="drop_off",
        )


def _submission_refusals(draft) -> dict:
    """What step 4 (submission) refuses of a draft, per line."""
    with tenant_context(draft.tenant), pytest.raises(services.ReturnInvalid) as refused:
        services.return_request_submit(return_request=draft, actor=draft.requester)
    assert refused.value.code == "policy_refused"
    return refused.value.fields


# --- 1. step 2 refuses what submission would refuse ----------------------------------------


def test_step_two_caps_and_refuses_more_than_is_still_returnable(
    world_a, policy_a, make_order_line, login, file_return
):
    # given: 20 delivered, 1 already in a submitted return
    line = make_order_line(world_a.company, quantity=20)
    file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    client = login(world_a.customer)
    draft = start_draft(client, line.order)

    # then: the input allows what is still returnable, not what was delivered
    page = parse(client.get(url("return_wizard_lines", draft)))
    assert page.select_one("input[name='lines-0-quantity']")["max"] == "19"

    # when: 20 are entered anyway (the form does not let the browser check)
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post([{"order_line": line.pk, "quantity": 20, "reason": "wrong_size"}]),
    )

    # then: refused on this step, next to the quantity, with the engine's reason
    assert response.status_code == 200, summary(response)
    form = response.context["rows"][0].form
    expected = "Only 19 of 20 can still be returned (1 already in other returns); you asked for 20."
    assert form.errors["quantity"] == [expected]
    assert "Nothing was saved." in parse(response).text
    assert _saved(draft) == []
    assert parse(response).select_one("input[name='lines-0-quantity']")["max"] == "19"

    # ... and it is the reason submission gives for the same line
    other = _draft_through_services(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 20, "reason": "wrong_size"}],
    )
    assert _submission_refusals(other) == {"lines[0]": [expected]}

    # when: 19
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post([{"order_line": line.pk, "quantity": 19, "reason": "wrong_size"}]),
    )
    assert response.status_code == 302, summary(response)
    assert _saved(draft) == [(line.pk, 19, "wrong_size")]


def test_step_two_refuses_a_personalised_line_with_the_reason_of_submission(
    world_a, policy_a, make_order_line, login
):
    # given: a personalised product, not returnable, and a returnable line
    personalised = make_order_line(world_a.company, returnable=False)
    Product.unscoped.filter(pk=personalised.product_id).update(name="Engraved plate")
    plain = make_order_line(world_a.company, order=personalised.order)
    client = login(world_a.customer)
    draft = start_draft(client, personalised.order)
    entries = [
        {"order_line": personalised.pk, "quantity": 1, "reason": "wrong_size"},
        {"order_line": plain.pk, "quantity": 2, "reason": "wrong_size"},
    ]

    # when
    response = client.post(url("return_wizard_lines", draft), lines_post(entries))

    # then: refused on the line, with the text submission gives; nothing saved
    assert response.status_code == 200, summary(response)
    rows = response.context["rows"]
    sku = personalised.product.sku
    expected = f"Engraved plate ({sku}) cannot be returned."
    assert rows[0].form.non_field_errors() == [expected]
    assert not rows[1].form.errors
    assert expected in texts(response, "article.return-line.has-error .errors")[0]
    assert _saved(draft) == []
    other = _draft_through_services(
        world_a.customer,
        world_a.company,
        [{"order_line_id": personalised.pk, "quantity": 1, "reason": "wrong_size"}],
    )
    assert _submission_refusals(other) == {"lines[0]": [expected]}


def test_step_two_lets_through_what_the_policy_allows_such_as_a_warranty_claim(
    world_a, policy_a, make_order_line, login
):
    # A personalised product with a defect past the window, under warranty: a warranty claim.
    line = make_order_line(world_a.company, returnable=False, delivered_days_ago=60)
    Product.unscoped.filter(pk=line.product_id).update(warranty_months=24)
    client = login(world_a.customer)
    draft = start_draft(client, line.order)

    response = client.post(
        url("return_wizard_lines", draft),
        lines_post([{"order_line": line.pk, "quantity": 1, "reason": "defective"}]),
    )

    assert response.status_code == 302, summary(response)
    assert _saved(draft) == [(line.pk, 1, "defective")]


def test_the_service_refuses_with_the_rule_code_of_submission_only_when_asked(
    world_a, policy_a, make_order_line
):
    line = make_order_line(world_a.company, quantity=3, returnable=False)
    with tenant_context(world_a.tenant):
        draft = services.return_draft_create(
            customer_account=world_a.company, requester=world_a.customer
        )
        wanted = [services.LineInput(order_line_id=line.pk, quantity=3, reason="wrong_size")]
        with pytest.raises(services.ReturnInvalid) as refused:
            services.return_draft_set_lines(
                return_request=draft, actor=world_a.customer, lines=wanted, check_policy=True
            )
        assert refused.value.code == "policy_refused"
        assert list(refused.value.fields) == ["lines[0]"]
        assert _saved(draft) == []
        # Staff filing for a customer and the API may override at submission: saved.
        services.return_draft_set_lines(return_request=draft, actor=world_a.customer, lines=wanted)
    assert _saved(draft) == [(line.pk, 3, "wrong_size")]


def test_the_engine_names_the_rule_of_each_refusal(world_a, policy_a, make_order_line):
    from returns.policies import evaluate_line
    from returns.selectors import lines_facts, return_rules_for

    line = make_order_line(world_a.company, quantity=2, returnable=False)
    with tenant_context(world_a.tenant):
        facts = lines_facts([(line, 3, "wrong_size")], exclude_return_id=None)
        verdict = evaluate_line(
            return_rules_for(customer_account=world_a.company),
            facts[0],
            today=tenant_today(world_a.tenant),
        )
    assert verdict.codes == [REFUSAL_NOT_RETURNABLE, REFUSAL_QUANTITY_BEYOND_RETURNABLE]
    assert len(verdict.codes) == len(verdict.refusals)


# --- 2. the money before submission ---------------------------------------------------------


def _review_of_two_lines(client, world_a, delivered_order, *, resolution="refund"):
    line1, line2 = order_lines(delivered_order)  # 100.00 electronics, 20.00 workwear
    draft = start_draft(client, delivered_order)
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 2, "reason": "wrong_size"},
                {"order_line": line2.pk, "quantity": 3, "reason": "defective"},
            ]
        ),
    )
    assert response.status_code == 302, summary(response)
    response = client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": resolution, "return_method": "drop_off"},
    )
    assert response.status_code == 302, summary(response)
    return draft, client.get(url("return_wizard_review", draft))


def test_review_shows_the_expected_refund_per_line_and_in_total(world_a, delivered_order, login):
    # given: 10 % restocking fee on lines not returned for a defect (policy_a)
    client = login(world_a.customer)

    # when
    draft, response = _review_of_two_lines(client, world_a, delivered_order)

    # then: per line — value, fee, amount; and the total
    assert response.status_code == 200
    rows = table_rows(response, "table.review-lines")
    assert rows[0][3:6] == ["Value", "Restocking fee", "Expected amount (estimate)"]
    assert rows[1][3:6] == ["200.00 PLN", "−20.00 PLN", "180.00 PLN"]
    assert rows[2][3:6] == ["60.00 PLN", "none", "60.00 PLN"]
    assert rows[3][:4] == ["Requested value", "260.00 PLN", "−20.00 PLN", "240.00 PLN"]
    estimate = definitions(response, "#estimate dl")
    assert estimate == {
        "Value of the goods": "260.00 PLN",
        "Restocking fee": "−20.00 PLN",
        "Expected refund": "240.00 PLN",
        "Return shipping": "Paid by you: you send the goods at your cost",
    }
    assert "An estimate, subject to inspection" in parse(response).select_one("#estimate").text

    # ... computed as the resolution computes it: inspected with every unit accepted, the
    # refund is the estimate, and the shipping payer is the one shown
    submitted = ReturnRequest.unscoped.get(pk=draft.pk)
    with tenant_context(world_a.tenant):
        resolved = advance(submitted, ReturnStatus.RESOLVED, agent=world_a.agent)
    assert resolved.refund_total == Decimal("240.00")
    assert resolved.restocking_fee == Decimal("20.00")
    assert resolved.shipping_paid_by == "customer"


def test_review_of_a_credit_note_and_free_shipping(world_a, delivered_order, login):
    client = login(world_a.customer)
    line1, _line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    client.post(
        url("return_wizard_lines", draft),
        lines_post([{"order_line": line1.pk, "quantity": 1, "reason": "defective"}]),
    )
    client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": "credit_note", "return_method": "drop_off"},
    )

    response = client.get(url("return_wizard_review", draft))

    estimate = definitions(response, "#estimate dl")
    assert estimate["Expected credit note"] == "100.00 PLN"
    assert estimate["Restocking fee"] == "none"
    assert estimate["Return shipping"] == "Paid by us: free for you"


def test_review_of_a_replacement_pays_no_money(world_a, delivered_order, login):
    client = login(world_a.customer)

    _draft, response = _review_of_two_lines(
        client, world_a, delivered_order, resolution="replacement"
    )

    rows = table_rows(response, "table.review-lines")
    assert "Restocking fee" not in rows[0]
    estimate = definitions(response, "#estimate dl")
    assert estimate["Money back"].startswith("None: you asked for a replacement")


# --- 3. drafts: their place, their number, the empty ones -----------------------------------


def test_a_draft_continues_at_the_step_left_with_its_orders_on_another_device(
    world_a, delivered_order, login, make_order_line
):
    # given: two orders chosen on one device, then the customer leaves on step 2
    second = make_order_line(world_a.company).order
    client = login(world_a.customer)
    client.post(reverse("portal:return_new"), {"orders": [delivered_order.pk, second.pk]})
    draft = ReturnRequest.unscoped.get(requester=world_a.customer)
    assert client.get(url("return_wizard_lines", draft)).status_code == 200

    # when: they come back in a new session
    other_device = Client()
    other_device.force_login(world_a.customer)
    detail = other_device.get(reverse("portal:return_detail", args=[draft.pk]))
    resume = parse(detail).select_one(".head-actions a.button")["href"]

    # then: step 2, with the lines of both orders chosen
    assert resume == url("return_wizard_lines", draft)
    rows = other_device.get(resume).context["rows"]
    assert {row.order_line.order_id for row in rows} == {delivered_order.pk, second.pk}
    # ... and step 1 shows both orders chosen
    page = other_device.get(url("return_wizard_orders", draft))
    assert {order.pk for order in page.context["selected"]} == {delivered_order.pk, second.pk}


def test_a_draft_continues_at_the_last_step_opened(world_a, delivered_order, login):
    client = login(world_a.customer)
    line1, _line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    client.post(
        url("return_wizard_lines", draft),
        lines_post([{"order_line": line1.pk, "quantity": 1, "reason": "defective"}]),
    )
    client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": "refund", "return_method": "drop_off"},
    )

    def continue_link() -> str:
        rows = Client()
        rows.force_login(world_a.customer)
        listed = rows.get(reverse("portal:return_list"))
        return parse(listed).select_one("table.returns a.button")["href"]

    client.get(url("return_wizard_review", draft))
    assert continue_link() == url("return_wizard_review", draft)
    client.get(url("return_wizard_orders", draft))  # went back to change the orders
    assert continue_link() == url("return_wizard_orders", draft)
    client.get(url("return_wizard_details", draft))
    assert continue_link() == url("return_wizard_details", draft)


def test_a_draft_filed_elsewhere_continues_at_the_first_step_that_needs_something(
    world_a, delivered_order, login
):
    line1, _line2 = order_lines(delivered_order)
    draft = _draft_through_services(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "defective"}],
    )
    assert draft.wizard_step == 0
    page = login(world_a.customer).get(reverse("portal:return_detail", args=[draft.pk]))
    assert parse(page).select_one(".head-actions a.button")["href"] == url(
        "return_wizard_review", draft
    )


def test_a_draft_has_no_number_until_it_is_submitted(world_a, delivered_order, login):
    # given: a draft started and cancelled, another started
    client = login(world_a.customer)
    given_up = start_draft(client, delivered_order)
    assert given_up.number == ""
    client.post(reverse("portal:return_cancel", args=[given_up.pk]))
    given_up.refresh_from_db()
    assert given_up.status == ReturnStatus.CANCELLED
    line1, _line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    client.post(
        url("return_wizard_lines", draft),
        lines_post([{"order_line": line1.pk, "quantity": 1, "reason": "defective"}]),
    )
    client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": "refund", "return_method": "drop_off"},
    )

    # then: named as a draft, in the wizard and the list
    started = timezone.localdate(draft.created_at)
    name = f"Draft of {started.day} {started:%b %Y}"
    assert ReturnRequest.unscoped.get(pk=draft.pk).reference == name
    review = parse(client.get(url("return_wizard_review", draft)))
    assert review.select_one("h1").text == "New return"
    assert name in review.select_one("p.draft-name").text
    listed = table_rows(client.get(reverse("portal:return_list")), "table.returns")
    assert listed[1][0] == name
    assert not TenantSequence.unscoped.filter(tenant=world_a.tenant, last_value__gt=0).exists()

    # when
    response = client.post(url("return_wizard_review", draft))

    # then: the first number of the year, nothing consumed by the cancelled draft
    draft.refresh_from_db()
    assert re.fullmatch(r"RMA-\d{4}-000001", draft.number)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert f"Return {draft.number} was submitted." in parse(page).text
    given_up.refresh_from_db()
    assert given_up.number == ""


def test_a_return_taken_back_keeps_its_number(world_a, delivered_order, file_return):
    line1, _line2 = order_lines(delivered_order)
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "defective"}],
    )
    number = rma.number
    with tenant_context(world_a.tenant):
        services.return_request_reopen(return_request=rma, actor=world_a.customer)
        again = services.return_request_submit(
            return_request=ReturnRequest.objects.get(pk=rma.pk), actor=world_a.customer
        )
    assert again.number == number
    assert TenantSequence.unscoped.get(tenant=world_a.tenant).last_value == 1


def test_drafts_without_number_never_clash_but_numbers_stay_unique(world_a, world_b):
    with tenant_context(world_a.tenant):
        first, second = (
            services.return_draft_create(
                customer_account=world_a.company, requester=world_a.customer
            )
            for _ in range(2)
        )
    assert first.number == second.number == ""
    ReturnRequest.unscoped.filter(pk=first.pk).update(number="RMA-2026-000007")
    with tenant_context(world_b.tenant):
        elsewhere = services.return_draft_create(
            customer_account=world_b.company, requester=world_b.customer
        )
    ReturnRequest.unscoped.filter(pk=elsewhere.pk).update(number="RMA-2026-000007")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnRequest.unscoped.filter(pk=second.pk).update(number="RMA-2026-000007")


def test_the_list_leaves_out_empty_drafts_and_new_return_offers_them(
    world_a, delivered_order, login
):
    # given: an empty draft with its orders chosen, and one with lines
    client = login(world_a.customer)
    empty = start_draft(client, delivered_order)
    line1, _line2 = order_lines(delivered_order)
    with_lines = start_draft(client, delivered_order)
    client.post(
        url("return_wizard_lines", with_lines),
        lines_post([{"order_line": line1.pk, "quantity": 1, "reason": "defective"}]),
    )

    # then: the list shows the one with lines only
    response = client.get(reverse("portal:return_list"))
    assert [rma.pk for rma in response.context["returns"]] == [with_lines.pk]
    # ... and "New return" offers to continue the empty one, where it was left
    new = parse(client.get(reverse("portal:return_new")))
    offered = new.select("section.unfinished li")
    assert len(offered) == 1
    assert offered[0].select_one("a")["href"] == url("return_wizard_lines", empty)
    assert delivered_order.number in offered[0].text


@pytest.mark.parametrize("owner", ["other_tenant", "other_company", "colleague"])
def test_new_return_offers_only_the_users_own_empty_drafts(
    world_a, world_b, login, owner, make_order_line
):
    if owner == "other_tenant":
        user, company = world_b.customer, world_b.company
    elif owner == "other_company":
        user, company = world_a.other_company_user, world_a.other_company
    else:
        user, company = world_a.colleague, world_a.company
    order = make_order_line(company).order
    with tenant_context(company.tenant):
        foreign = services.return_draft_create(
            customer_account=company, requester=user, order_ids=[order.pk]
        )

    page = parse(login(world_a.customer).get(reverse("portal:return_new")))

    assert page.select("section.unfinished") == []
    assert url("return_wizard_lines", foreign) not in str(page.node)


def test_the_list_reads_a_constant_number_of_queries(world_a, login, make_order_line):
    client = login(world_a.customer)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("portal:return_list")).status_code == 200
        return len(queries)

    line = make_order_line(world_a.company, quantity=50)
    for _ in range(2):
        _draft_through_services(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        )
        with tenant_context(world_a.tenant):
            services.return_draft_create(
                customer_account=world_a.company,
                requester=world_a.customer,
                order_ids=[line.order_id],
            )
    few = count()
    for _ in range(4):
        _draft_through_services(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        )
        with tenant_context(world_a.tenant):
            services.return_draft_create(
                customer_account=world_a.company,
                requester=world_a.customer,
                order_ids=[line.order_id],
            )
    assert count() == few


def test_empty_drafts_are_removed_after_a_day(world_a, world_b, delivered_order, file_return):
    # given
    now = timezone.now()
    line1, _line2 = order_lines(delivered_order)

    def draft(company=world_a.company, user=world_a.customer, *, idle_days: float):
        with tenant_context(company.tenant):
            rma = services.return_draft_create(customer_account=company, requester=user)
        ReturnRequest.unscoped.filter(pk=rma.pk).update(
            updated_at=now - datetime.timedelta(days=idle_days)
        )
        return rma

    old_empty = draft(idle_days=1.5)
    fresh_empty = draft(idle_days=0.5)
    old_with_lines = _draft_through_services(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "defective"}],
    )
    ReturnRequest.unscoped.filter(pk=old_with_lines.pk).update(
        updated_at=now - datetime.timedelta(days=5)
    )
    linked = draft(idle_days=3)  # a complaint links to it
    complaint = complaint_file(world_a.customer, world_a.company)
    Complaint.unscoped.filter(pk=complaint.pk).update(return_request=linked)
    other_tenant_old = draft(world_b.company, world_b.customer, idle_days=3)

    # when
    with tenant_context(world_a.tenant):
        deleted = returns_delete_empty_drafts(tenant=world_a.tenant, now=now)

    # then
    assert deleted == 1
    remaining = set(ReturnRequest.unscoped.values_list("pk", flat=True))
    assert old_empty.pk not in remaining
    assert {fresh_empty.pk, old_with_lines.pk, linked.pk, other_tenant_old.pk} <= remaining
    assert not ReturnEvent.unscoped.filter(return_request_id=old_empty.pk).exists()
    # the beat task runs it for every active tenant
    assert delete_empty_drafts_task() == 1
    assert not ReturnRequest.unscoped.filter(pk=other_tenant_old.pk).exists()


def test_a_draft_removed_meanwhile_gives_a_clear_error(world_a, delivered_order):
    line1, _line2 = order_lines(delivered_order)
    with tenant_context(world_a.tenant):
        draft = services.return_draft_create(
            customer_account=world_a.company, requester=world_a.customer
        )
        ReturnRequest.objects.filter(pk=draft.pk).delete()
        with pytest.raises(services.ReturnConflict) as conflict:
            services.return_draft_set_lines(
                return_request=draft,
                actor=world_a.customer,
                lines=[services.LineInput(order_line_id=line1.pk, quantity=1, reason="defective")],
            )
    assert "This draft no longer exists" in conflict.value.message
    assert not ReturnLine.unscoped.exists()


def test_choosing_another_companys_order_is_refused(world_a, delivered_order, make_order_line):
    foreign = make_order_line(world_a.other_company).order
    with tenant_context(world_a.tenant):
        draft = services.return_draft_create(
            customer_account=world_a.company,
            requester=world_a.customer,
            order_ids=[delivered_order.pk],
        )
        with pytest.raises(services.ReturnInvalid) as refused:
            services.return_draft_choose_orders(
                return_request=draft, actor=world_a.customer, order_ids=[foreign.pk]
            )
    assert refused.value.fields == {"orders": ["Choose delivered orders of your company."]}
    draft.refresh_from_db()
    assert draft.wizard_order_ids == [delivered_order.pk]


def test_a_draft_in_the_api_has_no_number(world_a, delivered_order):
    from rest_framework.test import APIClient

    line1, _line2 = order_lines(delivered_order)
    draft = _draft_through_services(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "defective"}],
    )
    client = APIClient()
    client.force_authenticate(world_a.agent)
    body = client.get(f"/api/v1/returns/{draft.pk}/").json()
    assert body["number"] is None
    listed = client.get("/api/v1/returns/").json()
    assert [row["number"] for row in listed["results"]] == [None]


def test_a_cancelled_draft_publishes_no_number(world_a, delivered_order):
    from returns.notifications import return_data

    with tenant_context(world_a.tenant):
        draft = services.return_draft_create(
            customer_account=world_a.company, requester=world_a.customer
        )
        cancelled = services.return_request_cancel(return_request=draft, actor=world_a.customer)
        assert return_data(cancelled)["number"] is None
    assert cancelled.reference.startswith("Draft of ")


# --- 4. where the return stands -------------------------------------------------------------


def _stages(response) -> list[tuple[str, str]]:
    return [
        (
            item.select_one(".stage-label").text,
            next(c for c in item.classes if c.startswith("stage-")).removeprefix("stage-"),
        )
        for item in parse(response).select("ol.progress li")
    ]


def _returned(world_a, delivered_order, status):
    line1, _line2 = order_lines(delivered_order)
    rma = _draft_through_services(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "defective"}],
    )
    return advance(rma, status, agent=world_a.agent)


@pytest.mark.parametrize(
    ("status", "stages", "next_words", "label_button"),
    [
        (
            ReturnStatus.SUBMITTED,
            ["done", "current", "upcoming", "upcoming", "upcoming"],
            "approves or rejects it",
            None,
        ),
        (
            ReturnStatus.NEEDS_INFO,
            ["done", "held", "upcoming", "upcoming", "upcoming"],
            "needs more information",
            None,
        ),
        (
            ReturnStatus.REJECTED,
            ["done", "stopped", "not_reached", "not_reached", "not_reached"],
            "was rejected",
            None,
        ),
        (
            ReturnStatus.CANCELLED,
            ["done", "stopped", "not_reached", "not_reached", "not_reached"],
            "was cancelled",
            None,
        ),
        (
            ReturnStatus.APPROVED,
            ["done", "done", "current", "upcoming", "upcoming"],
            "We wait for the goods",
            "button",
        ),
        (
            ReturnStatus.EXPIRED,
            ["done", "done", "stopped", "not_reached", "not_reached"],
            "expired",
            None,
        ),
        (
            ReturnStatus.RECEIVED,
            ["done", "done", "done", "current", "upcoming"],
            "we inspect them",
            "button secondary",
        ),
        (
            ReturnStatus.INSPECTED,
            ["done", "done", "done", "done", "current"],
            "we settle the return",
            "button secondary",
        ),
        (
            ReturnStatus.RESOLVED,
            ["done", "done", "done", "done", "done"],
            "is settled",
            "button secondary",
        ),
        (
            ReturnStatus.CLOSED,
            ["done", "done", "done", "done", "done"],
            "is closed",
            "button secondary",
        ),
    ],
)
def test_a_returns_page_says_where_it_stands_and_what_comes_next(
    world_a, delivered_order, login, settings, tmp_path, status, stages, next_words, label_button
):
    settings.MEDIA_ROOT = tmp_path
    rma = _returned(world_a, delivered_order, status)

    response = login(world_a.customer).get(reverse("portal:return_detail", args=[rma.pk]))

    assert response.status_code == 200
    assert [state for _label, state in _stages(response)] == stages
    facts = definitions(response, "#progress dl")
    assert next_words in facts["What happens next"]
    page = parse(response)
    labels = page.select(".head-actions a[href$='/label/']")
    if label_button is None:
        assert labels == []
    else:
        assert [" ".join(label.classes) for label in labels] == [label_button]
    if status == ReturnStatus.APPROVED:
        assert "put the return label on the parcel" in facts["What you need to do"]
    if status == ReturnStatus.NEEDS_INFO:
        assert page.select_one(".head-actions a.button")["href"] == "#question"
        assert facts["What you need to do"] == "Answer the question below."
    if status == ReturnStatus.CLOSED:
        assert _stages(response)[-1][0] == "Closed"
    if status == ReturnStatus.RESOLVED:
        assert _stages(response)[-1][0] == "Resolved"


def test_a_drafts_page_names_it_a_draft_and_offers_to_continue(world_a, delivered_order, login):
    rma = _returned(world_a, delivered_order, ReturnStatus.DRAFT)

    response = login(world_a.customer).get(reverse("portal:return_detail", args=[rma.pk]))

    page = parse(response)
    assert page.select_one("h1").text.startswith("Draft of ")
    assert [state for _label, state in _stages(response)] == [
        "current",
        "upcoming",
        "upcoming",
        "upcoming",
        "upcoming",
    ]
    assert definitions(response, "#progress dl")["What you need to do"] == (
        "Continue the draft and submit it."
    )

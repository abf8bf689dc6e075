"""An order's page in the portal lists the returns and complaints about it that the user may
see: their company's only, a customer user's own, a customer admin's company's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import Complaint
from customers.models import OrderLine
from returns.models import ReturnLine
from rma_portal.tenancy.context import tenant_context
from tests.html import parse, table_rows
from tests.returns import conftest as returns_fixtures

pytestmark = pytest.mark.django_db

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return


def page_of(order) -> str:
    return reverse("portal:order_detail", args=[order.pk])


def lines_of(order) -> list[OrderLine]:
    return list(OrderLine.unscoped.filter(order=order).order_by("line_number"))


def complaint_about(user, company, order=None, **kwargs) -> Complaint:
    with tenant_context(company.tenant):
        return complaint_services.complaint_file(
            customer_account=company,
            reporter=user,
            category="product_quality",
            priority="normal",
            subject="Cracked housings",
            description="Three housings arrived cracked.",
            order_id=order.pk if order else None,
            **kwargs,
        )


def listed(response) -> list[list[str]]:
    """The cases' table without its head row."""
    return table_rows(response, "section.order-cases table")[1:]


def test_the_order_page_lists_its_returns_and_complaints_with_status_and_link(
    world_a, login, delivered_order, file_return, make_order
):
    # given: a complaint and a return about the order, by two users of the company
    complaint = complaint_about(world_a.customer, world_a.company, delivered_order)
    line = lines_of(delivered_order)[0]
    rma = file_return(
        world_a.colleague,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    # and cases about another order of the company
    other = make_order(world_a.company)
    complaint_about(world_a.customer, world_a.company, other)
    complaint_about(world_a.customer, world_a.company)  # about no order

    # when: the company's admin opens the order
    response = login(world_a.customer_admin).get(page_of(delivered_order))

    # then: both, newest first, with their numbers, kinds, statuses and links
    assert response.status_code == 200
    complaint.refresh_from_db()
    rows = listed(response)
    assert [row[:3] for row in rows] == [
        [rma.number, "Return", "Submitted"],
        [complaint.code, "Complaint", complaint.get_status_display()],
    ]
    assert all(row[3] for row in rows)  # the day each was filed
    links = [a["href"] for a in parse(response).select("section.order-cases tbody a")]
    assert links == [
        reverse("portal:return_detail", args=[rma.pk]),
        reverse("portal:complaint_detail", args=[complaint.pk]),
    ]
    assert parse(response).select("section.order-cases .hint") == []
    # each link opens the case for the admin
    client = login(world_a.customer_admin)
    for link in links:
        assert client.get(link).status_code == 200


def test_a_customer_user_sees_only_the_cases_they_filed(
    world_a, login, delivered_order, file_return
):
    own = complaint_about(world_a.customer, world_a.company, delivered_order)
    colleagues = complaint_about(world_a.colleague, world_a.company, delivered_order)
    line = lines_of(delivered_order)[1]
    colleagues_return = file_return(
        world_a.colleague,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 2, "reason": "defective"}],
    )

    response = login(world_a.customer).get(page_of(delivered_order))

    assert [row[0] for row in listed(response)] == [own.code]
    page = parse(response)
    assert colleagues.code not in page.text
    assert colleagues_return.number not in page.text
    assert page.select_one("section.order-cases .hint").text == (
        "Listed are the cases you filed; your company's administrators see those of your "
        "colleagues too."
    )


def test_another_companys_cases_are_never_listed(
    world_a, world_b, login, delivered_order, file_return, make_order
):
    """Cases of another company of the tenant, made to point at this order by a fault in the
    data, and cases of another tenant are left out."""
    neighbour_order = make_order(
        world_a.other_company,
        order_date=delivered_order.order_date,
        delivery_date=delivered_order.delivery_date,
    )
    neighbour_complaint = complaint_about(
        world_a.other_company_user, world_a.other_company, neighbour_order
    )
    Complaint.unscoped.filter(pk=neighbour_complaint.pk).update(order=delivered_order)
    neighbour_line = lines_of(neighbour_order)[0]
    neighbour_return = file_return(
        world_a.other_company_user,
        world_a.other_company,
        [{"order_line_id": neighbour_line.pk, "quantity": 1, "reason": "defective"}],
    )  # submitted: a draft has no number to look for
    ReturnLine.unscoped.filter(return_request=neighbour_return).update(
        order_line=lines_of(delivered_order)[0]
    )
    foreign = complaint_about(world_b.customer, world_b.company, make_order(world_b.company))

    response = login(world_a.customer_admin).get(page_of(delivered_order))

    assert listed(response) == []
    text = parse(response).text
    for number in (neighbour_complaint.code, neighbour_return.number, foreign.code):
        assert number and number not in text
    assert "No returns or complaints about this order yet." in text


@pytest.mark.parametrize("owner", ["other_company", "other_tenant"])
def test_another_companys_order_page_answers_404_without_its_cases(
    world_a, world_b, login, make_order, owner
):
    company, user = (
        (world_a.other_company, world_a.other_company_user)
        if owner == "other_company"
        else (world_b.company, world_b.customer)
    )
    order = make_order(company)
    complaint = complaint_about(user, company, order)
    response = login(world_a.customer_admin).get(page_of(order))
    assert response.status_code == 404
    assert complaint.code not in response.content.decode()


def test_an_order_without_cases_says_so(world_a, login, delivered_order):
    response = login(world_a.customer_admin).get(page_of(delivered_order))
    assert listed(response) == []
    assert parse(response).select_one("section.order-cases .empty").text == (
        "No returns or complaints about this order yet."
    )


def test_the_order_page_query_count_does_not_grow_with_its_cases(
    world_a, login, delivered_order, file_return
):
    client = login(world_a.customer_admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page_of(delivered_order)).status_code == 200
        return len(captured)

    complaint_about(world_a.customer, world_a.company, delivered_order)
    line = lines_of(delivered_order)[1]
    file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    few = queries()
    for _ in range(3):
        complaint_about(world_a.colleague, world_a.company, delivered_order)
        file_return(
            world_a.colleague,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        )
    many = queries()
    assert len(listed(client.get(page_of(delivered_order)))) == 8
    assert many == few


@pytest.mark.parametrize("order_id", ["0", "99999999999999999999999999", "9223372036854775808"])
def test_an_out_of_range_order_id_answers_404(world_a, login, order_id):
    response = login(world_a.customer).get(f"/portal/orders/{order_id}/")
    assert response.status_code == 404

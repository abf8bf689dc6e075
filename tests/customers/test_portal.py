"""Customer portal: a customer sees their own company's orders, nothing else."""

import pytest
from django.urls import reverse

from customers.models import OrderLine
from tests.factories import OrderFactory, OrderLineFactory
from tests.html import parse

pytestmark = pytest.mark.django_db


def test_home_shows_company_and_its_orders_with_lines(world_a, world_b, login, make_order):
    # given
    own = make_order(world_a.company, lines=2)
    foreign_same_tenant = make_order(world_a.other_company)
    foreign_tenant = make_order(world_b.company)
    client = login(world_a.customer)

    # when
    response = client.get(reverse("portal:home"))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert world_a.company.name in html
    assert own.number in html
    for line in OrderLine.unscoped.filter(order=own).select_related("product"):
        assert line.product.sku in html
    assert foreign_same_tenant.number not in html
    assert foreign_tenant.number not in html


def test_order_detail_of_own_company(world_a, login, make_order):
    order = make_order(world_a.company, lines=3)
    response = login(world_a.customer).get(reverse("portal:order_detail", args=[order.pk]))
    assert response.status_code == 200
    assert order.number in response.content.decode()
    assert response.context["order"].units == 15


@pytest.mark.parametrize("owner", ["other_company", "other_tenant"])
def test_foreign_order_answers_404(world_a, world_b, login, make_order, owner):
    company = world_a.other_company if owner == "other_company" else world_b.company
    order = make_order(company)
    client = login(world_a.customer_admin)
    response = client.get(reverse("portal:order_detail", args=[order.pk]))
    assert response.status_code == 404
    assert order.number not in response.content.decode()


def test_orders_are_paginated(world_a, login):
    for _ in range(23):
        OrderFactory(tenant=world_a.tenant, customer_account=world_a.company)
    client = login(world_a.customer)
    first = client.get(reverse("portal:home"))
    third = client.get(reverse("portal:home"), {"page": 3})
    assert len(first.context["orders"]) == 10
    assert len(third.context["orders"]) == 3
    assert client.get(reverse("portal:home"), {"page": "junk"}).status_code == 200


def test_home_query_count_does_not_grow_with_orders(world_a, login, django_assert_max_num_queries):
    client = login(world_a.customer)

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("portal:home")).status_code == 200
        return len(ctx.captured_queries)

    order = OrderFactory(tenant=world_a.tenant, customer_account=world_a.company)
    OrderLineFactory(tenant=world_a.tenant, order=order)
    few = count_queries()
    for _ in range(12):
        order = OrderFactory(tenant=world_a.tenant, customer_account=world_a.company)
        for number in range(1, 4):
            OrderLineFactory(tenant=world_a.tenant, order=order, line_number=number)
    many = count_queries()
    assert many == few
    with django_assert_max_num_queries(10):
        client.get(reverse("portal:home"))


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_staff_cannot_use_the_portal(world_a, login):
    response = login(world_a.agent).get(reverse("portal:home"))
    assert response.status_code == 403


def test_portal_is_branded_with_the_tenant(world_a, login):
    world_a.tenant.brand_colour = "#aa3300"
    world_a.tenant.save()
    html = login(world_a.customer).get(reverse("portal:home")).content.decode()
    assert "--brand: #aa3300" in html
    doc = parse(html)
    assert doc.select_one("header a.brand").text == world_a.tenant.name
    assert doc.select_one("title").text.endswith(f" · {world_a.tenant.name}")


def test_deactivated_company_users_cannot_sign_in(world_a, client):
    world_a.company.is_active = False
    world_a.company.save()
    response = client.post(
        reverse("accounts:login"),
        {"username": world_a.customer.email, "password": "Secret-pass-123"},
    )
    assert response.status_code == 200
    assert "correct e-mail address and password" in response.content.decode()


def test_deactivating_company_ends_open_sessions(world_a, login):
    client = login(world_a.customer)
    world_a.company.is_active = False
    world_a.company.save()
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302

"""A customer and an agent in a real browser: sign in, see their own data, switch language."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_signs_in_sees_company_orders_and_switches_to_polish(
    page, sign_in, world_a, world_b, make_order
):
    own = make_order(world_a.company)
    foreign = make_order(world_b.company)

    sign_in(page, world_a.customer)

    assert page.url.endswith("/portal/")
    body = page.inner_text("main")
    assert world_a.company.name in body
    assert own.number in body
    assert foreign.number not in body
    with page.expect_navigation():
        page.click("button[name=language][value=pl]")
    assert "Ostatnie zamówienia" in page.inner_text("main")
    page.click(f"text={own.number}")
    page.wait_for_url(f"**/portal/orders/{own.pk}/")


def test_agent_sees_only_own_tenant_in_backoffice(page, sign_in, world_a, world_b):
    sign_in(page, world_a.agent)
    page.goto(f"{page.base_url}/backoffice/customers/customeraccount/")
    table = page.inner_text("#result_list")
    assert world_a.company.name in table
    assert world_b.company.name not in table

"""The portal's order search and the complaint form's order picker in headless Chromium, on a
desktop (1366 × 900) and a phone (390 × 844): searching the orders and paging through what
was found, an order's returns and complaints, and picking an order by typing part of its
number; every page fits the screen and has no serious or critical axe-core finding."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import Complaint
from customers.models import OrderLine
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.browser.test_staff_pages_fit import LONG_COMPANY, LONG_PERSON, _check
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.returns import conftest as returns_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
file_return = returns_fixtures.file_return

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)
LONG_PRODUCT = (
    "Pompa wirowa jednostopniowa z wirnikiem ze stali nierdzewnej i uszczelnieniem "
    "mechanicznym do instalacji przemysłowych"
)


@pytest.fixture
def orders(world_a, policy_a):
    """World A's company (a long name) with 25 orders delivered in the last weeks: 12 with a
    pump (a long name), the others with a valve; serial and lot numbers on the pump lines."""
    world_a.company.name = LONG_COMPANY
    world_a.company.save(update_fields=["name"])
    world_a.customer.full_name = LONG_PERSON
    world_a.customer.save(update_fields=["full_name"])
    tenant = world_a.tenant
    today = tenant_today(tenant)
    pump = ProductFactory(tenant=tenant, sku="PMP-4410-XL", name=LONG_PRODUCT)
    valve = ProductFactory(tenant=tenant, sku="VLV-0020", name="Zawór kulowy DN50")
    made = []
    for n in range(25):
        with_pump = n % 2 == 0 and n < 24
        order = OrderFactory(
            tenant=tenant,
            customer_account=world_a.company,
            number=f"ZS/2026/{1000 + n:06d}",
            order_date=today - datetime.timedelta(days=28 - n),
            delivery_date=today - datetime.timedelta(days=26 - n),
            invoice_number=f"FV/2026/{5000 + n:06d}",
        )
        OrderLineFactory(
            tenant=tenant,
            order=order,
            line_number=1,
            product=pump if with_pump else valve,
            quantity=2,
            unit_price=Decimal("450.00"),
            lot_number=f"LOT-{n:04d}" if with_pump else "",
            serial_numbers=[f"SN-{n:04d}-A", f"SN-{n:04d}-B"] if with_pump else [],
        )
        OrderLineFactory(
            tenant=tenant,
            order=order,
            line_number=2,
            product=valve,
            quantity=5,
            unit_price=Decimal("80.00"),
        )
        made.append(order)
    return made


def _fits(page, problems: list[str]) -> None:
    _check(page, page.url, problems)


@SCREENS
def test_a_customer_searches_the_orders_and_sees_an_orders_cases(
    page, sign_in, world_a, orders, file_return, viewport
):
    problems: list[str] = []
    newest_pump = orders[22]
    # a complaint and a return about it
    with tenant_context(world_a.tenant):
        complaint = complaint_services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="product_quality",
            priority="normal",
            subject="Pump leaks at the housing",
            description="The housing leaks after an hour.",
            order_id=newest_pump.pk,
        )
    line = OrderLine.unscoped.get(order=newest_pump, line_number=2)
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )

    sign_in(page, world_a.customer)
    assert page.url.endswith("/portal/")
    _fits(page, problems)

    # a search by product name finds the 12 orders with the pump, 10 a page
    page.get_by_label("Search orders").fill("POMPA wirowa")
    with page.expect_navigation():
        page.get_by_label("Search orders").press("Enter")
    assert page.inner_text(".search-summary") == "12 orders match “POMPA wirowa”."
    assert page.locator("article.order").count() == 10
    assert page.locator("article.order h3").first.inner_text() == newest_pump.number
    _fits(page, problems)

    # the search is kept on the next page
    with page.expect_navigation():
        page.click("nav.pager a[rel=next]")
    assert page.get_by_label("Search orders").input_value() == "POMPA wirowa"
    assert page.locator("article.order").count() == 2
    assert page.locator("article.order h3").all_inner_texts() == [
        orders[2].number,
        orders[0].number,
    ]
    _fits(page, problems)

    # a serial number finds its order; nothing found says so
    page.get_by_label("Search orders").fill("sn-0004-b")
    with page.expect_navigation():
        page.get_by_label("Search orders").press("Enter")
    assert page.locator("article.order h3").all_inner_texts() == [orders[4].number]
    page.get_by_label("Search orders").fill("no such order")
    with page.expect_navigation():
        page.get_by_label("Search orders").press("Enter")
    assert page.locator("article.order").count() == 0
    assert "No order of your company matches “no such order”." in page.inner_text(".no-match")
    _fits(page, problems)

    # an order's page lists its return and complaint
    page.get_by_label("Search orders").fill(newest_pump.number)
    with page.expect_navigation():
        page.get_by_label("Search orders").press("Enter")
    with page.expect_navigation():
        page.click(f"article.order h3 a:text-is('{newest_pump.number}')")
    cases = page.locator("section.order-cases tbody tr")
    assert cases.count() == 2
    assert cases.nth(0).locator("td").first.inner_text() == rma.number
    assert cases.nth(1).locator("td").first.inner_text() == complaint.code
    _fits(page, problems)
    with page.expect_navigation():
        cases.nth(1).locator("a").click()
    assert page.url.endswith(reverse("portal:complaint_detail", args=[complaint.pk]))

    assert problems == [], "\n".join(problems)


@SCREENS
def test_a_customer_picks_an_order_by_typing_in_the_complaint_form(
    page, sign_in, world_a, orders, viewport, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    problems: list[str] = []
    wanted = orders[7]  # ZS/2026/001007
    sign_in(page, world_a.customer)
    page.goto(page.base_url + reverse("portal:complaint_new"))

    field = page.get_by_role("combobox", name="Order number")
    assert field.get_attribute("aria-expanded") == "false"
    assert not page.locator("button[name=show_lines]").is_visible()  # the script loads lines
    _fits(page, problems)

    # typing part of the number lists the orders that have it
    field.press_sequentially("1007")
    options = page.get_by_role("listbox", name="Orders found").get_by_role("option")
    options.first.wait_for()
    assert options.count() == 1
    assert options.first.inner_text().startswith(wanted.number)
    assert field.get_attribute("aria-expanded") == "true"
    assert "Orders found: 1." in page.inner_text(".picker-status")
    _fits(page, problems)

    # more of the orders for a shorter text; choosing by keyboard or by a tap
    field.fill("")
    field.press_sequentially("10")  # in all 25 numbers
    page.wait_for_function(
        "() => document.querySelector('.picker-status').textContent.includes('More orders')"
    )
    assert options.count() == 10
    field.fill("")
    field.press_sequentially("1007")
    page.wait_for_function(
        "() => document.querySelectorAll('[role=option]').length === 1"
        " && document.querySelector('[role=option]').textContent.startsWith('ZS/2026/001007')"
    )
    if viewport["width"] >= 1024:
        field.press("ArrowDown")
        assert options.first.get_attribute("aria-selected") == "true"
        assert field.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
        field.press("Enter")
    else:
        options.first.click()
    assert field.input_value() == wanted.number
    assert field.get_attribute("aria-expanded") == "false"
    assert page.inner_text(".picker-status") == f"Order {wanted.number} chosen."

    # the line field follows the chosen order
    line_select = page.get_by_label("Order line")
    line_select.wait_for()
    valve_line = OrderLine.unscoped.get(order=wanted, line_number=2)
    labels = line_select.locator("option").all_inner_texts()
    assert labels[0] == "The whole order"
    assert len(labels) == 3 and "Zawór kulowy DN50" in labels[2]
    line_select.select_option(str(valve_line.pk))
    _fits(page, problems)

    # the rest of the form, and it is filed for that order and line
    page.get_by_label("What is the complaint about?").select_option("product_quality")
    page.get_by_label("Subject").fill("Valve handle broke off")
    page.get_by_label("Describe the problem").fill("The handle broke off at the first turn.")
    with page.expect_navigation():
        page.click("form.complaint-form .wizard-actions button[type=submit]")
    complaint = Complaint.unscoped.get(reporter=world_a.customer)
    assert (complaint.order_id, complaint.order_line_id) == (wanted.pk, valve_line.pk)
    assert page.url.endswith(reverse("portal:complaint_detail", args=[complaint.pk]))

    assert problems == [], "\n".join(problems)


def test_typing_another_number_after_a_pick_drops_the_lines(page, sign_in, world_a, orders):
    """The line field follows the field: a number of no order of the company leaves the hint,
    and Escape closes the list without choosing."""
    sign_in(page, world_a.customer)
    page.goto(page.base_url + reverse("portal:complaint_new"))
    field = page.get_by_role("combobox", name="Order number")
    options = page.get_by_role("listbox", name="Orders found").get_by_role("option")
    field.press_sequentially("1003")
    options.first.wait_for()
    field.press("Enter")  # the only one found
    page.get_by_label("Order line").wait_for()

    field.fill("ZS/NO/SUCH")
    page.locator("[role=option]").first.wait_for(state="detached")
    field.press("Escape")
    assert field.get_attribute("aria-expanded") == "false"
    page.get_by_label("Subject").click()  # leaving the field: the lines follow it
    page.wait_for_function("() => !document.querySelector('#order-line-field select')")
    assert "choose its order first" in page.inner_text("#order-line-field")

"""The wizard shows and enforces what the ERP reported delivered: step 1 offers orders of which
only some lines were delivered, step 2 shows the delivered quantity and lets the browser accept
no more than can still be returned. The back-office refuses return windows beyond ten years."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from customers.models import Order, OrderLine
from returns.models import ReturnPolicy
from returns.selectors import tenant_today
from tests.html import parse
from tests.returns.test_portal_wizard import start_draft

pytestmark = pytest.mark.django_db


def _deliver(line: OrderLine, *, quantity: int, on: datetime.date | None) -> None:
    OrderLine.unscoped.filter(pk=line.pk).update(delivered_quantity=quantity, delivered_on=on)


def test_step_two_shows_the_delivered_quantity_and_caps_the_input(
    world_a, policy_a, make_order_line, login
):
    line = make_order_line(world_a.company, quantity=10)
    _deliver(line, quantity=4, on=None)
    client = login(world_a.customer)
    draft = start_draft(client, line.order)

    page = parse(client.get(reverse("portal:return_wizard_lines", args=[draft.pk])))

    facts = {
        pair.select_one("dt").text: pair.select_one("dd").text
        for pair in page.select(".return-line dl.facts > div")
    }
    assert facts["Delivered"] == "4"
    assert facts["Still returnable"] == "4"
    assert page.select_one("input[name='lines-0-quantity']")["max"] == "4"


def test_step_one_offers_an_order_with_only_some_lines_delivered(
    world_a, policy_a, make_order_line, login
):
    line = make_order_line(world_a.company, quantity=10)
    Order.unscoped.filter(pk=line.order_id).update(delivery_date=None)
    _deliver(line, quantity=3, on=tenant_today(world_a.tenant) - datetime.timedelta(days=2))
    client = login(world_a.customer)

    offered = parse(client.get(reverse("portal:return_new")))

    values = {box["value"] for box in offered.select("input[name='orders']")}
    assert str(line.order_id) in values
    draft = start_draft(client, line.order)
    page = client.get(reverse("portal:return_wizard_lines", args=[draft.pk]))
    assert page.context["rows"][0].returnable == 3


def test_step_one_leaves_out_orders_with_nothing_delivered(
    world_a, policy_a, make_order_line, login
):
    line = make_order_line(world_a.company, quantity=10)
    Order.unscoped.filter(pk=line.order_id).update(delivery_date=None)
    client = login(world_a.customer)

    offered = parse(client.get(reverse("portal:return_new")))

    assert str(line.order_id) not in {b["value"] for b in offered.select("input[name='orders']")}


def test_the_back_office_refuses_a_window_beyond_ten_years(world_a, policy_a, login):
    client = login(world_a.tenant_admin)
    url = reverse("admin:returns_returnpolicy_change", args=[policy_a.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, bound in ((name, form[name]) for name in form.fields):
        value = bound.value()
        if isinstance(value, list):
            data[name] = [str(item) for item in value]
        elif value is not None and value is not False:
            data[name] = "on" if value is True else str(value)
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{formset.formset.prefix}-{name}"] = management[name].value()
    data["default_window_days"] = "3651"

    answer = client.post(url, data)

    assert answer.status_code == 200
    assert "default_window_days" in answer.context["adminform"].form.errors
    assert ReturnPolicy.unscoped.get(pk=policy_a.pk).default_window_days != 3651

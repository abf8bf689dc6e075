"""The complaint form's order: given by its number, typed (without JavaScript) or picked from
the company's orders as the customer types (static/js/order_picker.js fills in the same field).
The server checks the number: another company's or tenant's order is refused like an unknown
one, nothing is filed, and odd input is a clear error."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from complaints.models import Complaint
from tests.complaints import test_portal as portal_tests
from tests.complaints.test_portal import delivered_order_of, lines_of, new_complaint_post
from tests.html import parse

pytestmark = pytest.mark.django_db

# The portal tests' fixture (a media root of the test's own), shared rather than copied.
media = portal_tests.media

NEW = reverse("portal:complaint_new")


def unknown(number: str) -> str:
    return (
        f"Your company has no order numbered “{number}”. Check the number on your order "
        "confirmation or invoice, or leave the field empty."
    )


def nothing_filed(world) -> bool:
    return not Complaint.unscoped.filter(tenant=world.tenant).exists()


def test_the_form_offers_a_number_field_and_the_pickers_search(world_a, login):
    response = login(world_a.customer).get(NEW)
    doc = parse(response)
    field = doc.select_one("input[name=order_number]")
    assert field["type"] == "text"
    assert field["maxlength"] == "40"
    assert field["autocomplete"] == "off"
    assert doc.select("select[name=order]") == []  # no list of the hundred latest orders
    picker = doc.select_one("[data-order-picker]")
    assert picker["data-search-url"] == reverse("portal:order_search")
    assert picker["data-lines-url"] == NEW
    texts = json.loads(doc.select_one(f"script#{picker['data-order-picker']}").text)
    assert set(texts) == {"list_label", "count", "more", "none", "chosen", "failed"}
    assert "%(count)s" in texts["count"] and "%(number)s" in texts["chosen"]
    scripts = [script.get("src") for script in doc.select("script[src]")]
    assert any(src.endswith("js/order_picker.js") for src in scripts)
    # without the script, the button asks for the order's lines
    assert doc.select_one("button[name=show_lines]") is not None


def test_a_complaint_is_filed_for_the_typed_number_whatever_its_case(world_a, login, media):
    order = delivered_order_of(world_a.company)
    line = lines_of(order)[1]
    typed = f"  {order.number.lower()} "
    response = login(world_a.customer).post(
        NEW, new_complaint_post(order_number=typed, order_line=line.pk)
    )
    assert response.status_code == 302, response.context["form"].errors
    complaint = Complaint.unscoped.get(reporter=world_a.customer)
    assert (complaint.order_id, complaint.order_line_id) == (order.pk, line.pk)


def test_an_older_order_is_reached_by_its_number(world_a, login, media):
    """The picker had the hundred latest orders; any order of the company is reached now."""
    orders = [delivered_order_of(world_a.company, lines=1) for _ in range(3)]
    oldest = orders[0]
    response = login(world_a.customer).post(NEW, new_complaint_post(order_number=oldest.number))
    assert response.status_code == 302
    assert Complaint.unscoped.get().order_id == oldest.pk


@pytest.mark.parametrize("owner", ["unknown", "other_company", "other_tenant"])
def test_a_number_not_of_the_company_is_refused_alike(world_a, world_b, login, media, owner):
    number = {
        "unknown": lambda: "ZS/NO/SUCH",
        "other_company": lambda: delivered_order_of(world_a.other_company).number,
        "other_tenant": lambda: delivered_order_of(world_b.company).number,
    }[owner]()
    response = login(world_a.customer).post(NEW, new_complaint_post(order_number=number))
    assert response.status_code == 200
    assert response.context["form"].errors["order_number"] == [unknown(number)]
    doc = parse(response)
    assert doc.select_one(".order-picker .error").text == unknown(number)
    assert doc.select_one("input[name=order_number]")["value"] == number  # kept to correct
    assert nothing_filed(world_a)
    assert nothing_filed(world_b)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Z" * 41, "An order number has at most 40 characters."),
        ("Z" * 5000, "An order number has at most 40 characters."),
        ("ZS\x00/1", "Null characters are not allowed."),
        ("%", unknown("%")),
        ("ZS/%", unknown("ZS/%")),
        ("' OR '1'='1", unknown("' OR '1'='1")),
        ("🔧", unknown("🔧")),
    ],
)
def test_odd_numbers_are_clear_errors_and_nothing_is_filed(world_a, login, media, typed, message):
    delivered_order_of(world_a.company)  # "ZS/%" must not find it by a pattern
    response = login(world_a.customer).post(NEW, new_complaint_post(order_number=typed))
    assert response.status_code == 200
    assert response.context["form"].errors["order_number"] == [message]
    assert nothing_filed(world_a)


def test_a_line_of_another_order_than_the_typed_one_is_refused(world_a, login, media):
    order = delivered_order_of(world_a.company)
    other_line = lines_of(delivered_order_of(world_a.company))[0]
    response = login(world_a.customer).post(
        NEW, new_complaint_post(order_number=order.number, order_line=other_line.pk)
    )
    assert response.context["form"].errors["order_line"] == ["Choose a line of the chosen order."]
    assert nothing_filed(world_a)


def test_the_lines_of_a_typed_number_without_javascript(world_a, login):
    order = delivered_order_of(world_a.company)
    client = login(world_a.customer)

    shown = client.post(NEW, new_complaint_post(order_number=order.number.lower(), show_lines="1"))
    doc = parse(shown)
    options = [option.text for option in doc.select("select[name=order_line] option")]
    assert options[0] == "The whole order"
    names = [line.product.name for line in lines_of(order)]
    assert [name in text for name, text in zip(names, options[1:], strict=True)] == [True, True]
    assert not shown.context["form"].errors

    missing = client.post(NEW, new_complaint_post(order_number="ZS/NO/SUCH", show_lines="1"))
    doc = parse(missing)
    assert doc.select("select[name=order_line]") == []
    assert doc.select_one(".order-picker .error").text == unknown("ZS/NO/SUCH")
    assert nothing_filed(world_a)


def test_the_pickers_request_for_lines_answers_the_line_field_alone(world_a, world_b, login):
    """What the script asks for after a pick: the line field of that number, without the page
    around it (whose styles the Content-Security-Policy would refuse in a parsed copy)."""
    order = delivered_order_of(world_a.company)
    foreign = delivered_order_of(world_b.company)
    neighbour = delivered_order_of(world_a.other_company)
    client = login(world_a.customer)

    response = client.get(NEW, {"part": "order-lines", "order_number": order.number})
    assert response.status_code == 200
    own = parse(response)
    assert own.select("style, script, form, html, head") == []
    assert len(own.select("#order-line-field select[name=order_line] option")) == 3
    for other in (foreign, neighbour):
        part = parse(client.get(NEW, {"part": "order-lines", "order_number": other.number}))
        assert part.select("#order-line-field select") == []
        assert "choose its order first" in part.select_one("#order-line-field").text
        for line in lines_of(other):
            assert line.product.name not in part.text
    # the whole form otherwise
    assert parse(client.get(NEW, {"order_number": order.number})).select("form.complaint-form")


@pytest.mark.parametrize(
    "params",
    [
        {"order": "²"},
        {"order": "-1"},
        {"order": "99999999999999999999999999"},
        {"order": "9223372036854775807"},
        {"order": "abc"},
        {"order_line": "²"},
        {"order_line": "99999999999999999999999999"},
        {"order_line": "0"},
        {"order_number": "x" * 5000},
        {"order_number": "a\x00b"},
    ],
)
def test_odd_preselections_answer_the_form(world_a, login, params):
    response = login(world_a.customer).get(NEW, params)
    assert response.status_code == 200
    assert response.context["form"].chosen_order is None


def test_a_preselected_order_of_the_company_fills_in_its_number(world_a, world_b, login):
    order = delivered_order_of(world_a.company)
    client = login(world_a.customer)
    doc = parse(client.get(NEW, {"order": order.pk}))
    assert doc.select_one("input[name=order_number]")["value"] == order.number
    assert len(doc.select("select[name=order_line] option")) == 3
    foreign = delivered_order_of(world_b.company)
    doc = parse(client.get(NEW, {"order": foreign.pk}))
    assert doc.select_one("input[name=order_number]").get("value") is None
    assert foreign.number not in doc.text

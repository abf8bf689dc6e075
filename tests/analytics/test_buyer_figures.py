"""The buyer's own figures (/portal/figures/): a customer company's administrators see their
company's figures only, from the KPI layer, over a preset period compared with the one
before; nobody else sees the page. Data: tests/analytics/dataset.py (two companies of tenant
A, C1 and C2, and tenant B), read on 15 December 2026 with a few additions below."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.rollups import kpi_rollups_rebuild
from returns.models import ReturnRequest
from tests.factories import ProductCategoryFactory, ProductFactory, customer_user
from tests.html import parse, table_rows, texts, visible_text

from .dataset import at, make_complaint, make_order, make_return

pytestmark = pytest.mark.django_db

URL = "/portal/figures/"
TODAY = datetime.date(2026, 12, 15)
ROLLED_UP = (datetime.date(2026, 10, 1), TODAY - datetime.timedelta(days=1))


@pytest.fixture
def frozen_today(monkeypatch):
    """Every clock of the request reads 15 December 2026, 10:00 in Warsaw."""
    moment = at(12, 15, 10)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def decide(number: str, when) -> None:
    ReturnRequest.unscoped.filter(number=number).update(decided_at=when)


@pytest.fixture
def figures_data(dataset, frozen_today):
    """The data set, with the moments of the decisions (R1 24 h after submission, R3 36 h,
    R4's rejection 24 h; C2's R2 6 h) and a complaint of each company rejected on 17 November;
    rolled up from October to yesterday."""
    d = dataset
    decide("R1", at(10, 11, 10))
    decide("R3", at(11, 22, 0))
    decide("R4", at(11, 6, 9))
    decide("R2", at(11, 12, 15))
    for company, reporter, code in (
        (d.c1, d.a.customer, "K7"),
        (d.c2, d.a.other_company_user, "K8"),
    ):
        make_complaint(
            d.ta, company, reporter, code, category="other", priority="low",
            status="rejected", created_at=at(11, 16, 9), closed_at=at(11, 17, 9),
            first_response_due_at=at(11, 16, 11), resolution_due_at=at(11, 18, 9),
        )  # fmt: skip
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=ROLLED_UP[0], end=ROLLED_UP[1])
    return d


def tile(html: str, label: str) -> dict[str, str]:
    """The tile labelled `label`: its value and what it says about the period before."""
    for element in parse(html).select("li.tile"):
        if element.select_one(".tile-label").text == label:
            change = element.select_one(".tile-change")
            return {
                "value": element.select_one(".tile-value").text,
                "change": change.text if change else "",
            }
    raise AssertionError(f"no tile {label!r}")


def table(html: str, key: str) -> list[list[str]]:
    return table_rows(html, f"#table-{key}")[1:]


def test_admin_sees_the_own_company_figures_of_the_last_12_months(client, figures_data):
    d = figures_data
    client.force_login(d.a.customer_admin)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    text = visible_text(html)
    assert "Figures for 1 Dec 2025 – 30 Nov 2026" in text
    assert "compared with 1 Dec 2024 – 30 Nov 2025" in text

    # C1: R1 and R3 (R4 rejected, R5 a draft); 8 units returned of 30 delivered.
    assert tile(html, "Returns") == {
        "value": "2",
        "change": "no data in the previous period",
    }
    assert tile(html, "Return rate (quantity)")["value"] == "26.7 %"
    # Decided: R1 24 h, R3 36 h, R4 (rejected) 24 h; received → resolved: R1 24 h.
    assert tile(html, "Time to decision (average)")["value"] == "28.0 h"
    assert tile(html, "Time to refund or credit (average)")["value"] == "24.0 h"
    # Filed: K1, K3, K4, K7 (K6 in December); decided: K1, K3 accepted, K7 rejected.
    assert tile(html, "Complaints filed")["value"] == "4"
    assert tile(html, "Complaints rejected")["value"] == "33.3 %"
    # Open now: R3 (approved); K4 (in progress) and K6 (new, 3 December).
    assert tile(html, "Open returns now")["value"] == "1"
    assert tile(html, "Open complaints now")["value"] == "2"

    p1, p2 = (f"{p.sku} · {p.name}" for p in (d.p1, d.p2))
    assert table(html, "products") == [[p1, "10", "3", "30.0 %"], [p2, "20", "5", "25.0 %"]]
    assert table(html, "categories") == [
        ["Electronics", "10", "3", "30.0 %"],
        ["Workwear", "20", "5", "25.0 %"],
    ]
    assert table(html, "reasons") == [
        ["Damaged in transport", "1", "1", "33.3 %"],
        ["Defective / quality issue", "1", "2", "33.3 %"],
        ["Wrong size or dimensions", "1", "5", "33.3 %"],
    ]
    assert table(html, "times") == [
        ["Submitted → decided (approved or rejected)", "3", "28.0 h", "24.0 h"],
        ["Goods received → refunded, credited or otherwise resolved", "1", "24.0 h", "24.0 h"],
    ]
    assert table(html, "outcomes") == [
        ["Accepted (resolved)", "2", "66.7 %"],
        ["Rejected", "1", "33.3 %"],
    ]


def test_nothing_of_other_companies_or_tenants_and_no_internal_figures(client, figures_data):
    d = figures_data
    client.force_login(d.a.customer_admin)
    html = client.get(URL).content.decode()
    text = visible_text(html)
    # C2's product, tenant B's product and category, other companies' names.
    assert d.p3.sku not in text
    assert d.b_category.name not in text
    assert d.c2.name not in text
    assert d.b.company.name not in text
    # Tenant-wide figures: 9 of 40 units (22.5 %), 3 returns, 6 complaints filed.
    assert "22.5 %" not in text
    # No staff, no money the merchant moves, no internal notes, no staff pages.
    for staff in (d.a.agent, d.a.coordinator, d.a.manager):
        assert staff.get_full_name() not in text
    for word in ("Refunded and credited", "Restocking", "restock", "scrap", "internal", "CSAT"):
        assert word not in text
    links = [a.attrs.get("href", "") for a in parse(html).select("main a")]
    assert not [link for link in links if link.startswith(("/dashboard", "/backoffice"))]


def test_the_company_is_never_taken_from_the_query_string(client, figures_data):
    d = figures_data
    client.force_login(d.a.customer_admin)
    own = table(client.get(URL).content.decode(), "products")
    for params in (
        {"customer": d.c2.pk},
        {"customer_account": d.c2.pk},
        {"company": d.c2.pk},
        {"product": d.p3.pk, "category": d.electronics.pk, "tenant": d.tb.pk},
    ):
        response = client.get(URL, params)
        assert response.status_code == 200
        assert table(response.content.decode(), "products") == own


def test_another_company_of_the_tenant_sees_its_own(client, figures_data):
    d = figures_data
    client.force_login(customer_user(d.c2, admin=True))
    html = client.get(URL).content.decode()
    p1, p3 = (f"{p.sku} · {p.name}" for p in (d.p1, d.p3))
    # C2: 5 of p1 and 5 of p3 delivered on 10 November, R2 returned 1 of p1.
    assert table(html, "products") == [[p1, "5", "1", "20.0 %"], [p3, "5", "0", "0.0 %"]]
    assert tile(html, "Returns")["value"] == "1"
    assert tile(html, "Time to decision (average)")["value"] == "6.0 h"
    assert tile(html, "Complaints filed")["value"] == "3"  # K5, K2, K8
    assert d.p2.sku not in visible_text(html)


def test_another_tenant_sees_its_own(client, figures_data):
    d = figures_data
    client.force_login(d.b.customer_admin)
    html = client.get(URL).content.decode()
    assert table(html, "categories") == [["Tools", "50", "10", "20.0 %"]]
    assert tile(html, "Returns")["value"] == "1"  # RB1
    text = visible_text(html)
    for name in ("Electronics", "Workwear", d.p1.sku, d.p2.sku):
        assert name not in text


@pytest.mark.parametrize(
    "who", ["customer", "colleague", "agent", "coordinator", "manager", "tenant_admin"]
)
def test_only_customer_admins_see_the_page(client, figures_data, who):
    user = getattr(figures_data.a, who)
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 403
    assert "26.7 %" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client, figures_data):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_navigation_links_the_page_for_admins_only(client, figures_data):
    d = figures_data
    client.force_login(d.a.customer_admin)
    nav = parse(client.get(reverse("portal:home")).content).select("nav a")
    assert [a.attrs["href"] for a in nav if a.text == "Figures"] == [URL]
    current = parse(client.get(URL).content).select('nav a[aria-current="page"]')
    assert [a.text for a in current] == ["Figures"]
    client.force_login(d.a.customer)
    nav = parse(client.get(reverse("portal:home")).content).select("nav a")
    assert URL not in [a.attrs["href"] for a in nav]


def test_a_month_against_the_month_before(client, figures_data):
    d = figures_data
    client.force_login(d.a.customer_admin)
    html = client.get(URL, {"period": "last_month"}).content.decode()
    assert "Figures for 1 Nov 2026 – 30 Nov 2026" in visible_text(html)
    assert "compared with 1 Oct 2026 – 31 Oct 2026" in visible_text(html)
    # November: R3 and R4 decided (36 h, 24 h); October: R1 (24 h).
    decision = tile(html, "Time to decision (average)")
    assert decision["value"] == "30.0 h"
    assert decision["change"] == "+25.0 % (worse) before: 24.0 h"
    # One return each month (R3; R1).
    assert tile(html, "Returns")["change"] == "±0.0 % before: 1"
    # Nothing delivered to C1 in November: no rate; October's 7 of 30.
    assert tile(html, "Return rate (quantity)") == {"value": "—", "change": "— before: 23.3 %"}
    # No complaint of C1 filed in October (K5 is C2's).
    assert tile(html, "Complaints filed") == {
        "value": "4",
        "change": "no data in the previous period",
    }


def test_this_year_includes_today_and_december(client, figures_data):
    d = figures_data
    client.force_login(d.a.customer_admin)
    html = client.get(URL, {"period": "this_year"}).content.decode()
    assert "Figures for 1 Jan 2026 – 15 Dec 2026" in visible_text(html)
    # A-3 (100 of p2 on 5 December) joins the denominator: 8 of 130.
    assert tile(html, "Return rate (quantity)")["value"] == "6.2 %"
    assert tile(html, "Complaints filed")["value"] == "5"  # K6 of 3 December too


@pytest.mark.parametrize("value", ["custom", "1y", "", "12m' OR 1=1", "x" * 500])
def test_a_period_not_in_the_list_shows_the_default_and_says_so(client, figures_data, value):
    d = figures_data
    client.force_login(d.a.customer_admin)
    response = client.get(URL, {"period": value, "from": "2020-01-01", "to": "2026-12-15"})
    html = response.content.decode()
    text = visible_text(html)
    assert "Figures for 1 Dec 2025 – 30 Nov 2026" in text
    assert tile(html, "Returns")["value"] == "2"
    if value:
        assert response.status_code == 400
        assert texts(html, '[role="alert"]') == [
            "Choose a period from the list. Showing the last 12 months."
        ]
    else:
        assert response.status_code == 200
        assert not texts(html, '[role="alert"]')
    selected = parse(html).select("select[name=period] option[selected]")
    assert [option.attrs["value"] for option in selected] == ["12m"]


@pytest.mark.parametrize("preset", ["7d", "30d", "90d", "12m", "this_month", "last_month"])
def test_every_preset_is_offered_and_answers(client, figures_data, preset):
    client.force_login(figures_data.a.customer_admin)
    response = client.get(URL, {"period": preset})
    assert response.status_code == 200
    options = parse(response.content).select("select[name=period] option")
    assert [option.attrs["value"] for option in options] == [
        "7d",
        "30d",
        "90d",
        "12m",
        "this_month",
        "last_month",
        "this_year",
    ]


def test_figures_in_the_readers_language(client, figures_data):
    client.force_login(figures_data.a.customer_admin)
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert '<html lang="pl">' in html
    rates = [row[3] for row in table(html, "products")]
    assert rates == ["30,0 %", "25,0 %"]
    assert re.search(r"28,0\s*h|28,0\s*godz", visible_text(html))


def _more_products(d, count: int) -> None:
    """`count` more products of C1, each in a category of its own, delivered and returned in
    November."""
    for n in range(count):
        category = ProductCategoryFactory(tenant=d.ta, code=f"extra-{n}", name=f"Extra {n}")
        product = ProductFactory(tenant=d.ta, category=category)
        (line,) = make_order(
            d.ta, d.c1, f"A-X{n}", datetime.date(2026, 11, 2), [(product, 10, "5")]
        )
        make_return(
            d.ta, d.c1, d.a.customer, f"RX{n}", "approved", [(line, 1, "other", {})],
            submitted_at=at(11, 3, 9), approved_at=at(11, 4, 9), decided_at=at(11, 4, 9),
        )  # fmt: skip
    kpi_rollups_rebuild(tenant=d.ta, start=ROLLED_UP[0], end=ROLLED_UP[1])


def test_query_count_does_not_grow_with_products_and_categories(client, figures_data):
    d = figures_data
    client.force_login(d.a.customer_admin)
    client.get(URL)  # the session and the like, read once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL)
        assert response.status_code == 200
        return len(captured)

    before = queries()
    _more_products(d, 6)
    after_html = client.get(URL).content.decode()
    assert len(table(after_html, "products")) == 8
    assert len(table(after_html, "categories")) == 8
    assert queries() == before


def test_the_products_with_the_highest_rate_come_first_and_every_one_on_request(
    client, figures_data, monkeypatch
):
    from analytics import views_portal

    client.force_login(figures_data.a.customer_admin)
    every = table(client.get(URL, {"period": "12m"}).content.decode(), "products")
    assert len(every) > 1
    monkeypatch.setattr(views_portal, "PRODUCT_ROWS", 1)

    html = client.get(URL, {"period": "12m"}).content.decode()
    assert table(html, "products") == every[:1]
    note = parse(html).select_one(".table-cut")
    assert visible_text(note).startswith(
        f"The product with the highest return rate, of {len(every)}."
    )
    link = note.select_one("a")["href"]
    assert "products=all" in link and "period=12m" in link

    assert table(client.get(URL + link).content.decode(), "products") == every

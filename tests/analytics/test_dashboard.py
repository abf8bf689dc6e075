"""The manager dashboard over HTTP: figures from the rollups, drill-down, role access, tenant
isolation, bad input and a query count that does not grow with the number of returns."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import dateformat

from analytics.rollups import kpi_rollups_rebuild
from returns.models import ReturnLine, ReturnRequest
from returns.selectors import tenant_today
from tests.html import excerpt, external_urls, parse, texts, visible_text

from .dataset import END, START, at, make_return

pytestmark = pytest.mark.django_db

PERIOD = "period=custom&from=2026-10-01&to=2026-11-30"
SECTION_URLS = {
    "overview": "/dashboard/",
    "returns": "/dashboard/kpis/returns/",
    "complaints": "/dashboard/kpis/complaints/",
    "service": "/dashboard/kpis/service/",
    "money": "/dashboard/kpis/money/",
    "satisfaction": "/dashboard/kpis/satisfaction/",
}
URLS = (
    *(url + "?" + PERIOD for key, url in SECTION_URLS.items() if key != "overview"),
    "/dashboard/returns/?" + PERIOD,
    "/dashboard/complaints/?" + PERIOD,
    "/dashboard/export/returns.csv?" + PERIOD,
    "/dashboard/export/complaints.csv?" + PERIOD,
    "/dashboard/export/reasons.csv?" + PERIOD,
    "/dashboard/reports/2026-11.pdf",
)


@pytest.fixture
def rolled_up(dataset):
    for tenant in (dataset.ta, dataset.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    return dataset


def tile(html: str, label: str) -> str:
    """The value shown in the tile labelled `label`."""
    match = re.search(
        rf'<span class="tile-label">{re.escape(label)}</span>\s*'
        r'<strong class="tile-value">([^<]*)</strong>',
        html,
    )
    assert match, f"no tile {label!r}"
    return unescape(match.group(1)).strip()


def listed(html: str) -> list[str]:
    """The numbers (RMA or complaint) in the rows of a drill-down list."""
    return texts(html, 'table tbody th[scope="row"]')


def test_manager_sees_the_period_read_from_the_rollups(client, rolled_up):
    d = rolled_up
    client.force_login(d.a.manager)
    html = {key: client.get(f"{url}?{PERIOD}") for key, url in SECTION_URLS.items()}
    assert {key: response.status_code for key, response in html.items()} == dict.fromkeys(
        SECTION_URLS, 200
    )
    html = {key: response.content.decode() for key, response in html.items()}
    # R1, R2, R3 (R4 rejected, R5 a draft, R6 after the period): see tests/analytics/dataset.py
    assert tile(html["overview"], "Returns") == "3"
    assert tile(html["returns"], "Returns") == "3"
    assert tile(html["overview"], "Return rate (quantity)") == "22.5 %"  # 9 / 40
    assert tile(html["money"], "Returned value") == "450.00 PLN"
    assert tile(html["money"], "Refunded and credited") == "370.00 PLN"  # 270 refund + 100 credit
    assert tile(html["overview"], "Complaints filed") == "5"  # K1–K5
    assert tile(html["satisfaction"], "CSAT (average of 1–5)") == "3.67"  # (5 + 2 + 4) / 3
    assert "has not been rolled up yet" not in html["overview"]
    # Every chart has its table, on its section, and the chart library comes from our own
    # static files.
    charts = {
        "overview": ("trend",),
        "returns": ("return_rate", "reasons", "categories", "resolutions"),
        "service": ("sla",),
        "satisfaction": ("csat",),
        "complaints": (),
        "money": (),
    }
    for section, keys in charts.items():
        doc = parse(html[section])
        assert [figure["id"] for figure in doc.select("figure.chart")] == [
            f"chart-{key}" for key in keys
        ], section
        for key in keys:
            assert doc.select_one(f"script#spec-{key}") is not None
        scripts = [script["src"] for script in doc.select("script[src]")]
        assert ("/static/vendor/chartjs/chart.umd.min.js" in scripts) == bool(keys), section
        assert external_urls(doc) == []


def test_days_not_rolled_up_are_announced(client, dataset):
    client.force_login(dataset.a.manager)
    html = client.get("/dashboard/?" + PERIOD).content.decode()
    assert "61 past days of this period have not been rolled up yet" in html


def test_drill_down_from_a_reason_to_its_returns_and_export(client, rolled_up):
    d = rolled_up
    client.force_login(d.a.manager)
    html = client.get("/dashboard/kpis/returns/?" + PERIOD).content.decode()
    # The "Wrong size" row of the reasons table links to the list of those returns.
    link = re.search(r'<a href="([^"]+)">Wrong size or dimensions</a>', html)
    assert link, "no drill-down link on the reason"
    url = unescape(link.group(1))
    assert "reason=wrong_size" in url
    listing = client.get(url)
    assert listing.status_code == 200
    page = listing.content.decode()
    assert ">R1<" in page  # R1 has a wrong-size line
    assert ">R2<" not in page and ">R3<" not in page
    # Its CSV export lists R1's lines only.
    export = client.get(url.replace("/dashboard/returns/", "/dashboard/export/returns.csv"))
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    numbers = {line.split(",")[0] for line in body.splitlines()[1:]}
    assert numbers == {"R1"}


def test_drill_down_by_resolution_and_complaint_priority(client, rolled_up):
    d = rolled_up
    client.force_login(d.a.manager)
    refunds = client.get(f"/dashboard/returns/?{PERIOD}&resolution=refund").content.decode()
    assert ">R1<" in refunds and ">R2<" not in refunds
    rejected = client.get(f"/dashboard/returns/?{PERIOD}&resolution=rejected").content.decode()
    assert ">R4<" in rejected and ">R1<" not in rejected
    high = client.get(f"/dashboard/complaints/?{PERIOD}&priority=high").content.decode()
    assert ">K1<" in high and ">K2<" not in high


@pytest.mark.parametrize("role", ["customer", "customer_admin"])
def test_customers_cannot_reach_the_dashboard(client, rolled_up, role):
    d = rolled_up
    client.force_login(getattr(d.a, role))
    assert client.get("/dashboard/?" + PERIOD).status_code == 403
    for url in URLS:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", ["agent", "coordinator"])
def test_agents_see_their_own_figures_only(client, rolled_up, role):
    d = rolled_up
    user = getattr(d.a, role)
    client.force_login(user)
    response = client.get("/dashboard/?" + PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "My figures" in html and "KPI dashboard" not in html
    assert "Refunded and credited" not in html
    for url in URLS:
        assert client.get(url).status_code == 403, url


def test_agent_view_counts_the_agents_own_queue(client, rolled_up):
    d = rolled_up
    client.force_login(d.a.agent)
    html = client.get("/dashboard/?period=12m").content.decode()
    # K4 (in progress) is the agent's only open complaint; K1 and K2 were resolved by them.
    assert tile(html, "Open complaints assigned to me") == "1"
    assert tile(html, "Complaints I resolved") == "2"


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_another_tenants_figures_never_appear(client, rolled_up):
    d = rolled_up
    client.force_login(d.b.manager)
    html = client.get("/dashboard/?" + PERIOD).content.decode()
    # Tenant B: one return of 10 × 2.00 (wrong item), one complaint, one rating of 1.
    assert tile(html, "Returns") == "1"
    assert tile(html, "Returned value") == "20.00 PLN"
    assert tile(html, "Complaints filed") == "1"
    assert tile(html, "CSAT (average of 1–5)") == "1.00"
    assert d.a.company.name not in html
    returns = client.get("/dashboard/kpis/returns/?" + PERIOD).content.decode()
    assert ">Defective / quality issue</a>" not in returns  # A's reasons (a table row link)
    assert ">Wrong item shipped</a>" in returns
    refunds = client.get(f"/dashboard/returns/?{PERIOD}").content.decode()
    assert "RB1" in listed(refunds) and ">R1<" not in refunds


@pytest.mark.parametrize("param", ["customer", "category", "product"])
def test_another_tenants_ids_are_refused_and_reveal_nothing(client, rolled_up, param):
    d = rolled_up
    foreign = {"customer": d.b.company, "category": d.b_category, "product": None}[param]
    if foreign is None:
        foreign = ReturnLine.unscoped.filter(tenant=d.tb).first().order_line.product
    client.force_login(d.a.manager)
    for url in ("/dashboard/", "/dashboard/returns/", "/dashboard/complaints/"):
        response = client.get(f"{url}?{PERIOD}&{param}={foreign.pk}")
        assert response.status_code == 400, url
        html = response.content.decode()
        assert "from the list" in html
        shown = visible_text(html)
        assert str(foreign.name) not in shown, excerpt(shown, str(foreign.name))
    export = client.get(f"/dashboard/export/returns.csv?{PERIOD}&{param}={foreign.pk}")
    assert export.status_code == 400


def test_another_customers_filter_narrows_to_that_customer(client, rolled_up):
    d = rolled_up
    client.force_login(d.a.manager)
    html = client.get(f"/dashboard/?{PERIOD}&customer={d.c2.pk}").content.decode()
    assert tile(html, "Returns") == "1"  # R2 only
    listing = client.get(f"/dashboard/returns/?{PERIOD}&customer={d.c2.pk}").content.decode()
    assert ">R2<" in listing and ">R1<" not in listing


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=fortnight", "Choose a period from the list."),
        ("period=custom&from=2026-13-01&to=2026-11-30", "Enter the date as YYYY-MM-DD."),
        ("period=custom&from=2026-11-30&to=2026-10-01", "must not be before the start date"),
        ("period=custom&from=2026-10-01&to=2099-01-01", "cannot be in the future"),
        ("period=custom&from=2019-01-01&to=2026-11-30", "at most three years"),
        ("period=12m&reason=broken", "Choose a reason from the list."),
        ("period=12m&product=abc", "Choose a product from the list."),
        ("period=12m&customer=999999", "Choose a customer from the list."),
        ("period=12m&customer=%C2%B2", "Choose a customer from the list."),  # "²" is a digit
        ("period=12m&product=99999999999999999999999", "Choose a product from the list."),
        ("period=custom&from=0001-01-01&to=0001-01-02", "Choose a start date in 2000 or later."),
    ],
)
def test_bad_input_gets_a_clear_message(client, rolled_up, query, message):
    client.force_login(rolled_up.a.manager)
    response = client.get(f"/dashboard/?{query}")
    assert response.status_code == 400
    assert message in unescape(response.content.decode())
    assert 'class="tiles"' not in response.content.decode()


def test_bad_drill_down_input_is_refused(client, rolled_up):
    client.force_login(rolled_up.a.manager)
    assert client.get(f"/dashboard/returns/?{PERIOD}&resolution=gift").status_code == 400
    assert client.get(f"/dashboard/complaints/?{PERIOD}&priority=asap").status_code == 400
    assert (
        client.get(f"/dashboard/complaints/?{PERIOD}&agent={rolled_up.b.agent.pk}").status_code
        == 400
    )


def _add_returns(d, count: int) -> None:
    line = ReturnLine.unscoped.filter(tenant=d.ta).first().order_line
    for n in range(count):
        make_return(
            d.ta, d.c1, d.a.customer, f"X{n}", "submitted", [(line, 1, "other", {})],
            submitted_at=at(10, 1 + n % 28, 9),
        )  # fmt: skip


def _dashboard_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# The most queries each section may make, today's live cells included (this month): each
# computes only what it shows, where the whole dashboard on one page made 90-odd queries
# (docs/performance.md#the-kpi-dashboard).
SECTION_QUERIES = {
    "overview": 50,
    "returns": 46,
    "complaints": 30,
    "service": 36,
    "money": 30,
    "satisfaction": 40,
}


@pytest.mark.parametrize("period", [PERIOD, "period=12m", "period=this_month"])
@pytest.mark.parametrize("section", list(SECTION_URLS))
def test_each_sections_query_count_is_bounded_and_does_not_grow_with_returns(
    client, rolled_up, section, period
):
    d = rolled_up
    client.force_login(d.a.manager)
    url = f"{SECTION_URLS[section]}?{period}"
    before = _dashboard_queries(client, url)
    _add_returns(d, 30)
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    assert ReturnRequest.unscoped.filter(tenant=d.ta).count() == 36
    after = _dashboard_queries(client, url)
    assert after == before
    assert after <= SECTION_QUERIES[section], (section, after)


def test_drill_down_list_query_count_does_not_grow(client, rolled_up):
    d = rolled_up
    client.force_login(d.a.manager)
    url = "/dashboard/returns/?" + PERIOD
    before = _dashboard_queries(client, url)
    _add_returns(d, 30)
    assert _dashboard_queries(client, url) == before
    complaints = "/dashboard/complaints/?" + PERIOD
    assert _dashboard_queries(client, complaints) <= before


def test_a_superuser_without_a_tenant_is_asked_to_choose_one(client, superuser):
    client.force_login(superuser)
    assert client.get("/dashboard/").status_code == 403


def test_the_period_presets_cover_their_days(client, rolled_up):
    client.force_login(rolled_up.a.manager)
    for preset in ("7d", "30d", "90d", "12m", "this_month", "last_month", "this_year"):
        assert client.get(f"/dashboard/?period={preset}").status_code == 200, preset
    today = tenant_today(rolled_up.ta)
    html = client.get("/dashboard/?period=7d").content.decode()
    # Seven whole days ending yesterday, against the seven before (analytics.periods; the
    # arithmetic on explicit dates: tests/analytics/test_periods.py). The first day is in many
    # links and chart labels of a longer period too: read the note.
    day = datetime.timedelta(days=1)
    first, last = today - 7 * day, today - day
    expected = (
        f"Figures for {dateformat.format(first, 'j M Y')} – {dateformat.format(last, 'j M Y')} "
        f"· compared with {dateformat.format(first - 7 * day, 'j M Y')} – "
        f"{dateformat.format(first - day, 'j M Y')} · from the nightly rollups"
    )
    assert parse(html).select_one("p.period-note").text == expected
    this_month = parse(client.get("/dashboard/?period=this_month").content).select_one(
        "p.period-note"
    )
    assert this_month.text.endswith("past days from the nightly rollups, today live")


def test_impossible_report_months_are_not_found(client, rolled_up):
    client.force_login(rolled_up.a.manager)
    for url in (
        "/dashboard/reports/99999999999999999999-01.pdf",
        "/dashboard/reports/2026-00.pdf",
        "/dashboard/reports/1999-12.pdf",
    ):
        assert client.get(url).status_code == 404, url


# --- the sections -------------------------------------------------------------------------


def test_each_section_computes_only_what_it_shows(rolled_up):
    from analytics.dashboard import EVERYTHING, SECTIONS, build_dashboard, parse_query

    d = rolled_up
    query = parse_query({"period": "custom", "from": "2026-10-01", "to": "2026-11-30"}, tenant=d.ta)
    every_tile, every_table = set(), set()
    for section in SECTIONS.values():
        board = build_dashboard(query, tenant=d.ta, section=section)
        assert [t.key for t in board.tiles] == list(section.tiles)
        assert set(board.tables) == set(section.table_keys)
        assert (board.backlog is not None) == section.backlog
        every_tile |= set(section.tiles)
        every_table |= set(section.table_keys)
    # Together the sections show every figure the whole dashboard (and the report) has.
    assert every_tile == set(EVERYTHING.tiles)
    assert every_table == set(EVERYTHING.table_keys)


def test_the_section_navigation_keeps_the_filters(client, rolled_up):
    d = rolled_up
    client.force_login(d.a.manager)
    query = f"{PERIOD}&customer={d.c1.pk}&reason=defective"
    for key, url in SECTION_URLS.items():
        doc = parse(client.get(f"{url}?{query}").content)
        nav = doc.select_one('main nav.section-nav[aria-label="Dashboard sections"]')
        links = nav.select("a")
        assert [link.text for link in links] == [
            "Overview",
            "Returns",
            "Complaints",
            "Time and SLA",
            "Money",
            "Satisfaction",
        ]
        current = [link for link in links if link.get("aria-current") == "page"]
        assert len(current) == 1 and current[0]["href"].split("?")[0] == url, key
        for link in links:
            target = unescape(link["href"])
            assert target.split("?")[0] in SECTION_URLS.values()
            for part in (
                "from=2026-10-01",
                "to=2026-11-30",
                f"customer={d.c1.pk}",
                "reason=defective",
            ):
                assert part in target, (key, target)
        # The filter form answers on the same section.
        assert doc.select_one("form.dashboard-filters").get("action") is None


def test_the_old_address_is_the_overview_and_kpis_overview_leads_there(client, rolled_up):
    client.force_login(rolled_up.a.manager)
    doc = parse(client.get("/dashboard/?" + PERIOD).content)
    current = doc.select_one('nav.section-nav a[aria-current="page"]')
    assert current.text == "Overview"
    response = client.get("/dashboard/kpis/overview/?" + PERIOD)
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?" + PERIOD
    assert client.get("/dashboard/kpis/nothing/?" + PERIOD).status_code == 404


@pytest.mark.parametrize("section", [key for key in SECTION_URLS if key != "overview"])
def test_managers_of_another_tenant_see_only_their_own_figures_in_every_section(
    client, rolled_up, section
):
    d = rolled_up
    url = f"{SECTION_URLS[section]}?{PERIOD}"
    client.force_login(d.a.manager)
    mine = visible_text(client.get(url).content.decode())
    client.force_login(d.b.manager)
    response = client.get(url)
    assert response.status_code == 200
    theirs = visible_text(response.content.decode())
    for name in (
        d.a.company.name,
        d.c2.name,
        d.p1.name,
        d.electronics.name,
        d.a.agent.get_full_name(),
    ):
        assert name not in theirs, (section, name)
    assert d.b.company.name in theirs or section in ("complaints", "service", "money")
    assert mine != theirs


@pytest.mark.parametrize("section", [key for key in SECTION_URLS if key != "overview"])
def test_another_tenants_filter_ids_are_refused_in_every_section(client, rolled_up, section):
    d = rolled_up
    client.force_login(d.a.manager)
    response = client.get(f"{SECTION_URLS[section]}?{PERIOD}&customer={d.b.company.pk}")
    assert response.status_code == 400
    assert d.b.company.name not in visible_text(response.content.decode())
    assert "Choose a customer from the list." in unescape(response.content.decode())


@pytest.mark.parametrize("section", [key for key in SECTION_URLS if key != "overview"])
def test_agents_customers_and_strangers_cannot_open_a_section(client, rolled_up, section):
    d = rolled_up
    url = f"{SECTION_URLS[section]}?{PERIOD}"
    for user in (d.a.agent, d.a.coordinator, d.a.customer, d.a.customer_admin):
        client.force_login(user)
        assert client.get(url).status_code == 403, (user.role, url)
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_table_exports_from_the_section_that_shows_it(client, rolled_up):
    client.force_login(rolled_up.a.manager)
    for key in ("reasons", "trend", "channels", "sla", "dispositions", "csat_agents"):
        response = client.get(f"/dashboard/export/{key}.csv?{PERIOD}")
        assert response.status_code == 200, key
    assert client.get(f"/dashboard/export/nothing.csv?{PERIOD}").status_code == 404

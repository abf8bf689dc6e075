"""Every section of the KPI dashboard fits the screen and passes axe-core, on a desktop
(1366 × 900) and a phone (390 × 844), and its section navigation keeps the period and filters.

As in test_staff_pages_fit.py: the document is no wider than the window, no box in it scrolls
sideways, and axe-core (static/vendor/axe-core, injected by the test) finds no violation of
impact "serious" or "critical". The data set's customer has a long name, so a table that
cannot wrap it shows. Every problem of every section is reported at once.
"""

from __future__ import annotations

import pytest

from analytics.rollups import kpi_rollups_rebuild
from tests.analytics.conftest import dataset  # noqa: F401 - the analytics data set fixture
from tests.analytics.dataset import END, START

from .test_staff_pages_fit import AXE_RUN, FAILING_IMPACTS, LONG_COMPANY, MEASURE, _inject_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)
SECTIONS = (
    ("Overview", "/dashboard/"),
    ("Returns", "/dashboard/kpis/returns/"),
    ("Complaints", "/dashboard/kpis/complaints/"),
    ("Time and SLA", "/dashboard/kpis/service/"),
    ("Money", "/dashboard/kpis/money/"),
    ("Satisfaction", "/dashboard/kpis/satisfaction/"),
)


@pytest.fixture
def figures(dataset):  # noqa: F811
    dataset.a.company.name = LONG_COMPANY
    dataset.a.company.save(update_fields=["name"])
    kpi_rollups_rebuild(tenant=dataset.ta, start=START, end=END)
    return dataset


def _problems(page, where: str) -> list[str]:
    size = page.viewport_size["width"]
    problems = []
    measured = page.evaluate(MEASURE)
    if measured["document"] > measured["window"]:
        problems.append(
            f"{where} @{size}: the document is {measured['document']} px wide "
            f"in a {measured['window']} px window"
        )
    problems += [f"{where} @{size}: {box}" for box in measured["wide"]]
    _inject_axe(page)
    for violation in page.evaluate(AXE_RUN, list(FAILING_IMPACTS)):
        problems.append(
            f"{where} @{size}: axe {violation['impact']} {violation['id']} "
            f"({violation['help']}) × {violation['count']}: " + "; ".join(violation["targets"])
        )
    return problems


@SCREENS
def test_every_section_fits_the_screen_and_passes_axe(page, sign_in, figures, viewport):
    d = figures
    sign_in(page, d.a.manager)
    query = f"period=custom&from={START}&to={END}&customer={d.a.company.pk}"
    problems: list[str] = []
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{page.base_url}/dashboard/?{query}")
    for label, path in SECTIONS:
        # Walk the sections by their navigation, as a person would.
        nav = page.locator('nav.section-nav[aria-label="Dashboard sections"]')
        if label != "Overview":
            with page.expect_navigation():
                nav.get_by_role("link", name=label, exact=True).click()
        assert page.url.startswith(f"{page.base_url}{path}?"), page.url
        for part in ("period=custom", f"from={START}", f"to={END}", f"customer={d.a.company.pk}"):
            assert part in page.url, (label, page.url)
        current = nav.locator('a[aria-current="page"]')
        assert current.count() == 1 and current.inner_text() == label
        # Charts drawn before measuring: a canvas that pushes the page wider counts.
        if page.locator("figure.chart").count():
            page.wait_for_selector("figure.chart.chart-drawn")
        problems += _problems(page, path)
    # The old address is the overview; the filter form stays on the section it is on.
    page.goto(f"{page.base_url}/dashboard/kpis/money/?{query}")
    page.select_option("#f-period", "12m")
    with page.expect_navigation():
        page.click("form.dashboard-filters button[type=submit]")
    assert "/dashboard/kpis/money/?" in page.url and "period=12m" in page.url
    assert errors == []
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


@SCREENS
def test_a_bad_filter_page_fits_and_passes_axe(page, sign_in, figures, viewport):
    d = figures
    sign_in(page, d.a.manager)
    response = page.goto(f"{page.base_url}/dashboard/kpis/returns/?period=fortnight")
    assert response.status == 400
    assert page.locator("[role=alert]").inner_text().count("Choose a period from the list.") == 1
    problems = _problems(page, "/dashboard/kpis/returns/?period=fortnight")
    assert not problems, "\n".join(problems)

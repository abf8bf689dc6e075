"""A manager opens the KPI dashboard's returns section in a real browser: the vendored chart
library draws the charts, and a click on the "Wrong size" bar opens the list of those
returns."""

import pytest

from analytics.rollups import kpi_rollups_rebuild
from tests.analytics.conftest import dataset  # noqa: F401 - the analytics data set fixture
from tests.analytics.dataset import END, START

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERIOD = "period=custom&from=2026-10-01&to=2026-11-30"


def test_manager_drills_from_the_reasons_chart_to_the_returns(page, sign_in, dataset, tmp_path):  # noqa: F811
    kpi_rollups_rebuild(tenant=dataset.ta, start=START, end=END)
    sign_in(page, dataset.a.manager)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{page.base_url}/dashboard/?{PERIOD}")
    with page.expect_navigation():
        page.click("nav.section-nav >> text=Returns")
    assert page.url.endswith(f"/dashboard/kpis/returns/?{PERIOD}")

    # Every chart is drawn (its canvas shown) and its table folded away but still there.
    page.wait_for_selector("figure#chart-reasons.chart-drawn")
    assert page.locator("figure.chart.chart-drawn").count() == 4
    assert page.locator("figure#chart-reasons details.chart-table").get_attribute("open") is None
    assert page.locator("#table-reasons").count() == 1
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # Click the bar of "Wrong size or dimensions" where the chart drew it.
    position = page.evaluate(
        """() => {
            const canvas = document.querySelector('#chart-reasons canvas');
            const chart = Chart.getChart(canvas);
            const index = chart.data.labels.indexOf('Wrong size or dimensions');
            const bar = chart.getDatasetMeta(0).data[index];
            return {x: bar.x - 2, y: bar.y};
        }"""
    )
    page.locator("#chart-reasons canvas").click(position=position)
    page.wait_for_url("**/dashboard/returns/**reason=wrong_size**")
    assert page.locator("main table tbody th a", has_text="R1").count() == 1
    assert page.locator("main table tbody th a", has_text="R2").count() == 0
    assert errors == []

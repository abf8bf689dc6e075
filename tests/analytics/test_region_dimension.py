"""The region of the customer account (billing country and region) as a KPI dimension: a
filter of every figure, read from the rollups in agreement with the live computation, the
"cases by region" table on the dashboard, and the drill-down lists and exports narrowed by
it; regions are the tenant's own."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from analytics import figures, kpis
from analytics.kpis import KpiFilters, Region
from analytics.models import ComplaintRollup, ReturnRollup, Span
from analytics.rollup_reader import RollupReader
from analytics.rollups import kpi_rollups_rebuild
from customers.models import CustomerAccount
from tests.html import parse, table_rows

from .dataset import END, START, at
from .test_dashboard import PERIOD, _add_returns, _dashboard_queries, listed, tile
from .test_rollups import AFTER, assert_agree

pytestmark = pytest.mark.django_db

MAZOWIECKIE = Region("PL", "mazowieckie")
NO_REGION = Region("PL", "")
BAYERN = Region("DE", "Bayern")


@pytest.fixture
def regions(dataset):
    """Tenant A's C1 is in mazowieckie, C2 has no region; tenant B's company is in Bavaria
    (see tests/analytics/dataset.py for their cases)."""
    d = dataset
    CustomerAccount.unscoped.filter(pk=d.c1.pk).update(billing_region="mazowieckie")
    CustomerAccount.unscoped.filter(pk=d.b.company.pk).update(
        billing_country="DE", billing_region="Bayern"
    )
    return d


def region_filters(d) -> list[KpiFilters]:
    return [
        KpiFilters(region=MAZOWIECKIE),
        KpiFilters(region=NO_REGION),
        KpiFilters(region=Region("PL", "opolskie")),  # nobody there
        KpiFilters(region=MAZOWIECKIE, reason="defective"),  # no exact slice: live
        KpiFilters(region=MAZOWIECKIE, customer_account_id=d.c1.pk),
        KpiFilters(region=MAZOWIECKIE, customer_account_id=d.c2.pk),  # nothing: C2 is elsewhere
        KpiFilters(region=NO_REGION, category_id=d.electronics.pk),
        KpiFilters(region=MAZOWIECKIE, channel="portal"),
    ]


def test_live_figures_per_region_by_hand(regions):
    d = regions
    period = {"tenant": d.ta, "start": START, "end": END}
    # Returns of the period: R1, R3 (C1: 2 × 100 + 5 × 10 and 1 × 100), R2 (C2: 1 × 100).
    assert kpis.returns_by_region(**period) == {MAZOWIECKIE: 2, NO_REGION: 1}
    assert kpis.returned_value_by_region(**period) == {
        MAZOWIECKIE: Decimal("350.00"),
        NO_REGION: Decimal("100.00"),
    }
    # Complaints filed in the period: K1, K3, K4 (C1); K2, K5 (C2).
    assert kpis.complaints_by_region(**period) == {MAZOWIECKIE: 3, NO_REGION: 2}
    # A region's return rate: C1's 8 units over the 30 delivered to C1 (L1 10, L2 20).
    rate = kpis.return_rate(**period, filters=KpiFilters(region=MAZOWIECKIE))
    assert (rate.returned_quantity, rate.delivered_quantity) == (8, 30)
    assert kpis.returns_count(**period, filters=KpiFilters(region=NO_REGION)) == 1
    # Another tenant's cases never count, and its region is its own.
    other = {"tenant": d.tb, "start": START, "end": END}
    assert kpis.returns_by_region(**other) == {BAYERN: 1}
    assert kpis.returns_count(**period, filters=KpiFilters(region=BAYERN)) == 0


def test_rollups_agree_with_the_live_figures_per_region(regions):
    d = regions
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END, now=AFTER)
    assert ReturnRollup.unscoped.filter(tenant=d.ta, slice="l", region="mazowieckie").exists()
    assert ComplaintRollup.unscoped.filter(tenant=d.ta, slice="l", country="PL").exists()
    for filters in [KpiFilters(), *region_filters(d)]:
        reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
        assert_agree(reader, d.ta, START, END, filters)
    reader = RollupReader(tenant=d.ta, start=START, end=END, now=AFTER)
    assert figures.by_region(reader) == {
        MAZOWIECKIE: figures.RegionFigure(2, Decimal("350.00"), 3),
        NO_REGION: figures.RegionFigure(1, Decimal("100.00"), 2),
    }
    reader = RollupReader(tenant=d.tb, start=START, end=END, now=AFTER)
    assert figures.by_region(reader) == {BAYERN: figures.RegionFigure(1, Decimal("20.00"), 1)}


def test_today_is_added_to_the_rolled_up_days_per_region(regions):
    # R3 (C1) is submitted on 20 Nov, the "today" of this test.
    d = regions
    now = at(11, 20, 18)
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=now)
    end = now.date()
    for filters in region_filters(d):
        reader = RollupReader(tenant=d.ta, start=START, end=end, filters=filters, now=now)
        assert_agree(reader, d.ta, START, end, filters)
    reader = RollupReader(tenant=d.ta, start=START, end=end, now=now)
    assert figures.by_region(reader)[MAZOWIECKIE].returns == 2


def test_month_rows_keep_the_region(regions):
    d = regions
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    months = ReturnRollup.unscoped.filter(tenant=d.ta, span=Span.MONTH, slice="l")
    assert ("PL", "mazowieckie") in set(months.values_list("country", "region"))
    reader = RollupReader(
        tenant=d.ta, start=START, end=END, filters=KpiFilters(region=MAZOWIECKIE), now=AFTER
    )
    assert reader.whole_months()
    assert figures.returns_count(reader) == 2


def test_the_migration_gives_stored_full_grain_rows_their_region(regions):
    """Rows built before the region: renamed to the new full grain and given their account's
    region, they answer the region filter combined with others at once."""
    d = regions
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    migration = importlib.import_module("analytics.migrations.0004_rollup_region")
    full = ReturnRollup.unscoped.filter(tenant=d.ta, slice="cghlpr")
    count = full.count()
    full.update(slice="cghpr", country="", region="")
    ComplaintRollup.unscoped.filter(tenant=d.ta, slice="acghklp").update(
        slice="acghkp", country="", region=""
    )

    migration.add_region_to_full_grain(apps, None)

    renamed = ReturnRollup.unscoped.filter(tenant=d.ta, slice="cghlpr")
    assert renamed.count() == count
    assert set(renamed.values_list("country", "region")) == {("PL", "mazowieckie"), ("PL", "")}
    assert not ComplaintRollup.unscoped.filter(slice="acghkp").exists()
    filters = KpiFilters(region=MAZOWIECKIE, category_id=d.electronics.pk)
    reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
    assert_agree(reader, d.ta, START, END, filters)


def test_the_dashboard_shows_and_narrows_to_regions(client, regions):
    d = regions
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    client.force_login(d.a.manager)

    page = client.get("/dashboard/?" + PERIOD).content.decode()
    rows = table_rows(page, "#table-regions")
    assert rows[1:] == [
        ["PL · mazowieckie", "2", "350.00 PLN", "3"],
        ["PL · (no region)", "1", "100.00 PLN", "2"],
    ]
    links = [a["href"] for a in parse(page).select("#table-regions a[href]")]
    assert any("region=PL%3Amazowieckie" in link for link in links)
    # The filter offers the tenant's regions only.
    offered = {option["value"] for option in parse(page).select("#f-region option")}
    assert offered == {"", "PL:", "PL:mazowieckie"}

    narrowed = client.get(f"/dashboard/?{PERIOD}&region=PL:mazowieckie")
    assert narrowed.status_code == 200
    html = narrowed.content.decode()
    chosen = parse(html).select("#f-region option[selected]")
    assert [option["value"] for option in chosen] == ["PL:mazowieckie"]
    assert tile(html, "Returns") == "2"
    assert tile(html, "Returned value") == "350.00 PLN"
    assert tile(html, "Complaints filed") == "3"
    assert tile(html, "Return rate (quantity)") == "26.7 %"  # 8 / 30
    no_region = client.get(f"/dashboard/?{PERIOD}&region=PL:").content.decode()
    assert tile(no_region, "Returns") == "1"

    # The lists behind the figures, and their exports, follow the region.
    returns = client.get(f"/dashboard/returns/?{PERIOD}&region=PL:mazowieckie").content.decode()
    assert listed(returns) == ["R3", "R1"]
    complaints = client.get(f"/dashboard/complaints/?{PERIOD}&region=PL:").content.decode()
    assert sorted(listed(complaints)) == ["K2", "K5"]
    export = client.get(f"/dashboard/export/returns.csv?{PERIOD}&region=PL:")
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "R2" in body and "R1" not in body
    table = client.get(f"/dashboard/export/regions.csv?{PERIOD}&separator=comma")
    text = b"".join(table.streaming_content).decode("utf-8-sig")
    assert "PL · mazowieckie,2,350.00,3" in text.replace("\r", "")


@pytest.mark.parametrize("value", ["DE:Bayern", "PL:opolskie", "Polska", "P1:x", "PL"])
def test_a_region_not_the_tenants_is_refused_and_reveals_nothing(client, regions, value):
    # given: Bavaria is tenant B's region only; the others are no region of any account
    d = regions
    client.force_login(d.a.manager)
    for url in ("/dashboard/", "/dashboard/returns/", "/dashboard/complaints/"):
        response = client.get(f"{url}?{PERIOD}", {"region": value})
        assert response.status_code == 400, url
        html = response.content.decode()
        assert "Choose a region from the list." in html
        assert d.b.company.name not in html
    export = client.get(f"/dashboard/export/returns.csv?{PERIOD}", {"region": value})
    assert export.status_code == 400


def test_another_tenant_sees_its_own_regions_only(client, regions):
    d = regions
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    client.force_login(d.b.manager)
    page = client.get("/dashboard/?" + PERIOD).content.decode()
    assert table_rows(page, "#table-regions")[1:] == [["DE · Bayern", "1", "20.00 PLN", "1"]]
    offered = {option["value"] for option in parse(page).select("#f-region option")}
    assert offered == {"", "DE:Bayern", "PL:"}  # B's other buyer has no region
    assert client.get(f"/dashboard/?{PERIOD}&region=PL:mazowieckie").status_code == 400


def test_region_filtered_pages_keep_their_query_counts(client, regions):
    d = regions
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    client.force_login(d.a.manager)
    urls = [
        f"/dashboard/?{PERIOD}&region=PL:mazowieckie",
        f"/dashboard/?{PERIOD}&region=PL:mazowieckie&reason=defective",
        f"/dashboard/returns/?{PERIOD}&region=PL:mazowieckie",
    ]
    before = [_dashboard_queries(client, url) for url in urls]
    _add_returns(d, 30)  # C1's, in October
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    assert [_dashboard_queries(client, url) for url in urls] == before

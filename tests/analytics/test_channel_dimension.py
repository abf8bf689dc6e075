"""The channel a case came through (portal, API, or staff filing for a customer by phone,
e-mail, chat or on site) as a KPI dimension: a filter of every figure, read from the rollups
in agreement with the live computation, a table per channel on the dashboard, and the
drill-down lists narrowed by it."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from analytics import figures, kpis
from analytics.kpis import KpiFilters
from analytics.models import ComplaintRollup, ReturnRollup, Span
from analytics.rollup_reader import RollupReader
from analytics.rollups import kpi_rollups_rebuild
from complaints.models import Complaint
from customers.cases import CaseChannel
from returns.models import ReturnRequest
from tests.html import parse, table_rows

from .dataset import END, START, at
from .test_dashboard import PERIOD, listed, tile
from .test_rollups import AFTER, assert_agree

pytestmark = pytest.mark.django_db

PHONE, EMAIL = CaseChannel.PHONE, CaseChannel.EMAIL


@pytest.fixture
def channels(dataset):
    """Tenant A's cases with channels: R1 and K1, K3 by phone, R2 and K2 by e-mail, R4 (rejected)
    by phone; the rest came through the portal (see tests/analytics/dataset.py)."""
    d = dataset
    ReturnRequest.unscoped.filter(tenant=d.ta, number__in=["R1", "R4"]).update(channel=PHONE)
    ReturnRequest.unscoped.filter(tenant=d.ta, number="R2").update(channel=EMAIL)
    Complaint.unscoped.filter(tenant=d.ta, code__in=["K1", "K3"]).update(channel=PHONE)
    Complaint.unscoped.filter(tenant=d.ta, code="K2").update(channel=EMAIL)
    return d


def channel_filters(d) -> list[KpiFilters]:
    return [
        KpiFilters(channel=PHONE),
        KpiFilters(channel=EMAIL),
        KpiFilters(channel=CaseChannel.PORTAL),
        KpiFilters(channel=CaseChannel.CHAT),  # nothing came by chat
        KpiFilters(channel=PHONE, reason="defective"),  # no exact slice: live
        KpiFilters(channel=PHONE, customer_account_id=d.c1.pk),
        KpiFilters(channel=EMAIL, category_id=d.electronics.pk),
        KpiFilters(channel=PHONE, product_id=d.p2.pk, reason="wrong_size"),
    ]


def test_live_figures_per_channel_by_hand(channels):
    d = channels
    period = {"tenant": d.ta, "start": START, "end": END}
    # Returns of the period: R1 (phone), R2 (e-mail), R3 (portal); R4 rejected, R5 a draft.
    assert kpis.returns_by_channel(**period) == {PHONE: 1, EMAIL: 1, CaseChannel.PORTAL: 1}
    assert kpis.returns_count(**period, filters=KpiFilters(channel=PHONE)) == 1
    # R1's seven units by phone over the forty delivered (a delivery has no channel).
    rate = kpis.return_rate(**period, filters=KpiFilters(channel=PHONE))
    assert (rate.returned_quantity, rate.delivered_quantity) == (7, 40)
    # Complaints filed in the period: K1, K3 by phone, K2 by e-mail, K4, K5 in the portal.
    assert kpis.complaints_by_channel(**period) == {PHONE: 2, EMAIL: 1, CaseChannel.PORTAL: 2}
    volume = kpis.complaint_volume(**period, filters=KpiFilters(channel=PHONE))
    assert volume["category"] == {"product_quality": 1, "delivery": 1}
    assert kpis.returns_by_channel(**period, filters=KpiFilters(customer_account_id=d.c2.pk)) == {
        EMAIL: 1
    }
    # Another tenant's cases never count.
    other = {"tenant": d.tb, "start": START, "end": END}
    assert kpis.returns_by_channel(**other) == {CaseChannel.PORTAL: 1}


def test_rollups_agree_with_the_live_figures_per_channel(channels):
    d = channels
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    assert ReturnRollup.unscoped.filter(tenant=d.ta, slice="h", channel=PHONE).exists()
    assert ComplaintRollup.unscoped.filter(tenant=d.ta, slice="h", channel=EMAIL).exists()
    for filters in [KpiFilters(), *channel_filters(d)]:
        reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
        assert_agree(reader, d.ta, START, END, filters)
        live = {"tenant": d.ta, "start": START, "end": END, "filters": filters}
        assert figures.returns_by_channel(reader) == kpis.returns_by_channel(**live), filters
        assert figures.complaints_by_channel(reader) == kpis.complaints_by_channel(**live)
    # Grouped by channel under another filter: no exact slice, computed live.
    reader = RollupReader(
        tenant=d.ta,
        start=START,
        end=END,
        filters=KpiFilters(customer_account_id=d.c1.pk),
        now=AFTER,
    )
    assert figures.returns_by_channel(reader) == {PHONE: 1, CaseChannel.PORTAL: 1}


def test_today_is_added_to_the_rolled_up_days_per_channel(channels):
    # R3 (portal) is submitted on 20 Nov, the "today" of this test, and K4 is later still.
    d = channels
    now = at(11, 20, 18)
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=now)
    end = now.date()
    for filters in channel_filters(d):
        reader = RollupReader(tenant=d.ta, start=START, end=end, filters=filters, now=now)
        assert_agree(reader, d.ta, START, end, filters)
    reader = RollupReader(tenant=d.ta, start=START, end=end, now=now)
    assert figures.returns_by_channel(reader) == {PHONE: 1, EMAIL: 1, CaseChannel.PORTAL: 1}


def test_month_rows_keep_the_channel(channels):
    d = channels
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    october = ReturnRollup.unscoped.filter(tenant=d.ta, span=Span.MONTH, slice="h")
    assert set(october.values_list("channel", flat=True)) >= {PHONE}
    reader = RollupReader(
        tenant=d.ta, start=START, end=END, filters=KpiFilters(channel=PHONE), now=AFTER
    )
    assert reader.whole_months()  # October and November are read from month rows
    assert figures.returns_count(reader) == 1


def test_dashboard_narrows_every_figure_to_a_channel(client, channels):
    d = channels
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    client.force_login(d.a.manager)

    page = client.get("/dashboard/?" + PERIOD).content.decode()
    rows = table_rows(page, "table")
    assert ["Phone", "1", "2"] in rows
    assert ["E-mail", "1", "1"] in rows
    assert ["Portal", "1", "2"] in rows
    assert any("channel=phone" in link["href"] for link in parse(page).select("a[href]"))

    phone = client.get(f"/dashboard/?{PERIOD}&channel=phone")
    assert phone.status_code == 200
    html = phone.content.decode()
    # The filter form offers the channels and keeps the one chosen.
    chosen = parse(html).select("#f-channel option[selected]")
    assert [option["value"] for option in chosen] == ["phone"]
    offered = {option["value"] for option in parse(html).select("#f-channel option")}
    assert offered == {"", *CaseChannel.values}
    assert tile(html, "Returns") == "1"
    assert tile(html, "Complaints filed") == "2"
    assert tile(html, "Returned value") == "250.00 PLN"  # R1: 2 × 100 + 5 × 10

    # The lists behind the figures, and their exports, follow the channel.
    returns = client.get(f"/dashboard/returns/?{PERIOD}&channel=phone").content.decode()
    assert listed(returns) == ["R1"]
    complaints = client.get(f"/dashboard/complaints/?{PERIOD}&channel=email").content.decode()
    assert listed(complaints) == ["K2"]
    export = client.get(f"/dashboard/export/complaints.csv?{PERIOD}&channel=phone")
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "K1" in body and "K3" in body and "K2" not in body


def test_an_unknown_channel_is_refused(client, channels):
    client.force_login(channels.a.manager)
    response = client.get(f"/dashboard/?{PERIOD}&channel=fax")
    assert response.status_code == 400
    assert "Choose a channel from the list." in response.content.decode()
    export = client.get(f"/dashboard/export/returns.csv?{PERIOD}&channel=fax")
    assert export.status_code == 400


def test_rows_built_before_the_channel_keep_answering(channels):
    """The migration renames the full-grain slices; their rows (no channel yet) still add up
    for every question without a channel, until a rebuild adds the channels. (The region
    migration after it renames them again: tests/analytics/test_region_dimension.py.)"""
    d = channels
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    channel = importlib.import_module("analytics.migrations.0003_rollup_channel")
    region = importlib.import_module("analytics.migrations.0004_rollup_region")
    full = ReturnRollup.unscoped.filter(tenant=d.ta, slice="cghlpr")
    count = full.count()
    assert count
    full.update(slice="cgpr", channel="", country="", region="")
    ComplaintRollup.unscoped.filter(tenant=d.ta, slice="acghklp").update(
        slice="acgkp", channel="", country="", region=""
    )
    channel.rename_full_grain(apps, None)
    assert ReturnRollup.unscoped.filter(tenant=d.ta, slice="cghpr").count() == count
    assert not ReturnRollup.unscoped.filter(slice="cgpr").exists()
    assert not ComplaintRollup.unscoped.filter(slice="acgkp").exists()
    region.add_region_to_full_grain(apps, None)
    assert ReturnRollup.unscoped.filter(tenant=d.ta, slice="cghlpr").count() == count
    filters = KpiFilters(customer_account_id=d.c1.pk, category_id=d.electronics.pk)
    reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
    assert_agree(reader, d.ta, START, END, filters)

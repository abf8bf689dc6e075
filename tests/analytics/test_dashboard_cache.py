"""A dashboard section of past days is kept in the cache until a rollup is rebuilt (at most
KPI_PAST_CACHE_SECONDS), while its open cases now are read at every page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.rollups import kpi_rollups_rebuild
from returns.models import ReturnRequest
from tests.html import parse

from .dataset import END, START
from .test_dashboard import PERIOD, tile

pytestmark = pytest.mark.django_db


def _get(client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def _open_returns(html: str) -> int:
    """The returns of the "Open now" tile (the backlog)."""
    value = parse(html).select_one("ul.tiles li.tile:last-child .tile-value").text
    return int(value.split(" returns")[0])


def test_past_figures_are_kept_until_a_rebuild_and_the_backlog_is_always_live(
    client, dataset, settings
):
    settings.KPI_TODAY_CACHE_SECONDS = 60
    settings.KPI_PAST_CACHE_SECONDS = 3600
    d = dataset
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    client.force_login(d.a.manager)
    url = "/dashboard/?" + PERIOD  # October–November 2026: past days only

    first, computed = _get(client, url)
    again, from_cache = _get(client, url)
    assert tile(first, "Returns") == tile(again, "Returns") == "3"
    assert from_cache < computed / 2, (from_cache, computed)

    # R3 (approved, open) is cancelled: the backlog shows it at once, the period's figures
    # once its day is rolled up again.
    open_before = _open_returns(again)  # R3 (approved) and R6 (submitted in December)
    assert open_before == 2
    ReturnRequest.unscoped.filter(tenant=d.ta, number="R3").update(status="cancelled")
    cached, _queries = _get(client, url)
    assert tile(cached, "Returns") == "3"
    assert _open_returns(cached) == 1
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    rebuilt, _queries = _get(client, url)
    assert tile(rebuilt, "Returns") == "2"

    # Each section and each set of filters is kept apart.
    returns, _queries = _get(client, "/dashboard/kpis/returns/?" + PERIOD)
    assert tile(returns, "Returns") == "2"
    narrowed, _queries = _get(client, f"/dashboard/?{PERIOD}&customer={d.c2.pk}")
    assert tile(narrowed, "Returns") == "1"


def test_nothing_is_kept_when_caching_is_off(client, dataset, settings):
    settings.KPI_TODAY_CACHE_SECONDS = 0
    d = dataset
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    client.force_login(d.a.manager)
    url = "/dashboard/?" + PERIOD
    _html, computed = _get(client, url)
    _html, again = _get(client, url)
    assert again == computed

"""A tile's change against the previous period: no percentage without a base (the previous
period had no value, or 0 of a count or sum), percentage points for rates, and its colour
and word (better / worse) by whether higher is good for that figure."""

from __future__ import annotations

import re
from html import unescape

import pytest

from analytics.dashboard import TILES, Tile
from analytics.rollups import kpi_rollups_rebuild
from analytics.templatetags.kpi_format import kpi_change
from tests.html import parse

from .dataset import END, START

pytestmark = pytest.mark.django_db

NO_BASE = "no data in the previous period"


@pytest.mark.parametrize(
    ("value", "previous", "kind"),
    [
        (60, 0, "count"),  # 60 returns against none: not "+5900 %" (nor "+∞")
        (60, None, "count"),
        ("755.33", "0.00", "money"),
        (12.5, 0, "hours"),
        (4.2, None, "score"),
        (0.25, None, "rate"),
        (0, 0, "count"),
        (None, None, "rate"),
    ],
)
def test_no_base_says_so_and_has_no_colour(value, previous, kind):
    tile = Tile("t", "T", value, previous, kind, "down")
    assert not tile.has_base
    assert tile.change is None
    assert tile.trend == "none"
    assert kpi_change(tile) == NO_BASE


def test_a_rate_of_zero_is_a_base_in_points():
    # A reopen rate of 0 % before and 5 % now: 5 points more, worse (lower is better).
    tile = Tile("reopen_rate", "Reopen rate", 0.05, 0.0, "rate", "down")
    assert tile.has_base
    assert tile.change == pytest.approx(0.05)
    assert tile.trend == "bad"
    assert kpi_change(tile) == "+5.0 pp"


@pytest.mark.parametrize(
    ("value", "previous", "kind", "better", "change", "trend"),
    [
        (2, 1, "count", "down", "+100.0 %", "bad"),  # more returns: worse
        (2, 1, "count", "up", "+100.0 %", "good"),
        (200, 250, "money", "down", "−20.0 %", "good"),  # less returned value: better
        (0.9, 0.8, "rate", "up", "+10.0 pp", "good"),  # SLA compliance up: better
        (0.7, 0.8, "rate", "up", "−10.0 pp", "bad"),
        (3, 3, "count", "down", "±0.0 %", "flat"),
    ],
)
def test_the_change_and_its_colour_follow_which_way_is_better(
    value, previous, kind, better, change, trend
):
    tile = Tile("t", "T", value, previous, kind, better)
    assert tile.has_base
    assert kpi_change(tile) == change
    assert tile.trend == trend


def test_a_value_missing_now_against_a_base_is_no_change():
    tile = Tile("csat", "CSAT", None, 4.5, "score", "up")
    assert tile.has_base and tile.change is None and tile.trend == "none"
    assert kpi_change(tile) == "—"


# Which way is good for every figure of the dashboard, written out here on purpose: a new
# tile has to say it, and a tile that flips colours breaks this list.
HIGHER_IS_BETTER = {
    "restocking_fees",
    "decision_sla",
    "refund_sla",
    "update_cadence",
    "first_response_sla",
    "resolution_sla",
    "first_contact_rate",
    "csat",
    "csat_satisfied",
    "return_csat",
    "return_csat_satisfied",
    "return_nps",
    "complaint_nps",
}
LOWER_IS_BETTER = {
    "returns",
    "return_rate_quantity",
    "return_rate_value",
    "returned_value",
    "refunded",
    "resolution_median",
    "returns_by_exception",
    "returns_by_exception_value",
    "complaints",
    "first_response_median",
    "reopen_rate",
    "complaints_rejected",
    "repeat_complaints",
}


def test_every_tile_says_which_way_is_better():
    directions = {key: better for key, _label, _kind, better in TILES}
    assert set(directions) == HIGHER_IS_BETTER | LOWER_IS_BETTER
    assert {key for key, better in directions.items() if better == "up"} == HIGHER_IS_BETTER
    assert {key for key, better in directions.items() if better == "down"} == LOWER_IS_BETTER


def _tiles(html: str) -> dict[str, tuple[list[str], str]]:
    """Each tile's label → (its classes, the text of its change)."""
    found = {}
    for tile in parse(html).select("ul.tiles li.tile"):
        label = tile.select_one(".tile-label").text
        found[label] = (tile.classes, tile.select_one(".tile-change").text)
    return found


@pytest.fixture
def rolled_up(dataset):
    kpi_rollups_rebuild(tenant=dataset.ta, start=START, end=END)
    return dataset


@pytest.mark.parametrize(
    "section", ["/dashboard/", "/dashboard/kpis/returns/", "/dashboard/kpis/money/"]
)
def test_a_period_whose_previous_one_had_nothing_shows_no_percentage(client, rolled_up, section):
    # October–November 2026 is compared with August–September: no cases then, nothing
    # rolled up.
    client.force_login(rolled_up.a.manager)
    html = client.get(f"{section}?period=custom&from=2026-10-01&to=2026-11-30").content.decode()
    tiles = {label: found for label, found in _tiles(html).items() if label != "Open now"}
    assert tiles
    for label, (classes, change) in tiles.items():
        assert change == NO_BASE, (label, change)
        assert "trend-good" not in classes and "trend-bad" not in classes, label
    assert "%" not in " ".join(change for _classes, change in tiles.values())


def test_november_against_october_in_colour_and_words(client, rolled_up):
    client.force_login(rolled_up.a.manager)
    query = "period=custom&from=2026-11-01&to=2026-11-30"
    html = unescape(client.get(f"/dashboard/?{query}").content.decode())
    tiles = _tiles(html)
    # Returns R2, R3 against R1: more returns, worse.
    classes, change = tiles["Returns"]
    assert "trend-bad" in classes and change == "+100.0 % (worse) before: 1"
    # Complaints K1–K4 against K5.
    classes, change = tiles["Complaints filed"]
    assert "trend-bad" in classes and change == "+300.0 % (worse) before: 1"
    # Returned value 200.00 against 250.00: less, better.
    classes, change = tiles["Returned value"]
    assert "trend-good" in classes and change == "−20.0 % (better) before: 250.00 PLN"
    assert re.search(r"compared with 1 Oct 2026 – 31 Oct 2026", html)

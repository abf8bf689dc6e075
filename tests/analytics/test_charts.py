"""The report's SVG charts: well-formed markup whatever the labels hold, the shapes a reader
sees (bars, lines with gaps, thinned labels, legend), nice axis steps, and a PDF render."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader

from analytics.charts import PALETTE, bar_chart_svg, line_chart_svg, nice_ticks
from rma_portal.documents.pdf import html_to_pdf

NS = {"svg": "http://www.w3.org/2000/svg"}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
HOSTILE = '<b>&"x"\'</b>'


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - markup the module under test just made


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iterfind(".//svg:text", NS)]


def bar_widths(root: ET.Element, attribute: str) -> list[float]:
    return [float(rect.get(attribute)) for rect in root.iterfind(".//svg:rect", NS)]


def test_a_chart_is_an_accessible_svg_of_the_requested_size():
    root = parse(
        line_chart_svg(labels=MONTHS, series=[("Returns", [1, 2, 3, 4, 5, 6])], title="Returns")
    )

    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Returns"
    assert root.get("viewBox") == "0 0 640 240"
    assert (root.get("width"), root.get("height")) == ("640px", "240px")
    assert "Returns" in texts(root)


@pytest.mark.parametrize(
    "render",
    [
        lambda text: line_chart_svg(
            labels=[text, "b"], series=[(text, [1, 2]), ("other", [2, 1])], title=text
        ),
        lambda text: bar_chart_svg(labels=[text, "b"], values=[1, 2], title=text),
        lambda text: bar_chart_svg(labels=[text, "b"], values=[1, 2], title=text, horizontal=True),
        lambda text: bar_chart_svg(labels=[], values=[], title=text, empty_text=text),
    ],
    ids=["line", "bars", "horizontal-bars", "empty"],
)
def test_text_from_arguments_is_escaped_and_reads_back_unchanged(render):
    markup = render(HOSTILE)

    root = parse(markup)  # raises on anything not well-formed

    assert "<b>" not in markup
    assert root.get("aria-label") == HOSTILE
    assert texts(root).count(HOSTILE) >= 2  # the title and the label (or empty text)


def test_characters_xml_cannot_hold_are_dropped_from_labels():
    root = parse(bar_chart_svg(labels=["Wrong\x00 size\x1b", "b"], values=[3, 1]))

    assert "Wrong size" in texts(root)


@pytest.mark.parametrize(
    "render",
    [
        lambda empty: line_chart_svg(labels=[], series=[], empty_text=empty),
        lambda empty: line_chart_svg(
            labels=MONTHS[:3],
            series=[("a", [None, None, None]), ("b", [0, None, 0])],
            empty_text=empty,
        ),
        lambda empty: bar_chart_svg(labels=[], values=[], empty_text=empty),
        lambda empty: bar_chart_svg(labels=["a", "b"], values=[0, 0], empty_text=empty),
        lambda empty: bar_chart_svg(
            labels=["a"], values=[0], horizontal=True, empty_text=empty, title="Reasons"
        ),
    ],
    ids=["line-no-labels", "line-none-and-zero", "bars-no-labels", "bars-zero", "horizontal"],
)
def test_empty_data_shows_the_empty_text_centred(render):
    root = parse(render("Brak danych"))

    [empty] = [text for text in root.iterfind(".//svg:text", NS) if text.text == "Brak danych"]
    assert empty.get("text-anchor") == "middle"
    assert float(empty.get("x")) == 320
    assert root.find(".//svg:rect", NS) is None
    assert root.find(".//svg:polyline", NS) is None


def test_the_default_empty_text():
    assert texts(parse(bar_chart_svg(labels=[], values=[]))) == ["No data"]


@pytest.mark.parametrize("horizontal", [False, True])
def test_one_bar_per_value_each_with_its_value_printed(horizontal):
    values = [42, 17.5, 8, 0, 3]

    root = parse(
        bar_chart_svg(
            labels=["Wrong size", "Damaged", "Late", "Other", "Changed mind"],
            values=values,
            horizontal=horizontal,
            y_format=lambda value: f"{value:g} pcs",
        )
    )

    assert len(root.findall(".//svg:rect", NS)) == len(values)
    assert {"42 pcs", "17.5 pcs", "8 pcs", "0 pcs", "3 pcs"} <= set(texts(root))
    lengths = bar_widths(root, "width" if horizontal else "height")
    assert lengths.index(max(lengths)) == 0
    assert lengths[3] == 0


def test_horizontal_bars_cut_long_labels_short_with_an_ellipsis():
    long_name = "Damaged in transit while being shipped by the carrier in winter weather"

    root = parse(bar_chart_svg(labels=[long_name, "Wrong size"], values=[5, 3], horizontal=True))

    [cut] = [text for text in texts(root) if text.endswith("…")]
    assert long_name.startswith(cut[:-1])
    assert len(cut) < len(long_name)
    assert "Wrong size" in texts(root)


def test_a_none_in_a_line_series_leaves_a_gap_and_a_lone_point_is_a_dot():
    root = parse(
        line_chart_svg(
            labels=["a", "b", "c", "d", "e", "f", "g"],
            series=[("Returns", [1, 2, None, 4, 5, None, 7])],
        )
    )

    polylines = root.findall(".//svg:polyline", NS)
    assert [len(line.get("points").split()) for line in polylines] == [2, 2]
    assert len(root.findall(".//svg:circle", NS)) == 1


def test_every_series_has_its_own_colour_and_a_legend_entry():
    root = parse(
        line_chart_svg(
            labels=MONTHS,
            series=[
                ("Returns", [1, 2, 3, 4, 5, 6]),
                ("Complaints", [2, 2, 2, 2, 2, 2]),
                ("Repairs", [0, 1, 0, 1, 0, 1]),
            ],
        )
    )

    colours = [line.get("stroke") for line in root.findall(".//svg:polyline", NS)]
    assert colours == list(PALETTE[:3])
    assert {"Returns", "Complaints", "Repairs"} <= set(texts(root))


def test_a_single_series_has_no_legend():
    root = parse(line_chart_svg(labels=MONTHS, series=[("Returns", [1, 2, 3, 4, 5, 6])]))

    assert "Returns" not in texts(root)


def test_too_many_x_labels_are_thinned_out():
    days = [f"2026-10-{day:02}" for day in range(1, 32)]

    root = parse(line_chart_svg(labels=days, series=[("Rate", list(range(31)))]))

    shown = [text for text in texts(root) if text.startswith("2026-")]
    assert days[0] in shown
    assert 4 <= len(shown) < len(days)
    assert set(shown) <= set(days)  # thinned, not cut short


def test_y_axis_ticks_are_nice_steps_labelled_with_y_format():
    root = parse(
        line_chart_svg(
            labels=MONTHS,
            series=[("Return rate", [0.1, 0.25, 0.87, 0.4, 0.3, 0.2])],
            y_format=lambda value: f"{value:.0%}",
        )
    )

    assert texts(root)[:6] == ["0%", "20%", "40%", "60%", "80%", "100%"]


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 87, [0, 20, 40, 60, 80, 100]),
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 4, [0, 1, 2, 3, 4]),
        (0, 0.87, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 101, [0, 50, 100, 150]),
        (0, 12_500, [0, 5000, 10_000, 15_000]),
        (-12, 30, [-20, -10, 0, 10, 20, 30]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    ],
)
def test_nice_ticks(low, high, ticks):
    assert nice_ticks(low, high) == ticks


def test_a_series_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="3 values for 2 labels"):
        line_chart_svg(labels=["a", "b"], series=[("Returns", [1, 2, 3])])
    with pytest.raises(ValueError, match="1 values for 2 labels"):
        bar_chart_svg(labels=["a", "b"], values=[1])


def test_charts_render_into_a_pdf_with_their_text():
    # given a report page with a line chart and a bar chart
    line = line_chart_svg(
        labels=["Oct 2026", "Nov 2026", "Dec 2026"],
        series=[("Returns", [12, 15, 9]), ("Complaints", [3, None, 5])],
        title="Cases per month",
    )
    bars = bar_chart_svg(
        labels=["Wrong size", "Damaged in transit", "Not as described"],
        values=[42, 17, 8],
        title="Return reasons",
        horizontal=True,
    )
    html = f"<!doctype html><html><body><h1>KPI report</h1>{line}{bars}</body></html>"

    # when
    document = html_to_pdf(html)

    # then
    assert document.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(document)).pages[0].extract_text()
    for expected in ("Wrong size", "Return reasons", "Nov 2026", "Complaints"):
        assert expected in text

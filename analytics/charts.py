"""Line and bar charts as inline SVG strings for the monthly KPI report's PDF (WeasyPrint):
basic shapes and text with presentation attributes only, no CSS, scripts or fonts to load."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

SVG_NS = "http://www.w3.org/2000/svg"

# Okabe–Ito colours: told apart with the common colour-vision deficiencies and on a greyscale
# print-out; its yellow and sky blue are left out as too faint on white paper.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#000000")
TEXT_COLOUR = "#333333"
MUTED_COLOUR = "#666666"
GRID_COLOUR = "#DDDDDD"
AXIS_COLOUR = "#999999"

FONT_SIZE = 10
TITLE_FONT_SIZE = 12
PAD = 6
TITLE_HEIGHT = 20
LEGEND_ROW_HEIGHT = 16
# No font metrics on the server: text is measured by its length times the average advance of
# a sans-serif character (DejaVu Sans, the usual fallback, is one of the wider ones).
CHAR_WIDTH_EM = 0.6
# Baseline offset that centres a line of text vertically on a point; `dominant-baseline` is
# not drawn alike everywhere.
CENTRE_SHIFT_EM = 0.35
# An axis steps by 1, 2 or 5 × 10ⁿ: round numbers a reader adds up at a glance.
NICE_MANTISSAS = (1, 2, 5)
ELLIPSIS = "…"

# Characters XML 1.0 cannot hold even escaped; a pasted product name may carry one.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WHITESPACE = re.compile(r"[\t\n\r]")

Number = float | int | Decimal


def default_y_format(value: float) -> str:
    """At most two decimals, trailing zeros dropped, thousands grouped by a narrow space:
    `12500` → "12 500", `0.25` → "0.25", `3.0` → "3"."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".").replace(",", "\u202f")
    return "0" if text == "-0" else text


def nice_ticks(low: float, high: float, *, max_intervals: int = 5) -> list[float]:
    """Axis ticks from `low` to past `high` in the smallest step of 1, 2 or 5 × 10ⁿ that
    needs at most `max_intervals` intervals (which makes 3 to 5 of them when it is 5).

    `nice_ticks(0, 87)` → `[0, 20, 40, 60, 80, 100]`.
    """
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"An axis needs finite bounds, low <= high (got {low}, {high}).")
    if max_intervals < 1:
        raise ValueError("An axis needs at least one interval.")
    if low == high:  # one value: an axis from zero to it, or around it when it is zero
        low, high = (min(low, 0.0), max(high, 0.0)) if low else (0.0, 1.0)
    exponent = math.floor(math.log10((high - low) / max_intervals))
    while True:
        for mantissa in NICE_MANTISSAS:
            step = mantissa * 10.0**exponent
            # The tolerance keeps 0.6 / 0.2 = 2.9999999999999996 on tick 3.
            first = math.floor(low / step + 1e-9)
            last = math.ceil(high / step - 1e-9)
            if last - first <= max_intervals:
                digits = max(0, -exponent)
                return [round(index * step, digits) + 0.0 for index in range(first, last + 1)]
        exponent += 1


def line_chart_svg(
    *,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    width: int = 640,
    height: int = 240,
    y_format: Callable[[float], str] = default_y_format,
    title: str = "",
    empty_text: str = "No data",
) -> SafeString:
    """One polyline per series over the x `labels` (None or NaN leaves a gap; a point with
    gaps either side is a dot), y gridlines in nice steps, a legend above when there is more
    than one series (colours repeat after the sixth). Every series needs one value per label;
    labels too many to fit are thinned out to every n-th."""
    _check_size(width, height)
    labels = [_clean(label) for label in labels]
    lines = []
    for name, values in series:
        points = [_finite_or_none(value) for value in values]
        if len(points) != len(labels):
            raise ValueError(f"Series {name!r} has {len(points)} values for {len(labels)} labels.")
        lines.append((_clean(name), points))
    present = [value for _, points in lines for value in points if value is not None]
    if not labels or not any(present):
        return _empty_svg(width, height, title, empty_text)

    parts: list[str] = []
    top = PAD + (TITLE_HEIGHT if title else 0)
    if len(lines) > 1:
        legend, legend_height = _legend([name for name, _ in lines], top, width)
        parts.extend(legend)
        top += legend_height
    ticks = nice_ticks(min(0.0, *present), max(0.0, *present))
    tick_texts = [_clean(y_format(tick)) for tick in ticks]

    # Labels are centred on their points, so half the first and last may hang past the plot.
    keep = min(_widest(labels), _text_width("x" * 16))
    left = max(PAD + _widest(tick_texts) + PAD, PAD + keep / 2)
    right = width - max(PAD * 2, PAD + keep / 2)
    bottom = height - PAD - FONT_SIZE - PAD
    plot = _Plot(left, top, right, bottom, ticks)
    parts.extend(_y_grid(plot, tick_texts))

    count = len(labels)
    slot = plot.width / (count - 1) if count > 1 else plot.width

    def x_at(index: int) -> float:
        return plot.left + index * slot if count > 1 else plot.left + plot.width / 2

    stride, room = _label_stride(keep, slot)
    for index in range(0, count, stride):
        label = _truncate(labels[index], min(room, keep))
        parts.append(_text(x_at(index), height - PAD, label, anchor="middle"))

    for number, (_, points) in enumerate(lines):
        colour = PALETTE[number % len(PALETTE)]
        for run in _runs(points):
            if len(run) == 1:
                index, value = run[0]
                parts.append(
                    f'<circle cx="{_n(x_at(index))}" cy="{_n(plot.y(value))}" r="2.5" '
                    f'fill="{colour}"/>'
                )
            else:
                coordinates = " ".join(
                    f"{_n(x_at(index))},{_n(plot.y(value))}" for index, value in run
                )
                parts.append(
                    f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
                    f'stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>'
                )
    return _svg(width, height, title, parts)


def bar_chart_svg(
    *,
    labels: Sequence[str],
    values: Sequence[Number],
    width: int = 640,
    height: int = 240,
    y_format: Callable[[float], str] = default_y_format,
    title: str = "",
    horizontal: bool = False,
    empty_text: str = "No data",
) -> SafeString:
    """One bar per value with its formatted value at the bar's end: vertical bars labelled
    below on a y axis in nice steps, or horizontal bars labelled on the left (long labels cut
    short with an ellipsis) for breakdowns and top-10 lists, first label on top."""
    _check_size(width, height)
    labels = [_clean(label) for label in labels]
    numbers = [_finite_or_none(value) for value in values]
    if len(numbers) != len(labels):
        raise ValueError(f"{len(numbers)} values for {len(labels)} labels.")
    if any(number is None for number in numbers):
        raise ValueError("Bar values must be finite numbers.")
    bars: list[float] = [number for number in numbers if number is not None]
    if not labels or not any(bars):
        return _empty_svg(width, height, title, empty_text)
    draw = _horizontal_bars if horizontal else _vertical_bars
    return _svg(width, height, title, draw(labels, bars, y_format, width, height, title))


def _vertical_bars(
    labels: list[str],
    values: list[float],
    y_format: Callable[[float], str],
    width: int,
    height: int,
    title: str,
) -> list[str]:
    value_texts = [_clean(y_format(value)) for value in values]
    ticks = nice_ticks(min(0.0, *values), max(0.0, *values))
    tick_texts = [_clean(y_format(tick)) for tick in ticks]
    # Room above for the value over the tallest bar, and below for one under a negative bar.
    top = PAD + (TITLE_HEIGHT if title else 0) + FONT_SIZE + PAD
    label_line = height - PAD
    bottom = label_line - FONT_SIZE - PAD - (FONT_SIZE + PAD if min(values) < 0 else 0)
    left = PAD + _widest(tick_texts) + PAD
    plot = _Plot(left, top, width - PAD * 2, bottom, ticks)
    parts = _y_grid(plot, tick_texts)

    slot = plot.width / len(values)
    bar_width = min(slot * 0.7, 48.0)
    stride, room = _label_stride(min(_widest(labels), _text_width("x" * 8)), slot)
    zero = plot.y(0.0)
    parts.append(f'<g fill="{PALETTE[0]}">')
    for index, value in enumerate(values):
        end = plot.y(value)
        x = plot.left + index * slot + (slot - bar_width) / 2
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(min(zero, end))}" width="{_n(bar_width)}" '
            f'height="{_n(abs(zero - end))}"/>'
        )
    parts.append("</g>")
    for index, (value, value_text) in enumerate(zip(values, value_texts, strict=True)):
        centre = plot.left + (index + 0.5) * slot
        end = plot.y(value)
        y = end - 4 if value >= 0 else end + FONT_SIZE + 2
        parts.append(_text(centre, y, value_text, anchor="middle"))
        if index % stride == 0:
            parts.append(_text(centre, label_line, _truncate(labels[index], room), anchor="middle"))
    return parts


def _horizontal_bars(
    labels: list[str],
    values: list[float],
    y_format: Callable[[float], str],
    width: int,
    height: int,
    title: str,
) -> list[str]:
    value_texts = [_clean(y_format(value)) for value in values]
    top = PAD + (TITLE_HEIGHT if title else 0)
    bottom = height - PAD
    row = (bottom - top) / len(values)
    # Many rows in a short chart: smaller text rather than overlapping lines.
    font_size = max(6.0, min(float(FONT_SIZE), row * 0.8))
    bar_height = min(row * 0.7, 24.0)
    label_room = min(_widest(labels, font_size), width * 0.35)
    value_room = _widest(value_texts, font_size) + PAD
    label_edge = PAD + label_room
    left = label_edge + PAD + (value_room if min(values) < 0 else 0)
    right = max(width - PAD - value_room, left + 1)
    low, high = min(0.0, *values), max(0.0, *values)

    def x_at(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    zero = x_at(0.0)
    parts = [f'<g fill="{PALETTE[0]}">']
    for index, value in enumerate(values):
        end = x_at(value)
        y = top + index * row + (row - bar_height) / 2
        parts.append(
            f'<rect x="{_n(min(zero, end))}" y="{_n(y)}" width="{_n(abs(end - zero))}" '
            f'height="{_n(bar_height)}"/>'
        )
    parts.append("</g>")
    parts.append(_line(zero, top, zero, bottom, AXIS_COLOUR))
    for index, (label, value, value_text) in enumerate(
        zip(labels, values, value_texts, strict=True)
    ):
        baseline = top + (index + 0.5) * row + font_size * CENTRE_SHIFT_EM
        end = x_at(value)
        parts.append(
            _text(
                label_edge,
                baseline,
                _truncate(label, label_room, font_size),
                size=font_size,
                anchor="end",
            )
        )
        if value >= 0:
            parts.append(_text(end + 4, baseline, value_text, size=font_size))
        else:
            parts.append(_text(end - 4, baseline, value_text, size=font_size, anchor="end"))
    return parts


class _Plot:
    """The plot area in SVG coordinates, and its y scale from the first to the last tick."""

    def __init__(
        self, left: float, top: float, right: float, bottom: float, ticks: list[float]
    ) -> None:
        self.left, self.top = left, top
        self.right, self.bottom = max(right, left + 1), max(bottom, top + 1)
        self.ticks = ticks
        self.low, self.high = ticks[0], ticks[-1]

    @property
    def width(self) -> float:
        return self.right - self.left

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return self.bottom - share * (self.bottom - self.top)


def _y_grid(plot: _Plot, tick_texts: list[str]) -> list[str]:
    parts = []
    for tick, tick_text in zip(plot.ticks, tick_texts, strict=True):
        y = plot.y(tick)
        colour = AXIS_COLOUR if tick == 0 else GRID_COLOUR
        parts.append(_line(plot.left, y, plot.right, y, colour))
        parts.append(
            _text(
                plot.left - PAD,
                y + FONT_SIZE * CENTRE_SHIFT_EM,
                tick_text,
                anchor="end",
                fill=MUTED_COLOUR,
            )
        )
    return parts


def _legend(names: list[str], top: float, width: int) -> tuple[list[str], float]:
    """Swatch and name per series, left to right, wrapping onto more rows when needed."""
    parts, x, row = [], float(PAD), 0
    for number, name in enumerate(names):
        name = _truncate(name, width / 2)
        item_width = 16 + 4 + _text_width(name) + 14
        if x > PAD and x + item_width > width - PAD:
            x, row = float(PAD), row + 1
        baseline = top + row * LEGEND_ROW_HEIGHT + FONT_SIZE
        middle = baseline - FONT_SIZE * CENTRE_SHIFT_EM
        colour = PALETTE[number % len(PALETTE)]
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(middle)}" x2="{_n(x + 16)}" y2="{_n(middle)}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(_text(x + 20, baseline, name))
        x += item_width
    return parts, (row + 1) * LEGEND_ROW_HEIGHT + PAD


def _label_stride(keep: float, slot: float) -> tuple[int, float]:
    """Show every n-th label so that `keep` pixels of each fit; how wide each may be."""
    gap = 8
    stride = max(1, math.ceil((keep + gap) / slot)) if slot > 0 else 1
    return stride, stride * slot - gap


def _runs(points: list[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive (index, value) pairs between the gaps."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(points):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((index, value))
    if current:
        runs.append(current)
    return runs


def _empty_svg(width: int, height: int, title: str, empty_text: str) -> SafeString:
    middle = (height + (TITLE_HEIGHT if title else 0)) / 2 + 12 * CENTRE_SHIFT_EM
    text = _text(width / 2, middle, _clean(empty_text), size=12, anchor="middle", fill=MUTED_COLOUR)
    return _svg(width, height, title, [text])


def _svg(width: int, height: int, title: str, parts: list[str]) -> SafeString:
    title = _clean(title)
    heading = (
        _text(PAD, PAD + TITLE_FONT_SIZE, title, size=TITLE_FONT_SIZE, bold=True) if title else ""
    )
    return mark_safe(  # noqa: S308 - argument text reaches the markup only through escape()
        f'<svg xmlns="{SVG_NS}" width="{width}px" height="{height}px" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'font-family="sans-serif">{heading}{"".join(parts)}</svg>'
    )


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = FONT_SIZE,
    anchor: str = "start",
    fill: str = TEXT_COLOUR,
    bold: bool = False,
) -> str:
    """A <text> element; the one place text enters the markup, always escaped."""
    extra = (f' text-anchor="{anchor}"' if anchor != "start" else "") + (
        ' font-weight="bold"' if bold else ""
    )
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" fill="{fill}"{extra}>'
        f"{escape(content)}</text>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{colour}" '
        f'stroke-width="1"/>'
    )


def _n(value: float) -> str:
    """A coordinate to a tenth of a pixel, without a trailing ".0"."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _clean(text: object) -> str:
    """Text as one line of characters XML can hold (labels may be lazy translations)."""
    return _NOT_IN_XML.sub("", _WHITESPACE.sub(" ", str(text)))


def _finite_or_none(value: Number | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text_width(text: str, font_size: float = FONT_SIZE) -> float:
    return len(text) * font_size * CHAR_WIDTH_EM


def _widest(texts: list[str], font_size: float = FONT_SIZE) -> float:
    return max((_text_width(text, font_size) for text in texts), default=0.0)


def _truncate(text: str, room: float, font_size: float = FONT_SIZE) -> str:
    """`text`, or as much of it as fits in `room` pixels followed by an ellipsis."""
    if _text_width(text, font_size) <= room:
        return text
    keep = max(1, math.floor(room / (font_size * CHAR_WIDTH_EM)) - 1)
    return text[:keep].rstrip() + ELLIPSIS


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ValueError(f"A chart needs a positive size (got {width}×{height}).")

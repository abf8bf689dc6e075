"""Formatting KPI figures for pages and documents: rates as percentages, money with the
tenant's currency, durations in hours or days, changes against the previous period."""

from __future__ import annotations

import datetime

from django import template
from django.utils.formats import date_format, number_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from rma_portal.formats import money

register = template.Library()


def format_kpi(value, kind: str, currency: str = "") -> str:
    if value is None or value == "":
        return "—"
    if kind == "text":
        return str(value)
    if kind == "day":  # "2026-12-07" (as the CSV export writes it)
        return date_format(datetime.date.fromisoformat(str(value)), "DATE_FORMAT")
    if kind == "month":  # "2026-12"
        return date_format(datetime.date.fromisoformat(f"{value}-01"), "YEAR_MONTH_FORMAT")
    if kind == "rate":
        return f"{number_format(round(float(value) * 100, 1), 1)} %"
    if kind == "money":
        return money(value, currency)
    if kind in ("hours", "bhours"):
        hours = float(value)
        if hours >= 48:
            return _("%(days)s d") % {"days": number_format(round(hours / 24, 1), 1)}
        return _("%(hours)s h") % {"hours": number_format(round(hours, 1), 1)}
    if kind == "score":
        return number_format(round(float(value), 2), 2)
    return number_format(value, 0, force_grouping=True)


@register.simple_tag
def kpi(value, kind: str, currency: str = "") -> str:
    """`{% kpi value "rate" %}`: the figure as people read it (localised digits)."""
    return format_kpi(value, kind, currency)


@register.simple_tag
def kpi_change(tile) -> str:
    """The change of a tile against the previous period: points for rates, else percent; a
    previous period without a value (or 0, for anything but a rate) is no base for one."""
    if not tile.has_base:
        return _("no data in the previous period")
    change = tile.change
    if change is None:
        return "—"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    if tile.kind == "rate":
        return _("%(sign)s%(points)s pp") % {
            "sign": sign,
            "points": number_format(round(abs(change) * 100, 1), 1),
        }
    return f"{sign}{number_format(round(abs(change) * 100, 1), 1)} %"


@register.filter
def at_index(items, index):
    """`items[index]`, or None past the end (a table's column kinds, its row links)."""
    try:
        return items[index]
    except (IndexError, TypeError):
        return None


@register.filter
def dict_get(mapping, key):
    """`mapping[key]` in a template, None when missing."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag
def select_options(choices, current) -> str:
    """<option>s of (value, label…) rows, the one equal to `current` selected: built in one
    go, as a large catalogue has thousands of products."""
    current = "" if current is None else str(current)
    selected = mark_safe(" selected")
    rows = (
        (value, selected if str(value) == current else "", " · ".join(map(str, label)))
        for value, *label in choices
    )
    return format_html_join("", '<option value="{}"{}>{}</option>', rows)

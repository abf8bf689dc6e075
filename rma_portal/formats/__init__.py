"""How dates, times and numbers are written to people, one convention per language.

The per-language modules (`rma_portal/formats/<language>/formats.py`, settings
FORMAT_MODULE_PATH) define the named formats: DATE_FORMAT, DATETIME_FORMAT, TIME_FORMAT,
YEAR_MONTH_FORMAT and the number separators. The short variants are the same as the long
ones, so a page never mixes two ways of writing a date. Templates use the names
(`|date:"DATE_FORMAT"`), Python code the helpers below; machine formats (ISO 8601 in the API,
webhooks, CSV, `<time datetime>` attributes and input values) do not come through here.

Built-in template filters (settings TEMPLATES "builtins", rma_portal.formats.tags):
`{{ due_at|wall }}` for the wall-clock strings e-mail contexts store (`rma_portal.sla.
wall_clock`, language-neutral so one context serves every recipient) and
`{{ amount|money:currency }}` for amounts.
"""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.formats import date_format, number_format


def local_moment(moment: datetime.datetime | None, time_zone: str) -> str:
    """A moment as the wall-clock time of `time_zone` in the active language's
    DATETIME_FORMAT; "" for no moment."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(time_zone))
    return date_format(local, "DATETIME_FORMAT")


def local_day(day: datetime.date | None) -> str:
    """A calendar day in the active language's DATE_FORMAT; "" for none."""
    if day is None:
        return ""
    return date_format(day, "DATE_FORMAT")


def parse_wall_clock(text: str) -> datetime.datetime | datetime.date | None:
    """The wall-clock string of an e-mail context back as a naive datetime ("2026-11-17 09:00",
    also with seconds or ISO's "T" and an offset, which is dropped: the text is already the
    tenant's local time) or a date ("2026-11-17"); None for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) == 10:
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=None)


def wall_text(value) -> str:
    """A wall-clock string (or a date / naive datetime) in the active language's DATE_FORMAT or
    DATETIME_FORMAT; text it cannot read is shown as it is."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        parsed = parse_wall_clock(value)
        if parsed is None:
            return value
        value = parsed
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_format(value, "DATETIME_FORMAT")
    return date_format(value, "DATE_FORMAT")


def money(amount, currency: str = "") -> str:
    """An amount with two decimals, the active language's separators and grouping, then the
    currency code: "1,234.50 PLN" / "1 234,50 PLN"; "" for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    text = number_format(value, 2, force_grouping=True)
    return f"{text} {currency}" if currency else text

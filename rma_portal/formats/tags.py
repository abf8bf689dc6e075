"""Template filters for the formats of rma_portal.formats, built into every template
(settings TEMPLATES "builtins")."""

from __future__ import annotations

from django import template

from . import money as _money
from . import wall_text

register = template.Library()


@register.filter
def wall(value) -> str:
    """`{{ due_at|wall }}`: a stored wall-clock string ("2026-11-17 09:00" / "2026-11-17") in
    the language's DATETIME_FORMAT / DATE_FORMAT."""
    return wall_text(value)


@register.filter
def money(amount, currency: str = "") -> str:
    """`{{ amount|money:currency }}`: "1,234.50 PLN" / "1 234,50 PLN"."""
    return _money(amount, currency)

"""Checking the cells of one row: text, slugs, whole numbers, money, booleans, dates, VAT…

Every problem goes to the report with the row's line; a failed cell reads as INVALID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from customers.validators import normalize_vat_number, validate_vat_number

from .reading import Row
from .report import ImportReport

SERIAL_SEPARATOR = "|"
MAX_POSITIVE_INT = 2_147_483_647  # PositiveIntegerField on PostgreSQL
MAX_MONEY = Decimal("9999999999.99")  # DecimalField(max_digits=12, decimal_places=2)
VAT_NUMBER_MAX_LENGTH = 40  # as typed, before spaces, dashes and dots are dropped


class _Invalid:
    """A cell that failed its check; the row's error is already in the report."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()

_BOOLEANS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "tak": True,
    "nie": False,
}
_MONEY_RE = re.compile(r"-?\d+(?:[.,]\d+)?")
_WHOLE_RE = re.compile(r"[+-]?\d+")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SLUG_RE = re.compile(r"[-a-zA-Z0-9_]+")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_CENT = Decimal("0.01")


def field_max_length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length


def valid(*values: Any) -> bool:
    return all(value is not INVALID for value in values)


class RowCheck:
    """Parses the cells of one row and records every problem of the row in the report."""

    __slots__ = ("cells", "line", "ok", "report")

    def __init__(self, report: ImportReport, row: Row):
        self.report = report
        self.line = row.line
        self.cells = row.cells
        self.ok = True

    def fail(self, message: str) -> Any:
        self.report.add_error(self.line, message)
        self.ok = False
        return INVALID

    def _required(self, column: str) -> Any:
        return self.fail(_("%(column)s is required") % {"column": column})

    def text(self, column: str, *, max_length: int, required: bool = False) -> Any:
        value = self.cells.get(column, "")
        if not value and required:
            return self._required(column)
        if len(value) > max_length:
            return self.fail(
                _("%(column)s is longer than %(max)d characters (%(length)d)")
                % {"column": column, "max": max_length, "length": len(value)}
            )
        return value

    def slug(self, column: str, *, max_length: int) -> Any:
        value = self.text(column, max_length=max_length, required=True)
        if value is not INVALID and not _SLUG_RE.fullmatch(value):
            return self.fail(
                _("%(column)s may hold only letters, digits, '-' and '_', got '%(value)s'")
                % {"column": column, "value": value}
            )
        return value

    def whole_number(self, column: str) -> Any:
        value = self.cells.get(column, "")
        if not value:
            return self._required(column)
        if not _WHOLE_RE.fullmatch(value) or int(value) < 1:
            return self.fail(
                _("%(column)s must be a whole number greater than 0, got '%(value)s'")
                % {"column": column, "value": value}
            )
        if int(value) > MAX_POSITIVE_INT:
            return self.fail(
                _("%(column)s is too large, got '%(value)s'") % {"column": column, "value": value}
            )
        return int(value)

    def money(self, column: str) -> Any:
        value = self.cells.get(column, "")
        if not value:
            return self._required(column)
        if not _MONEY_RE.fullmatch(value):
            return self.fail(
                _("%(column)s must be an amount such as 12.50 or 12,50, got '%(value)s'")
                % {"column": column, "value": value}
            )
        amount = Decimal(value.replace(",", "."))
        if amount < 0:
            return self.fail(
                _("%(column)s must not be negative, got '%(value)s'")
                % {"column": column, "value": value}
            )
        if amount != amount.quantize(_CENT):
            return self.fail(
                _("%(column)s has more than 2 decimal places, got '%(value)s'")
                % {"column": column, "value": value}
            )
        if amount > MAX_MONEY:
            return self.fail(
                _("%(column)s is too large, got '%(value)s'") % {"column": column, "value": value}
            )
        return amount.quantize(_CENT)

    def boolean(self, column: str, *, required: bool = False) -> Any:
        """True/False, or None for an empty optional cell."""
        value = self.cells.get(column, "")
        if not value:
            return self._required(column) if required else None
        parsed = _BOOLEANS.get(value.lower())
        if parsed is None:
            return self.fail(
                _("%(column)s must be one of true/false, 1/0, yes/no, tak/nie, got '%(value)s'")
                % {"column": column, "value": value}
            )
        return parsed

    def date(self, column: str, *, required: bool = False) -> Any:
        """A date, or None for an empty optional cell."""
        value = self.cells.get(column, "")
        if not value:
            return self._required(column) if required else None
        try:
            if not _DATE_RE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            return self.fail(
                _("%(column)s must be a date as YYYY-MM-DD, got '%(value)s'")
                % {"column": column, "value": value}
            )

    def choice(self, column: str, allowed: Iterable[str], *, transform=str.lower) -> Any:
        """One of `allowed`, or None for an empty cell."""
        value = transform(self.cells.get(column, ""))
        if not value:
            return None
        if value not in allowed:
            return self.fail(
                _("%(column)s must be one of %(allowed)s, got '%(value)s'")
                % {"column": column, "allowed": ", ".join(sorted(allowed)), "value": value}
            )
        return value

    def country(self, column: str) -> Any:
        """A two-letter country code, or None for an empty cell."""
        value = self.cells.get(column, "").upper()
        if not value:
            return None
        if not _COUNTRY_RE.fullmatch(value):
            return self.fail(
                _("%(column)s must be a two-letter country code such as PL, got '%(value)s'")
                % {"column": column, "value": value}
            )
        return value

    def vat_number(self) -> Any:
        """The required `vat_number` cell, checked and normalised the way the model stores it."""
        value = self.text("vat_number", max_length=VAT_NUMBER_MAX_LENGTH, required=True)
        if value is INVALID:
            return value
        try:
            validate_vat_number(value)
        except ValidationError as exc:
            return self.fail(
                _("vat_number '%(value)s': %(error)s")
                % {"value": value, "error": " ".join(exc.messages)}
            )
        return normalize_vat_number(value)

    def serial_numbers(self, column: str) -> Any:
        """The serial numbers of a cell separated by SERIAL_SEPARATOR; [] for an empty cell."""
        raw = self.cells.get(column, "")
        serials = [serial.strip() for serial in raw.split(SERIAL_SEPARATOR) if serial.strip()]
        seen: set[str] = set()
        for serial in serials:
            if serial in seen:
                return self.fail(
                    _("serial number '%(serial)s' is listed twice") % {"serial": serial}
                )
            seen.add(serial)
        return serials

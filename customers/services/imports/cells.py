"""Checking the cells of one row: text, slugs, whole numbers, money, booleans, dates, VAT…

Every problem goes to the report with the row's line; a failed cell reads as INVALID.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from customers.validators import normalize_vat_number, validate_vat_number

from .reading import Record
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
    """Parses the values of one record and records every problem of it in the report.

    A CSV row's values are text; an API record's are JSON values (numbers, booleans, lists,
    null), accepted where they mean the same as the text would. Either way the checks and the
    messages are the same.
    """

    __slots__ = ("cells", "line", "ok", "record", "report")

    def __init__(self, report: ImportReport, row: Record):
        self.report = report
        self.record = row
        self.line = row.line
        self.cells = row.cells
        self.ok = True

    def fail(self, message: str, column: str | None = None) -> Any:
        """Record a problem of this record; `column` is the column at fault, if one is."""
        field = self.record.field(column) if column is not None else None
        self.report.add_error(self.line, message, field)
        self.ok = False
        return INVALID

    def _required(self, column: str) -> Any:
        return self.fail(_("%(column)s is required") % {"column": column}, column)

    def _raw(self, column: str) -> Any:
        """The value as given: text trimmed, null as empty; other JSON values as they are."""
        value = self.cells.get(column)
        if value is None:
            return ""
        if isinstance(value, str):
            return value.strip()
        return value

    def _text_of(self, column: str) -> Any:
        """The value as text: whole numbers are taken as their digits (an ERP's numeric ids),
        anything else that is not text is refused."""
        value = self._raw(column)
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.fail(
            _("%(column)s must be text, got %(value)s") % {"column": column, "value": _json(value)},
            column,
        )

    def text(self, column: str, *, max_length: int, required: bool = False) -> Any:
        value = self._text_of(column)
        if value is INVALID:
            return value
        if not value and required:
            return self._required(column)
        if len(value) > max_length:
            return self.fail(
                _("%(column)s is longer than %(max)d characters (%(length)d)")
                % {"column": column, "max": max_length, "length": len(value)},
                column,
            )
        return value

    def slug(self, column: str, *, max_length: int) -> Any:
        value = self.text(column, max_length=max_length, required=True)
        if value is not INVALID and not _SLUG_RE.fullmatch(value):
            return self.fail(
                _("%(column)s may hold only letters, digits, '-' and '_', got '%(value)s'")
                % {"column": column, "value": value},
                column,
            )
        return value

    def whole_number(self, column: str, *, required: bool = True, minimum: int = 1) -> Any:
        """A whole number of at least `minimum` (1 or 0); None for an empty optional value."""
        value = self._raw(column)
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _WHOLE_RE.fullmatch(value):
            number = int(value)
        elif value == "":
            return self._required(column) if required else None
        else:
            number = None
        if number is None or number < minimum:
            if minimum == 0:
                message = _("%(column)s must be a whole number, 0 or more, got '%(value)s'")
            else:
                message = _("%(column)s must be a whole number greater than 0, got '%(value)s'")
            return self.fail(message % {"column": column, "value": _shown(value)}, column)
        if number > MAX_POSITIVE_INT:
            return self.fail(
                _("%(column)s is too large, got '%(value)s'")
                % {"column": column, "value": _shown(value)},
                column,
            )
        return number

    def money(self, column: str) -> Any:
        value = self._raw(column)
        if value == "":
            return self._required(column)
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            text = _json(value)
        else:
            text = str(value)
        if not _MONEY_RE.fullmatch(text):
            return self.fail(
                _("%(column)s must be an amount such as 12.50 or 12,50, got '%(value)s'")
                % {"column": column, "value": text},
                column,
            )
        amount = Decimal(text.replace(",", "."))
        if amount < 0:
            return self.fail(
                _("%(column)s must not be negative, got '%(value)s'")
                % {"column": column, "value": text},
                column,
            )
        if amount != amount.quantize(_CENT):
            return self.fail(
                _("%(column)s has more than 2 decimal places, got '%(value)s'")
                % {"column": column, "value": text},
                column,
            )
        if amount > MAX_MONEY:
            return self.fail(
                _("%(column)s is too large, got '%(value)s'") % {"column": column, "value": text},
                column,
            )
        return amount.quantize(_CENT)

    def boolean(self, column: str, *, required: bool = False) -> Any:
        """True/False, or None for an empty optional cell."""
        value = self._raw(column)
        if isinstance(value, bool):
            return value
        if value == "":
            return self._required(column) if required else None
        if isinstance(value, str):
            parsed = _BOOLEANS.get(value.lower())
        else:  # JSON 1 and 0 mean what "1" and "0" do
            parsed = _BOOLEANS.get(str(value)) if type(value) is int else None
        if parsed is None:
            return self.fail(
                _("%(column)s must be one of true/false, 1/0, yes/no, tak/nie, got '%(value)s'")
                % {"column": column, "value": _shown(value)},
                column,
            )
        return parsed

    def date(self, column: str, *, required: bool = False) -> Any:
        """A date, or None for an empty optional cell."""
        value = self._raw(column)
        if value == "":
            return self._required(column) if required else None
        try:
            if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            return self.fail(
                _("%(column)s must be a date as YYYY-MM-DD, got '%(value)s'")
                % {"column": column, "value": _shown(value)},
                column,
            )

    def choice(self, column: str, allowed: Iterable[str], *, transform=str.lower) -> Any:
        """One of `allowed`, or None for an empty cell."""
        value = self._text_of(column)
        if value is INVALID:
            return value
        value = transform(value)
        if not value:
            return None
        if value not in allowed:
            return self.fail(
                _("%(column)s must be one of %(allowed)s, got '%(value)s'")
                % {"column": column, "allowed": ", ".join(sorted(allowed)), "value": value},
                column,
            )
        return value

    def country(self, column: str) -> Any:
        """A two-letter country code, or None for an empty cell."""
        value = self._text_of(column)
        if value is INVALID:
            return value
        value = value.upper()
        if not value:
            return None
        if not _COUNTRY_RE.fullmatch(value):
            return self.fail(
                _("%(column)s must be a two-letter country code such as PL, got '%(value)s'")
                % {"column": column, "value": value},
                column,
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
                % {"value": value, "error": " ".join(exc.messages)},
                "vat_number",
            )
        return normalize_vat_number(value)

    def serial_numbers(self, column: str) -> Any:
        """Serial numbers: a cell separated by SERIAL_SEPARATOR, or a JSON list of texts;
        [] for an empty one."""
        raw = self._raw(column)
        if isinstance(raw, list) and all(isinstance(serial, str) for serial in raw):
            serials = [serial.strip() for serial in raw if serial.strip()]
        elif isinstance(raw, str):
            serials = [serial.strip() for serial in raw.split(SERIAL_SEPARATOR) if serial.strip()]
        else:
            return self.fail(
                _("%(column)s must be a list of texts, got %(value)s")
                % {"column": column, "value": _json(raw)},
                column,
            )
        seen: set[str] = set()
        for serial in serials:
            if serial in seen:
                return self.fail(
                    _("serial number '%(serial)s' is listed twice") % {"serial": serial}, column
                )
            seen.add(serial)
        return serials


def _shown(value: Any) -> str:
    """A value inside "got '…'": text as it is, JSON values as JSON (true, 1.5)."""
    return value if isinstance(value, str) else _json(value)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)[:100]
    except (TypeError, ValueError):
        return repr(value)[:100]

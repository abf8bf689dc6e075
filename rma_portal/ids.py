"""Ids from URLs, query strings and forms: a whole number that can name a row, or nothing.

Every primary key is a bigint (DEFAULT_AUTO_FIELD is BigAutoField) counted from 1, so an id is
a whole number from 1 to MAX_ID written in ASCII digits. Anything else names no row and is
turned away before it reaches the database: there a number past bigint fails (SQLite raises
OverflowError, PostgreSQL "bigint out of range" when the value is written or cast), and Python
itself takes "²" for a digit (`"²".isdigit()`) but not for a number (`int("²")` fails).

- URLs: the path converter `id` (`<id:return_id>`, registered by the security app, and the
  API's viewsets' `lookup_value_converter`): a path with anything else matches no pattern,
  so it answers 404. `int` stays for numbers that are no ids (a report's year and month);
  tests/security/test_id_bounds.py keeps it that way.
- Query strings and posted values: `parse_id` / `parse_ids` (None, or left out, for anything
  else), `id_or_404` where a bad id means "no such page".
- Forms: `ModelMultipleIdChoiceField` (a list of ids a form chooses from a queryset); Django's
  ModelChoiceField already turns a bad single id into "not one of the choices".
- The API's input: `rma_portal.api.fields.id_field`, bounded by the same MAX_ID.

docs/security.md#ids-in-urls-and-query-strings.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404

# The largest value of a PostgreSQL bigint (and of SQLite's INTEGER): no row has a larger id.
MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(value) -> int | None:
    """The id `value` spells (ASCII digits, surrounding blanks and leading zeros allowed; or
    an int), or None when it can name no row: empty, not a whole number, 0, negative, larger
    than MAX_ID."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    if not digits or len(digits) > _MAX_DIGITS:
        return None
    number = int(digits)
    return number if number <= MAX_ID else None


def parse_ids(values: Iterable, *, limit: int | None = None) -> list[int]:
    """The ids among `values` (the first `limit` values are read), in order, without the
    values that name no row."""
    values = list(values)
    if limit is not None:
        values = values[:limit]
    return [number for number in map(parse_id, values) if number is not None]


def id_or_404(value) -> int:
    """The id `value` spells; 404 when it can name no row."""
    number = parse_id(value)
    if number is None:
        raise Http404("No such id.")
    return number


class IdConverter:
    """`<id:name>` in a URL pattern: an id from 1 to MAX_ID. Anything else (0, a number past
    bigint) does not match, so the URL answers 404 without a query."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)  # the resolver takes it as "this pattern does not match"
        return number

    def to_url(self, value) -> str:
        return str(value)


# Django's code and message key for a value that cannot be a primary key (a form's error, never
# one of the API's error codes).
NOT_A_PK = "invalid_pk_value"


class ModelMultipleIdChoiceField(forms.ModelMultipleChoiceField):
    """ModelMultipleChoiceField whose values must be ids before the queryset is asked: a value
    past bigint is "not one of the choices", never a database error (Django looks the values up
    with `pk__in`, which, unlike `pk=`, does not guard the integer range)."""

    def _check_values(self, value):
        key = self.to_field_name or "pk"
        if key == "pk":
            for pk in value:
                if parse_id(pk) is None:
                    raise ValidationError(
                        self.error_messages[NOT_A_PK], code=NOT_A_PK, params={"pk": pk}
                    )
        return super()._check_values(value)

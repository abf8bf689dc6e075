"""Streaming CSV downloads (dashboard exports, the audit log) that spreadsheet programs open
correctly: UTF-8 with a BOM, a chosen separator, and text cells that cannot run as formulas."""

from __future__ import annotations

import contextvars
import csv
import datetime
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from rma_portal.errors import ApplicationError

SEPARATORS = {"comma": ",", "semicolon": ";"}
SEPARATOR_PARAMETER = "separator"  # the query parameter that names the separator

# Excel reads a UTF-8 file as the local ANSI code page unless it starts with a BOM.
BOM = "\ufeff"

# A text cell starting with one of these is run as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_FILENAME_LETTERS = str.maketrans({"ł": "l", "Ł": "L"})  # the one Polish letter NFKD keeps
_FILENAME_FORBIDDEN = re.compile(r"[^A-Za-z0-9._-]+")
_FILENAME_STEM_MAX = 100
_END = object()


def default_separator() -> str:
    """The separator for the active language: a semicolon where the comma is the decimal
    mark (Polish, Russian, ...) and spreadsheets split lines on semicolons; a comma
    otherwise."""
    return ";" if formats.get_format("DECIMAL_SEPARATOR", get_language()) == "," else ","


def separator_from(request_or_value: HttpRequest | str | None, *, default: str = ",") -> str:
    """The separator a request asks for in `?separator=comma|semicolon` (or that value
    itself); `default` when none is given. Any other value is the user's error."""
    if request_or_value is None or isinstance(request_or_value, str):
        value = request_or_value
    else:
        value = request_or_value.GET.get(SEPARATOR_PARAMETER)
    if not value:
        return default
    try:
        return SEPARATORS[value]
    except KeyError:
        message = _("Choose a comma or a semicolon as the CSV separator.")
        raise ApplicationError(
            message, code="invalid_separator", fields={SEPARATOR_PARAMETER: [message]}
        ) from None


def safe_cell(value: object) -> str:
    """One cell as text. Numbers stay plain numbers (a -12.50 refund is not text to
    neutralise); text that a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        # "f" keeps the stored places (12.50 stays 12.50) and never writes 1E+3.
        return format(value, "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # repr() gives the shortest digits that read back as the same float.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):  # bool too: True / False
        return str(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        # A naive datetime has no zone to convert from: it is written as it is.
        return value.isoformat(timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write() hands back the line csv.writer formats."""

    def write(self, value: str) -> str:
        return value


def csv_stream(
    *, header: Iterable[str], rows: Iterable[Iterable[object]], separator: str = ","
) -> Iterator[str]:
    """The BOM, the header line, then one line per row, pulled from `rows` one at a time.

    The response is iterated after the view and its middleware have returned, when the
    request's tenant, time zone and language are no longer active. Every step therefore
    runs in a copy of the context of this call: tenant-scoped querysets compile for the
    request's tenant and times are written in the request's time zone.
    """
    if separator not in SEPARATORS.values():
        raise ValueError(f"Unsupported CSV separator {separator!r}.")
    writer = csv.writer(
        _Echo(), delimiter=separator, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n"
    )
    return _lines(writer, header, rows, contextvars.copy_context())


def _lines(writer, header, rows, context: contextvars.Context) -> Iterator[str]:
    yield BOM
    yield context.run(_format_row, writer, header)
    remaining = context.run(iter, rows)
    while (line := context.run(_next_line, writer, remaining)) is not None:
        yield line


def _format_row(writer, row: Iterable[object]) -> str:
    return writer.writerow([safe_cell(cell) for cell in row])


def _next_line(writer, remaining: Iterator[Iterable[object]]) -> str | None:
    row = next(remaining, _END)
    return None if row is _END else _format_row(writer, row)


def csv_response(
    *,
    filename: str,
    header: Iterable[str],
    rows: Iterable[Iterable[object]],
    separator: str = ",",
) -> StreamingHttpResponse:
    """A download of `rows` as `filename`; rows are read while the response is sent."""
    return StreamingHttpResponse(
        csv_stream(header=header, rows=rows, separator=separator),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{attachment_filename(filename)}"'},
    )


def attachment_filename(filename: str) -> str:
    """`filename` reduced to A-Z a-z 0-9 . _ - (Polish letters lose their accents), ending
    in .csv: safe in a header and on any file system."""
    decomposed = unicodedata.normalize("NFKD", filename.translate(_FILENAME_LETTERS))
    ascii_name = "".join(char for char in decomposed if not unicodedata.combining(char))
    name = _FILENAME_FORBIDDEN.sub("_", ascii_name)
    stem = name[:-4] if name.lower().endswith(".csv") else name
    stem = stem.strip("._-")[:_FILENAME_STEM_MAX].rstrip("._-") or "export"
    return f"{stem}.csv"

"""Reading an import file into records: path or open file, UTF-8 with or without BOM, the header.

The delimiter (',' or ';') is guessed from the header; only the columns a kind knows are kept.
The API builds the same records from JSON (records.py); both are checked and written alike.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from .report import ImportRejected, ImportReport

RowsSource = str | os.PathLike | IO[bytes] | IO[str]


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.required + self.optional)


@dataclass(slots=True)
class Record:
    """One record to check and write, whatever it came from: a CSV row or an API record.

    `line` is where problems are reported: the CSV line, or the record's index in an API
    request. `cells` are the values by column (CSV: the trimmed text of each known column the
    header has; API: the JSON values); `present` names the columns the record has, so a
    column it lacks leaves the field of an existing object alone. `fields` names a column
    as the caller knows it, where that differs (an API order line's `lines[2].quantity`).
    """

    line: int
    cells: dict[str, Any]
    present: frozenset[str]
    fields: dict[str, str] | None = None

    def field(self, column: str) -> str:
        if self.fields is None:
            return column
        return self.fields.get(column, column)


# The name the CSV reader used before records came from the API too.
Row = Record


@dataclass
class Table:
    rows: list[Record]
    present: frozenset[str]  # known columns that the header has


def _reject(report: ImportReport, message: str, line: int | None = None) -> ImportRejected:
    report.add_error(line, message)
    return ImportRejected(report)


def read_text(rows_source: RowsSource, report: ImportReport) -> str:
    if isinstance(rows_source, str | os.PathLike):
        try:
            raw: bytes | str = Path(rows_source).read_bytes()
        except FileNotFoundError as exc:
            raise _reject(report, _("File not found: %(path)s") % {"path": rows_source}) from exc
        except OSError as exc:
            raise _reject(
                report, _("Cannot read %(path)s: %(error)s") % {"path": rows_source, "error": exc}
            ) from exc
    else:
        raw = rows_source.read()
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _reject(
            report,
            _(
                "the file is not UTF-8 encoded (byte 0x%(byte)02X); save it as UTF-8 "
                "(with or without BOM) and import it again"
            )
            % {"byte": raw[exc.start]},
            line,
        ) from exc


def parse_csv(text: str, columns: Columns, report: ImportReport) -> Table:
    """Split the file into rows of known columns; the delimiter is guessed from the header."""
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    report.delimiter = delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Record] = []
    try:
        header = next(reader, None)
        names = [name.strip().lower() for name in header or []]
        if not any(names):
            raise _reject(report, _("The file is empty: the first line must name the columns."))
        duplicated = sorted({name for name in names if name and names.count(name) > 1})
        if duplicated:
            raise _reject(
                report,
                _("Columns named more than once in the header: %(columns)s")
                % {"columns": ", ".join(duplicated)},
            )
        missing = [name for name in columns.required if name not in names]
        if missing:
            raise _reject(
                report,
                _("Missing required columns: %(missing)s (the header has: %(found)s)")
                % {"missing": ", ".join(missing), "found": ", ".join(filter(None, names))},
            )
        report.ignored_columns = [n for n in names if n and n not in columns.known]
        picks = [(index, name) for index, name in enumerate(names) if name in columns.known]
        present = frozenset(names) & columns.known
        width = len(names)
        previous_end = reader.line_num
        for record in reader:
            line = previous_end + 1  # a quoted field may span lines: report where the row starts
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            report.rows += 1
            if len(record) != width and (
                len(record) < width or any(cell.strip() for cell in record[width:])
            ):
                report.add_error(
                    line,
                    _("the row has %(found)d fields but the header has %(expected)d")
                    % {"found": len(record), "expected": width},
                )
                continue
            rows.append(
                Record(line, {name: record[index].strip() for index, name in picks}, present)
            )
    except csv.Error as exc:
        raise _reject(
            report, _("cannot read the CSV: %(error)s") % {"error": exc}, reader.line_num
        ) from exc
    return Table(rows=rows, present=present)

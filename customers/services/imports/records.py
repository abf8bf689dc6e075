"""Records from the API: JSON objects turned into the records the CSV reader makes, so that both
go through the same checks and writes (`write_*`).

A record's fields are the CSV columns of its kind; an order record carries its lines as a
list (`lines`), each with the line columns, and is split into one record per line, as the CSV
has them. A field the record leaves out leaves the stored value alone, like a missing column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from .orders import LINE_COLUMNS, ORDER_COLUMNS
from .reading import Columns, Record
from .report import ImportReport

LINES = "lines"
ORDER_HEADER_COLUMNS = frozenset(ORDER_COLUMNS.known) - frozenset(LINE_COLUMNS)


def records_from_json(
    payloads: Sequence[Any], *, columns: Columns, report: ImportReport, nested_lines: bool = False
) -> list[Record]:
    """One record per JSON object (per order line when `nested_lines`), indexed from 0.

    Objects that are not objects, unknown fields and malformed `lines` are reported here; the
    records kept are checked by the kind's `write_*`, which reports every other problem.
    """
    records: list[Record] = []
    known = ORDER_HEADER_COLUMNS | {LINES} if nested_lines else columns.known
    first_of_order: dict[str, int] = {}
    for index, payload in enumerate(payloads):
        if not isinstance(payload, dict):
            report.add_error(index, _("A record must be a JSON object."))
            continue
        unknown = sorted(str(name) for name in payload if name not in known)
        for name in unknown:
            report.add_error(index, _("unknown field '%(field)s'") % {"field": name}, name)
        if unknown:
            continue
        if nested_lines:
            number = payload.get("order_number")
            if isinstance(number, str) and number.strip():
                first = first_of_order.setdefault(number.strip(), index)
                if first != index:
                    report.add_error(
                        index,
                        _("order '%(order)s' appears again (first on %(where)s)")
                        % {"order": number.strip(), "where": report.where(first)},
                        "order_number",
                    )
                    continue
            records.extend(_line_records(index, payload, report))
        else:
            records.append(Record(index, payload, frozenset(payload)))
    return records


def _line_records(index: int, order: dict[str, Any], report: ImportReport) -> list[Record]:
    lines = order.get(LINES)
    if not isinstance(lines, list) or not lines:
        report.add_error(index, _("lines: give the order's lines, at least one."), LINES)
        return []
    header = {name: value for name, value in order.items() if name != LINES}
    records = []
    for position, line in enumerate(lines):
        prefix = f"{LINES}[{position}]"
        if not isinstance(line, dict):
            report.add_error(index, _("A record must be a JSON object."), prefix)
            continue
        unknown = sorted(str(name) for name in line if name not in LINE_COLUMNS)
        for name in unknown:
            report.add_error(
                index, _("unknown field '%(field)s'") % {"field": name}, f"{prefix}.{name}"
            )
        if unknown:
            continue
        cells = {**header, **line}
        fields = {column: f"{prefix}.{column}" for column in LINE_COLUMNS}
        records.append(Record(index, cells, frozenset(cells), fields))
    return records

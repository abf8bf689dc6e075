"""What a CSV import did, or every reason it was refused, line by line.

Returned on success and carried by ImportRejected when nothing was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from rma_portal.errors import ApplicationError


@dataclass(frozen=True)
class ImportProblem:
    """Why a row (or the whole file, when `line` is None) was refused; header = line 1.

    From the API, `line` is the record's index in the request. `field` names the column (or
    the API field, e.g. `lines[1].quantity`) at fault, None when the problem is the row's.
    """

    line: int | None
    message: str
    field: str | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class ModelCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    """What an import did, or every reason it was refused."""

    kind: str
    # What `line` counts: CSV lines ("line"), or records of an API request ("record").
    unit: str = "line"
    rows: int = 0
    delimiter: str = ","
    counts: dict[str, ModelCounts] = field(default_factory=dict)
    errors: list[ImportProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_error(self, line: int | None, message: str, field: str | None = None) -> None:
        self.errors.append(ImportProblem(line, message, field))

    def where(self, line: int) -> str:
        """A line or record named inside a message: "(first on line 3)", "… on record 3"."""
        if self.unit == "record":
            return pgettext("first on …", "record %(index)d") % {"index": line}
        return pgettext("first on …", "line %(line)d") % {"line": line}

    def counts_for(self, label: str) -> ModelCounts:
        return self.counts.setdefault(label, ModelCounts())

    def summary_lines(self) -> list[str]:
        lines = [
            _("%(rows)d data rows read (delimiter '%(delimiter)s').")
            % {"rows": self.rows, "delimiter": self.delimiter}
        ]
        for label, counts in self.counts.items():
            lines.append(
                _("%(label)s: created %(created)d, updated %(updated)d, unchanged %(unchanged)d")
                % {
                    "label": label,
                    "created": counts.created,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                }
            )
        if self.ignored_columns:
            lines.append(
                _("Ignored columns: %(columns)s") % {"columns": ", ".join(self.ignored_columns)}
            )
        return lines


class ImportRejected(ApplicationError):
    """The file was refused and nothing was written; `report.errors` says why, line by line."""

    code = "import_rejected"

    def __init__(self, report: ImportReport):
        self.report = report
        count = len(report.errors)
        if count == 1 and report.errors[0].line is None:
            message = report.errors[0].message
        elif report.unit == "record":
            message = ngettext(
                "The request was rejected (%(count)d error); nothing was written.",
                "The request was rejected (%(count)d errors); nothing was written.",
                count,
            ) % {"count": count}
        else:
            message = ngettext(
                "The file was rejected (%(count)d error); nothing was imported.",
                "The file was rejected (%(count)d errors); nothing was imported.",
                count,
            ) % {"count": count}
        super().__init__(message)

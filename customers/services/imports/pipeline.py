"""The frame every import kind runs in: read the file, lock the tenant, check and write, log.

All in one transaction, so a rejected file (or a refusing database) leaves nothing written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

from .reading import Columns, Record, RowsSource, parse_csv, read_text
from .report import ImportRejected, ImportReport

# The package's name, as before it was split into modules: log config keyed on it still matches.
logger = logging.getLogger(__package__)

PROGRESS_EVERY = 10_000  # rows between two progress callbacks

ProgressCallback = Callable[[str, int, int], None]
ImportBody = Callable[..., None]


class Progress:
    """Calls the caller's callback every PROGRESS_EVERY rows of a phase and at its end."""

    def __init__(self, callback: ProgressCallback | None):
        self.callback = callback
        self.reported: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.callback is None:
            return
        if done == total or done - self.reported.get(phase, 0) >= PROGRESS_EVERY:
            self.reported[phase] = done
            self.callback(phase, done, total)


def run_import(
    *,
    kind: str,
    columns: Columns,
    body: ImportBody,
    tenant: Tenant,
    rows_source: RowsSource,
    progress: ProgressCallback | None,
) -> ImportReport:
    """A CSV file: read its records, then check and write them (`run_records`)."""
    report = ImportReport(kind=kind)
    try:
        table = parse_csv(read_text(rows_source, report), columns, report)
    except ImportRejected:
        logger.info(
            "csv import rejected",
            extra={"tenant": tenant.slug, "import_kind": kind, "errors": len(report.errors)},
        )
        raise
    return run_records(
        body=body, tenant=tenant, records=table.rows, report=report, progress=progress
    )


def run_records(
    *,
    body: ImportBody,
    tenant: Tenant,
    records: list[Record],
    report: ImportReport,
    progress: ProgressCallback | None = None,
    source: str = "csv",
) -> ImportReport:
    """Check every record and write them all, or nothing: the one path of the CSV import and
    of the API's writes (`source` "csv" or "api", for the log)."""
    started = time.monotonic()
    log = {"tenant": tenant.slug, "import_kind": report.kind}
    try:
        with tenant_context(tenant), transaction.atomic():
            # Two imports into one tenant at once would both see a key as new and collide
            # on insert. Locking the tenant row FOR NO KEY UPDATE queues them, while inserts
            # of other tenant-owned rows (which need only FOR KEY SHARE on it) go on.
            list(
                Tenant.objects.select_for_update(no_key=True)
                .filter(pk=tenant.pk)
                .values_list("pk", flat=True)
            )
            body(tenant=tenant, records=records, report=report, progress=Progress(progress))
    except IntegrityError as exc:
        # A backstop: the checks make this unreachable for the records themselves; a
        # concurrent write outside an import (admin) can still take a key between preload
        # and insert.
        report.add_error(
            None, _("The database refused the import: %(error)s") % {"error": str(exc).strip()}
        )
        logger.warning(f"{source} import refused by the database", extra=log)
        raise ImportRejected(report) from exc
    except ImportRejected:
        logger.info(f"{source} import rejected", extra={**log, "errors": len(report.errors)})
        raise
    logger.info(
        f"{source} import done",
        extra={
            **log,
            "rows": report.rows,
            "seconds": round(time.monotonic() - started, 3),
            **{
                f"{label.replace(' ', '_')}_{what}": getattr(counts, what)
                for label, counts in report.counts.items()
                for what in ("created", "updated", "unchanged")
            },
        },
    )
    return report


def stop_if_rejected(report: ImportReport) -> None:
    """Reject the whole file if any row is bad, listing the problems in file order."""
    if report.errors:
        report.errors.sort(key=lambda problem: problem.line or 0)
        raise ImportRejected(report)

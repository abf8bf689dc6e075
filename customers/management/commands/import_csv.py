"""`manage.py import_csv {products|customers|orders} FILE --tenant SLUG`.

All-or-nothing: a file with any bad row is rejected, every bad row is listed and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers.services.imports import IMPORTERS, PROGRESS_EVERY, ImportRejected
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Import products, customer companies or order lines from a CSV file into one tenant. "
        "The file is checked first; if any row is bad nothing is written and every bad row "
        "is listed. See docs/csv-import.md for the columns."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=sorted(IMPORTERS), help="What the file holds.")
        parser.add_argument("file", help="Path of the CSV file (UTF-8, ',' or ';' separated).")
        parser.add_argument("--tenant", required=True, help="Slug of the tenant to import into.")
        parser.add_argument(
            "--max-errors",
            type=int,
            default=200,
            help="Print at most this many errors of a rejected file (0 prints all; default 200).",
        )

    def handle(self, *args, kind: str, file: str, tenant: str, max_errors: int, **options):
        target = Tenant.objects.filter(slug=tenant).first()
        if target is None:
            raise CommandError(f"No tenant with slug '{tenant}'.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"File not found: {file}")
        try:
            report = IMPORTERS[kind](tenant=target, rows_source=path, progress=self._progress)
        except ImportRejected as exc:
            errors = exc.report.errors
            shown = errors if max_errors <= 0 else errors[:max_errors]
            for problem in shown:
                self.stderr.write(str(problem))
            if len(shown) < len(errors):
                self.stderr.write(
                    f"... and {len(errors) - len(shown)} more errors "
                    "(--max-errors 0 prints them all)."
                )
            raise CommandError(exc.message) from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Imported {kind} from {path} into tenant '{target.slug}'.")
        for line in report.summary_lines():
            self.stdout.write(line)

    def _progress(self, phase: str, done: int, total: int) -> None:
        # Small files finish at once; progress lines only help when there is a wait.
        if total >= PROGRESS_EVERY:
            self.stderr.write(f"{phase}: {done}/{total}")

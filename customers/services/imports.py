"""CSV import of the product catalogue, customer companies and orders mirrored from the ERP.

All-or-nothing and idempotent: every row is checked before anything is written, rows are
upserted by their natural key, and only rows whose values differ are updated.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import CustomerAccount, Order, OrderLine, Product, ProductCategory
from customers.validators import normalize_vat_number, validate_vat_number
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000  # rows per INSERT / UPDATE statement
LOOKUP_CHUNK = 5000  # natural keys per `IN (...)` when preloading existing rows
PROGRESS_EVERY = 10_000  # rows between two progress callbacks
SERIAL_SEPARATOR = "|"
MAX_POSITIVE_INT = 2_147_483_647  # PositiveIntegerField on PostgreSQL
MAX_MONEY = Decimal("9999999999.99")  # DecimalField(max_digits=12, decimal_places=2)

ProgressCallback = Callable[[str, int, int], None]
RowsSource = str | os.PathLike | IO[bytes] | IO[str]


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    """Why a row (or the whole file, when `line` is None) was refused; header = line 1."""

    line: int | None
    message: str

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
    rows: int = 0
    delimiter: str = ","
    counts: dict[str, ModelCounts] = field(default_factory=dict)
    errors: list[ImportProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_error(self, line: int | None, message: str) -> None:
        self.errors.append(ImportProblem(line, message))

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
        else:
            message = ngettext(
                "The file was rejected (%(count)d error); nothing was imported.",
                "The file was rejected (%(count)d errors); nothing was imported.",
                count,
            ) % {"count": count}
        super().__init__(message)


# --- reading the file ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.required + self.optional)


@dataclass
class _Row:
    line: int
    cells: dict[str, str]


@dataclass
class _Table:
    rows: list[_Row]
    present: frozenset[str]  # known columns that the header has


def _reject(report: ImportReport, message: str, line: int | None = None) -> ImportRejected:
    report.add_error(line, message)
    return ImportRejected(report)


def _read_text(rows_source: RowsSource, report: ImportReport) -> str:
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


def _parse_csv(text: str, columns: _Columns, report: ImportReport) -> _Table:
    """Split the file into rows of known columns; the delimiter is guessed from the header."""
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    report.delimiter = delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[_Row] = []
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
            rows.append(_Row(line, {name: record[index].strip() for index, name in picks}))
    except csv.Error as exc:
        raise _reject(
            report, _("cannot read the CSV: %(error)s") % {"error": exc}, reader.line_num
        ) from exc
    return _Table(rows=rows, present=frozenset(names) & columns.known)


# --- checking cells ------------------------------------------------------------------------


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
_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


def _max_length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length


class _RowCheck:
    """Parses the cells of one row and records every problem of the row in the report."""

    __slots__ = ("cells", "line", "ok", "report")

    def __init__(self, report: ImportReport, row: _Row):
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


def _valid(*values: Any) -> bool:
    return all(value is not INVALID for value in values)


# --- writing -------------------------------------------------------------------------------


class _Progress:
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


def _batches(items: list, size: int = BATCH_SIZE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_by_key(queryset: models.QuerySet, key: str, values: Iterable) -> dict:
    """Existing rows whose `key` is among `values`, keyed by it, in a few IN queries."""
    wanted = sorted(set(values))
    found = {}
    for chunk in _batches(wanted, LOOKUP_CHUNK):
        for obj in queryset.filter(**{f"{key}__in": chunk}):
            found[getattr(obj, key)] = obj
    return found


# What the file wants for one natural key: values compared with (and written to) an existing
# row, and values used only when the row is new.
Wanted = tuple[dict[str, Any], dict[str, Any]]


def _upsert(
    *,
    model: type[models.Model],
    label: str,
    tenant: Tenant,
    wanted: dict[Any, Wanted],
    existing: dict[Any, models.Model],
    report: ImportReport,
    progress: _Progress,
) -> dict[Any, models.Model]:
    """Create missing rows, update rows whose values differ, leave the rest untouched.

    bulk_create skips Model.save(), so the tenant is set here and callers pass values already
    normalised the way save() would.
    """
    counts = report.counts_for(label)
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    result: dict[Any, models.Model] = {}
    for key, (values, new_only) in wanted.items():
        obj = existing.get(key)
        if obj is None:
            obj = model(tenant=tenant, **values, **new_only)
            to_create.append(obj)
        else:
            changed = [name for name, value in values.items() if getattr(obj, name) != value]
            if changed:
                for name in changed:
                    setattr(obj, name, values[name])
                changed_fields.update(changed)
                to_update.append(obj)
            else:
                counts.unchanged += 1
        result[key] = obj
    total = len(to_create) + len(to_update)
    done = 0
    for batch in _batches(to_create):
        model.unscoped.bulk_create(batch)
        done += len(batch)
        progress(f"write {label}", done, total)
    fields = sorted(changed_fields)
    for batch in _batches(to_update):
        model.unscoped.bulk_update(batch, fields)
        done += len(batch)
        progress(f"write {label}", done, total)
    counts.created += len(to_create)
    counts.updated += len(to_update)
    return result


ImportBody = Callable[..., None]


def _run_import(
    *,
    kind: str,
    columns: _Columns,
    body: ImportBody,
    tenant: Tenant,
    rows_source: RowsSource,
    progress: ProgressCallback | None,
) -> ImportReport:
    started = time.monotonic()
    report = ImportReport(kind=kind)
    log = {"tenant": tenant.slug, "import_kind": kind}
    try:
        table = _parse_csv(_read_text(rows_source, report), columns, report)
        with tenant_context(tenant), transaction.atomic():
            # Two imports into one tenant at once would both see a key as new and collide
            # on insert. Locking the tenant row FOR NO KEY UPDATE queues them, while inserts
            # of other tenant-owned rows (which need only FOR KEY SHARE on it) go on.
            list(
                Tenant.objects.select_for_update(no_key=True)
                .filter(pk=tenant.pk)
                .values_list("pk", flat=True)
            )
            body(tenant=tenant, table=table, report=report, progress=_Progress(progress))
    except IntegrityError as exc:
        # A backstop: the checks make this unreachable for the file itself; a concurrent write
        # outside an import (admin, API) can still take a key between preload and insert.
        report.add_error(
            None, _("The database refused the import: %(error)s") % {"error": str(exc).strip()}
        )
        logger.warning("csv import refused by the database", extra=log)
        raise ImportRejected(report) from exc
    except ImportRejected:
        logger.info("csv import rejected", extra={**log, "errors": len(report.errors)})
        raise
    logger.info(
        "csv import done",
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


def _stop_if_rejected(report: ImportReport) -> None:
    if report.errors:
        raise ImportRejected(report)


# --- products ------------------------------------------------------------------------------

PRODUCT_COLUMNS = _Columns(
    required=("sku", "name", "category", "unit_price", "returnable", "serial_tracked"),
    optional=("category_name", "active"),
)


def catalog_import_products(
    *, tenant: Tenant, rows_source: RowsSource, progress: ProgressCallback | None = None
) -> ImportReport:
    """Create or update the tenant's products by SKU; unknown category codes are created."""
    return _run_import(
        kind="products",
        columns=PRODUCT_COLUMNS,
        body=_import_products,
        tenant=tenant,
        rows_source=rows_source,
        progress=progress,
    )


def _import_products(
    *, tenant: Tenant, table: _Table, report: ImportReport, progress: _Progress
) -> None:
    existing_categories = {
        category.code: category for category in ProductCategory.unscoped.filter(tenant=tenant)
    }
    existing = _load_by_key(
        Product.unscoped.filter(tenant=tenant), "sku", (row.cells["sku"] for row in table.rows)
    )
    limits = {
        "sku": _max_length(Product, "sku"),
        "name": _max_length(Product, "name"),
        "category": _max_length(ProductCategory, "code"),
        "category_name": _max_length(ProductCategory, "name"),
    }
    sku_lines: dict[str, int] = {}
    category_names: dict[str, tuple[int, str]] = {}  # code -> (first line naming it, name)
    planned: dict[str, tuple[str, dict[str, Any]]] = {}  # sku -> (category code, values)
    total = len(table.rows)
    for done, row in enumerate(table.rows, 1):
        progress("validate", done, total)
        check = _RowCheck(report, row)
        sku = check.text("sku", max_length=limits["sku"], required=True)
        name = check.text("name", max_length=limits["name"], required=True)
        code = check.slug("category", max_length=limits["category"])
        category_name = check.text("category_name", max_length=limits["category_name"])
        unit_price = check.money("unit_price")
        returnable = check.boolean("returnable", required=True)
        serial_tracked = check.boolean("serial_tracked", required=True)
        active = check.boolean("active")
        if sku is not INVALID:
            if sku in sku_lines:
                check.fail(
                    _("SKU '%(sku)s' appears again (first on line %(first)d)")
                    % {"sku": sku, "first": sku_lines[sku]}
                )
            else:
                sku_lines[sku] = row.line
        if _valid(code, category_name) and category_name:
            first = category_names.setdefault(code, (row.line, category_name))
            if first[1] != category_name:
                check.fail(
                    _(
                        "category '%(code)s' is named '%(name)s' here "
                        "but '%(first)s' on line %(line)d"
                    )
                    % {"code": code, "name": category_name, "first": first[1], "line": first[0]}
                )
        if not check.ok:
            continue
        values = {
            "name": name,
            "unit_price": unit_price,
            "is_returnable": returnable,
            "is_serial_tracked": serial_tracked,
        }
        if active is not None:
            values["is_active"] = active
        planned[sku] = (code, values)
    _stop_if_rejected(report)

    wanted_categories: dict[str, Wanted] = {}
    for code, _values in planned.values():
        if code in category_names:
            wanted_categories[code] = ({"name": category_names[code][1]}, {"code": code})
        else:
            wanted_categories[code] = ({}, {"code": code, "name": code})
    categories = _upsert(
        model=ProductCategory,
        label="product categories",
        tenant=tenant,
        wanted=wanted_categories,
        existing=existing_categories,
        report=report,
        progress=progress,
    )
    wanted: dict[str, Wanted] = {}
    for sku, (code, values) in planned.items():
        values["category_id"] = categories[code].pk
        wanted[sku] = (values, {"sku": sku})
    _upsert(
        model=Product,
        label="products",
        tenant=tenant,
        wanted=wanted,
        existing=existing,
        report=report,
        progress=progress,
    )


# --- customers -----------------------------------------------------------------------------

CUSTOMER_COLUMNS = _Columns(
    required=(
        "number",
        "name",
        "vat_number",
        "contact_email",
        "billing_street",
        "billing_postal_code",
        "billing_city",
    ),
    optional=(
        "contact_phone",
        "preferred_language",
        "billing_country",
        "shipping_name",
        "shipping_street",
        "shipping_postal_code",
        "shipping_city",
        "shipping_country",
        "active",
    ),
)
_SHIPPING_ADDRESS = ("shipping_street", "shipping_postal_code", "shipping_city")
_BILLING_ADDRESS = ("billing_street", "billing_postal_code", "billing_city")
_CUSTOMER_TEXT = {
    "name": True,
    "contact_email": True,
    "contact_phone": False,
    "billing_street": True,
    "billing_postal_code": True,
    "billing_city": True,
    "shipping_name": False,
    "shipping_street": False,
    "shipping_postal_code": False,
    "shipping_city": False,
}  # column -> required


def customers_import(
    *, tenant: Tenant, rows_source: RowsSource, progress: ProgressCallback | None = None
) -> ImportReport:
    """Create or update the tenant's customer companies by customer number."""
    return _run_import(
        kind="customers",
        columns=CUSTOMER_COLUMNS,
        body=_import_customers,
        tenant=tenant,
        rows_source=rows_source,
        progress=progress,
    )


def _import_customers(
    *, tenant: Tenant, table: _Table, report: ImportReport, progress: _Progress
) -> None:
    present = table.present
    existing = _load_by_key(
        CustomerAccount.unscoped.filter(tenant=tenant),
        "number",
        (row.cells["number"] for row in table.rows),
    )
    owners_of_vat = _load_by_key(
        CustomerAccount.unscoped.filter(tenant=tenant),
        "vat_number",
        (normalize_vat_number(row.cells["vat_number"]) for row in table.rows),
    )
    number_lines: dict[str, int] = {}
    vat_lines: dict[str, int] = {}
    vat_of_number: dict[str, tuple[int, str]] = {}
    wanted: dict[str, Wanted] = {}
    shipping_given = any(column in present for column in _SHIPPING_ADDRESS)
    limits = {
        column: _max_length(CustomerAccount, column) for column in ("number", *_CUSTOMER_TEXT)
    }
    total = len(table.rows)
    for done, row in enumerate(table.rows, 1):
        progress("validate", done, total)
        check = _RowCheck(report, row)
        number = check.text("number", max_length=limits["number"], required=True)
        text = {
            column: check.text(column, max_length=limits[column], required=required)
            for column, required in _CUSTOMER_TEXT.items()
        }
        vat_number = check.text("vat_number", max_length=40, required=True)
        if vat_number is not INVALID:
            try:
                validate_vat_number(vat_number)
            except ValidationError as exc:
                vat_number = check.fail(
                    _("vat_number '%(value)s': %(error)s")
                    % {"value": vat_number, "error": " ".join(exc.messages)}
                )
            else:
                vat_number = normalize_vat_number(vat_number)
        if text["contact_email"] not in (INVALID, ""):
            try:
                validate_email(text["contact_email"])
            except ValidationError:
                check.fail(
                    _("contact_email is not a valid e-mail address, got '%(value)s'")
                    % {"value": text["contact_email"]}
                )
        language = check.choice("preferred_language", _LANGUAGES)
        billing_country = check.country("billing_country")
        shipping_country = check.country("shipping_country")
        active = check.boolean("active")
        shipping = [text[column] for column in _SHIPPING_ADDRESS]
        if _valid(*shipping) and any(shipping) and not all(shipping):
            check.fail(
                _(
                    "the shipping address is incomplete: fill shipping_street, "
                    "shipping_postal_code and shipping_city, or leave all three empty to ship "
                    "to the billing address"
                )
            )
        if number is not INVALID:
            if number in number_lines:
                check.fail(
                    _("customer number '%(number)s' appears again (first on line %(first)d)")
                    % {"number": number, "first": number_lines[number]}
                )
            else:
                number_lines[number] = row.line
        if vat_number is not INVALID:
            if vat_number in vat_lines:
                check.fail(
                    _("VAT number '%(vat)s' appears again (first on line %(first)d)")
                    % {"vat": vat_number, "first": vat_lines[vat_number]}
                )
            else:
                vat_lines[vat_number] = row.line
                if number is not INVALID:
                    vat_of_number[number] = (row.line, vat_number)
        if not check.ok:
            continue

        current = existing.get(number)
        values: dict[str, Any] = {
            "name": text["name"],
            "vat_number": vat_number,
            "contact_email": text["contact_email"],
            **{column: text[column] for column in _BILLING_ADDRESS},
        }
        # A column the file does not have leaves the field of an existing customer alone.
        for column in ("contact_phone", "shipping_name"):
            if column in present:
                values[column] = text[column]
        new_only: dict[str, Any] = {"number": number}
        if language:
            values["preferred_language"] = language
        else:
            new_only["preferred_language"] = tenant.default_language
        if active is not None:
            values["is_active"] = active
        if billing_country:
            values["billing_country"] = billing_country
        effective_billing_country = billing_country or (
            current.billing_country if current else "PL"
        )
        if any(shipping):
            values.update(zip(_SHIPPING_ADDRESS, shipping, strict=True))
        elif shipping_given or current is None:
            # Empty shipping address: ship to the billing address.
            values.update(zip(_SHIPPING_ADDRESS, (text[c] for c in _BILLING_ADDRESS), strict=True))
            values.setdefault("shipping_country", effective_billing_country)
        if shipping_country:
            values["shipping_country"] = shipping_country
        elif current is None:
            values.setdefault("shipping_country", effective_billing_country)
        wanted[number] = (values, new_only)

    # The VAT number is unique per tenant and the constraint is checked row by row, so a number
    # may not move from one existing customer to another in the same import, even when the
    # file gives the first one a new number: a swap would fail half-way through the UPDATE.
    for number, (line, vat_number) in vat_of_number.items():
        owner = owners_of_vat.get(vat_number)
        if owner is not None and owner.number != number:
            report.add_error(
                line,
                _("VAT number '%(vat)s' already belongs to customer '%(owner)s'")
                % {"vat": vat_number, "owner": owner.number},
            )
    report.errors.sort(key=lambda problem: problem.line or 0)
    _stop_if_rejected(report)
    _upsert(
        model=CustomerAccount,
        label="customers",
        tenant=tenant,
        wanted=wanted,
        existing=existing,
        report=report,
        progress=progress,
    )


# --- orders --------------------------------------------------------------------------------

ORDER_COLUMNS = _Columns(
    required=(
        "order_number",
        "customer_number",
        "order_date",
        "line_number",
        "sku",
        "quantity",
        "unit_price",
    ),
    optional=("delivery_date", "invoice_number", "lot_number", "serial_numbers"),
)


@dataclass
class _OrderHeader:
    line: int
    customer_number: Any
    order_date: Any
    delivery_date: Any
    invoice_number: Any


def orders_import(
    *, tenant: Tenant, rows_source: RowsSource, progress: ProgressCallback | None = None
) -> ImportReport:
    """Create or update orders and their lines (one CSV row per order line) by order number."""
    return _run_import(
        kind="orders",
        columns=ORDER_COLUMNS,
        body=_import_orders,
        tenant=tenant,
        rows_source=rows_source,
        progress=progress,
    )


def _import_orders(
    *, tenant: Tenant, table: _Table, report: ImportReport, progress: _Progress
) -> None:
    present = table.present
    rows = table.rows
    customer_ids = {
        number: pk
        for chunk in _batches(sorted({row.cells["customer_number"] for row in rows}), LOOKUP_CHUNK)
        for number, pk in CustomerAccount.unscoped.filter(
            tenant=tenant, number__in=chunk
        ).values_list("number", "pk")
    }
    products = {
        sku: (pk, serial_tracked)
        for chunk in _batches(sorted({row.cells["sku"] for row in rows}), LOOKUP_CHUNK)
        for sku, pk, serial_tracked in Product.unscoped.filter(
            tenant=tenant, sku__in=chunk
        ).values_list("sku", "pk", "is_serial_tracked")
    }
    existing_orders = _load_by_key(
        Order.unscoped.filter(tenant=tenant).annotate(
            current_customer_number=F("customer_account__number")
        ),
        "number",
        (row.cells["order_number"] for row in rows),
    )
    existing_lines: dict[tuple[int, int], OrderLine] = {}
    for chunk in _batches(sorted(order.pk for order in existing_orders.values()), LOOKUP_CHUNK):
        for order_line in OrderLine.unscoped.filter(tenant=tenant, order_id__in=chunk):
            existing_lines[order_line.order_id, order_line.line_number] = order_line

    headers: dict[str, _OrderHeader] = {}
    line_rows: dict[tuple[str, int], int] = {}
    wanted_orders: dict[str, Wanted] = {}
    wanted_lines: dict[tuple[str, int], Wanted] = {}
    limits = {
        name: _max_length(model, name)
        for model, name in (
            (Order, "number"),
            (Order, "invoice_number"),
            (CustomerAccount, "number"),
            (Product, "sku"),
            (OrderLine, "lot_number"),
        )
    }
    total = len(rows)
    for done, row in enumerate(rows, 1):
        progress("validate", done, total)
        check = _RowCheck(report, row)
        order_number = check.text("order_number", max_length=limits["number"], required=True)
        customer_number = check.text("customer_number", max_length=limits["number"], required=True)
        order_date = check.date("order_date", required=True)
        delivery_date = check.date("delivery_date")
        invoice_number = check.text("invoice_number", max_length=limits["invoice_number"])
        line_number = check.whole_number("line_number")
        sku = check.text("sku", max_length=limits["sku"], required=True)
        quantity = check.whole_number("quantity")
        unit_price = check.money("unit_price")
        lot_number = check.text("lot_number", max_length=limits["lot_number"])
        serials = _check_serials(check)

        if _valid(order_date, delivery_date) and delivery_date and delivery_date < order_date:
            check.fail(
                _("delivery_date %(delivery)s is before order_date %(ordered)s")
                % {"delivery": delivery_date.isoformat(), "ordered": order_date.isoformat()}
            )
        product = None
        if sku is not INVALID:
            product = products.get(sku)
            if product is None:
                check.fail(_("unknown SKU '%(sku)s' (not in the catalogue)") % {"sku": sku})
        if product is not None and serials and serials is not INVALID:
            if not product[1]:
                check.fail(
                    _("serial_numbers given, but product '%(sku)s' is not serial-tracked")
                    % {"sku": sku}
                )
            elif quantity is not INVALID and len(serials) != quantity:
                check.fail(
                    _(
                        "%(count)d serial numbers given for quantity %(quantity)d of "
                        "serial-tracked product '%(sku)s'"
                    )
                    % {"count": len(serials), "quantity": quantity, "sku": sku}
                )
        if order_number is not INVALID:
            header = _OrderHeader(
                row.line, customer_number, order_date, delivery_date, invoice_number
            )
            first = headers.setdefault(order_number, header)
            if first is header:
                _check_new_order_header(
                    check, order_number, header, customer_ids, existing_orders, present
                )
            else:
                _check_same_order_header(check, order_number, header, first)
            if line_number is not INVALID:
                first_line = line_rows.setdefault((order_number, line_number), row.line)
                if first_line != row.line:
                    check.fail(
                        _(
                            "order '%(order)s' line %(number)d appears again "
                            "(first on line %(first)d)"
                        )
                        % {"order": order_number, "number": line_number, "first": first_line}
                    )
        customer_id = customer_ids.get(customer_number)
        if not check.ok or customer_id is None:  # an unknown customer is reported once per order
            continue

        if order_number not in wanted_orders:
            order_values = {
                "customer_account_id": customer_id,
                "order_date": order_date,
            }
            if "delivery_date" in present:
                order_values["delivery_date"] = delivery_date
            if "invoice_number" in present:
                order_values["invoice_number"] = invoice_number
            wanted_orders[order_number] = (order_values, {"number": order_number})
        line_values = {"product_id": product[0], "quantity": quantity, "unit_price": unit_price}
        if "lot_number" in present:
            line_values["lot_number"] = lot_number
        if "serial_numbers" in present:
            line_values["serial_numbers"] = serials
        wanted_lines[order_number, line_number] = (line_values, {"line_number": line_number})
    report.errors.sort(key=lambda problem: problem.line or 0)
    _stop_if_rejected(report)

    orders = _upsert(
        model=Order,
        label="orders",
        tenant=tenant,
        wanted=wanted_orders,
        existing=existing_orders,
        report=report,
        progress=progress,
    )
    lines_by_order_id: dict[tuple[int, int], Wanted] = {}
    for (order_number, line_number), (values, new_only) in wanted_lines.items():
        order_id = orders[order_number].pk
        lines_by_order_id[order_id, line_number] = (values, {**new_only, "order_id": order_id})
    _upsert(
        model=OrderLine,
        label="order lines",
        tenant=tenant,
        wanted=lines_by_order_id,
        existing=existing_lines,
        report=report,
        progress=progress,
    )


def _check_serials(check: _RowCheck) -> Any:
    raw = check.cells.get("serial_numbers", "")
    serials = [serial.strip() for serial in raw.split(SERIAL_SEPARATOR) if serial.strip()]
    seen: set[str] = set()
    for serial in serials:
        if serial in seen:
            return check.fail(_("serial number '%(serial)s' is listed twice") % {"serial": serial})
        seen.add(serial)
    return serials


def _check_new_order_header(
    check: _RowCheck,
    order_number: str,
    header: _OrderHeader,
    customer_ids: dict[str, int],
    existing_orders: dict[str, Order],
    present: frozenset[str],
) -> None:
    """Order-level checks, made once on the first line of each order."""
    if header.customer_number is INVALID:
        return
    customer_id = customer_ids.get(header.customer_number)
    if customer_id is None:
        check.fail(
            _("unknown customer number '%(number)s' (order '%(order)s')")
            % {"number": header.customer_number, "order": order_number}
        )
        return
    current = existing_orders.get(order_number)
    if current is None:
        return
    if current.customer_account_id != customer_id:
        check.fail(
            _(
                "order '%(order)s' already exists for customer '%(current)s'; an import cannot "
                "move it to customer '%(new)s'"
            )
            % {
                "order": order_number,
                "current": current.current_customer_number,
                "new": header.customer_number,
            }
        )
    if (
        "delivery_date" not in present
        and header.order_date is not INVALID
        and current.delivery_date
        and current.delivery_date < header.order_date
    ):
        check.fail(
            _(
                "order_date %(ordered)s is after the delivery date %(delivery)s already stored "
                "for order '%(order)s'"
            )
            % {
                "ordered": header.order_date.isoformat(),
                "delivery": current.delivery_date.isoformat(),
                "order": order_number,
            }
        )


def _check_same_order_header(
    check: _RowCheck,
    order_number: str,
    header: _OrderHeader,
    first: _OrderHeader,
) -> None:
    """Every line of an order must repeat the order's customer, dates and invoice."""
    for column in ("customer_number", "order_date", "delivery_date", "invoice_number"):
        here, there = getattr(header, column), getattr(first, column)
        if _valid(here, there) and here != there:
            check.fail(
                _(
                    "order '%(order)s' has %(column)s '%(here)s' here "
                    "but '%(there)s' on line %(line)d"
                )
                % {
                    "order": order_number,
                    "column": column,
                    "here": _shown(here),
                    "there": _shown(there),
                    "line": first.line,
                }
            )


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "products": catalog_import_products,
    "customers": customers_import,
    "orders": orders_import,
}

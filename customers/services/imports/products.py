"""Import of the product catalogue: one record per product, upserted by SKU, and of categories,
upserted by code (the ERP's keys).

Category codes the tenant does not have yet are created, named by the record or by the code.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from customers.models import Product, ProductCategory
from rma_portal.tenancy.models import Tenant

from .cells import INVALID, RowCheck, field_max_length, valid
from .pipeline import Progress, ProgressCallback, run_import, stop_if_rejected
from .reading import Columns, Record, RowsSource
from .report import ImportReport
from .writing import Wanted, key_values, load_by_key, upsert

CATEGORY_COLUMNS = Columns(required=("code", "name"))
PRODUCT_COLUMNS = Columns(
    required=("sku", "name", "category", "unit_price", "returnable", "serial_tracked"),
    optional=("category_name", "active"),
)


def catalog_import_products(
    *, tenant: Tenant, rows_source: RowsSource, progress: ProgressCallback | None = None
) -> ImportReport:
    """Create or update the tenant's products by SKU; unknown category codes are created."""
    return run_import(
        kind="products",
        columns=PRODUCT_COLUMNS,
        body=write_products,
        tenant=tenant,
        rows_source=rows_source,
        progress=progress,
    )


def write_products(
    *, tenant: Tenant, records: list[Record], report: ImportReport, progress: Progress
) -> None:
    """Check every product record, then create or update them all (or raise ImportRejected)."""
    existing_categories = {
        category.code: category for category in ProductCategory.unscoped.filter(tenant=tenant)
    }
    existing = load_by_key(
        Product.unscoped.filter(tenant=tenant), "sku", key_values(records, "sku")
    )
    limits = {
        "sku": field_max_length(Product, "sku"),
        "name": field_max_length(Product, "name"),
        "category": field_max_length(ProductCategory, "code"),
        "category_name": field_max_length(ProductCategory, "name"),
    }
    sku_lines: dict[str, int] = {}
    category_names: dict[str, tuple[int, str]] = {}  # code -> (first line naming it, name)
    planned: dict[str, tuple[str, dict[str, Any]]] = {}  # sku -> (category code, values)
    total = len(records)
    for done, row in enumerate(records, 1):
        progress("validate", done, total)
        check = RowCheck(report, row)
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
                    _("SKU '%(sku)s' appears again (first on %(where)s)")
                    % {"sku": sku, "where": report.where(sku_lines[sku])},
                    "sku",
                )
            else:
                sku_lines[sku] = row.line
        if valid(code, category_name) and category_name:
            first = category_names.setdefault(code, (row.line, category_name))
            if first[1] != category_name:
                check.fail(
                    _("category '%(code)s' is named '%(name)s' here but '%(first)s' on %(where)s")
                    % {
                        "code": code,
                        "name": category_name,
                        "first": first[1],
                        "where": report.where(first[0]),
                    },
                    "category_name",
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
    stop_if_rejected(report)

    wanted_categories: dict[str, Wanted] = {}
    for code, _values in planned.values():
        if code in category_names:
            wanted_categories[code] = ({"name": category_names[code][1]}, {"code": code})
        else:
            wanted_categories[code] = ({}, {"code": code, "name": code})
    categories = upsert(
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
    upsert(
        model=Product,
        label="products",
        tenant=tenant,
        wanted=wanted,
        existing=existing,
        report=report,
        progress=progress,
    )


def catalog_import_categories(
    *, tenant: Tenant, rows_source: RowsSource, progress: ProgressCallback | None = None
) -> ImportReport:
    """Create or update the tenant's product categories by code."""
    return run_import(
        kind="categories",
        columns=CATEGORY_COLUMNS,
        body=write_categories,
        tenant=tenant,
        rows_source=rows_source,
        progress=progress,
    )


def write_categories(
    *, tenant: Tenant, records: list[Record], report: ImportReport, progress: Progress
) -> None:
    """Check every category record, then create or update them all (or raise ImportRejected)."""
    existing = load_by_key(
        ProductCategory.unscoped.filter(tenant=tenant), "code", key_values(records, "code")
    )
    limits = {name: field_max_length(ProductCategory, name) for name in ("code", "name")}
    code_lines: dict[str, int] = {}
    wanted: dict[str, Wanted] = {}
    total = len(records)
    for done, row in enumerate(records, 1):
        progress("validate", done, total)
        check = RowCheck(report, row)
        code = check.slug("code", max_length=limits["code"])
        name = check.text("name", max_length=limits["name"], required=True)
        if code is not INVALID:
            if code in code_lines:
                check.fail(
                    _("category code '%(code)s' appears again (first on %(where)s)")
                    % {"code": code, "where": report.where(code_lines[code])},
                    "code",
                )
            else:
                code_lines[code] = row.line
        if check.ok:
            wanted[code] = ({"name": name}, {"code": code})
    stop_if_rejected(report)
    upsert(
        model=ProductCategory,
        label="product categories",
        tenant=tenant,
        wanted=wanted,
        existing=existing,
        report=report,
        progress=progress,
    )

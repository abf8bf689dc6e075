"""Import of the product catalogue, customer companies and orders mirrored from the ERP, from a
CSV file or from API records: one path of checks and writes (`write_*`) for both.

All-or-nothing and idempotent: every record is checked first, those that differ are upserted by
key.
"""

from collections.abc import Callable

from .cells import INVALID, MAX_MONEY, MAX_POSITIVE_INT, SERIAL_SEPARATOR
from .customers import CUSTOMER_COLUMNS, customers_import, write_customers
from .orders import LINE_COLUMNS, ORDER_COLUMNS, orders_import, write_orders
from .pipeline import PROGRESS_EVERY, ImportBody, ProgressCallback, run_records
from .products import (
    CATEGORY_COLUMNS,
    PRODUCT_COLUMNS,
    catalog_import_categories,
    catalog_import_products,
    write_categories,
    write_products,
)
from .reading import Record, RowsSource
from .report import ImportProblem, ImportRejected, ImportReport, ModelCounts
from .writing import BATCH_SIZE, LOOKUP_CHUNK, Wanted

IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "categories": catalog_import_categories,
    "products": catalog_import_products,
    "customers": customers_import,
    "orders": orders_import,
}

__all__ = [
    "BATCH_SIZE",
    "CATEGORY_COLUMNS",
    "CUSTOMER_COLUMNS",
    "IMPORTERS",
    "INVALID",
    "LINE_COLUMNS",
    "LOOKUP_CHUNK",
    "MAX_MONEY",
    "MAX_POSITIVE_INT",
    "ORDER_COLUMNS",
    "PRODUCT_COLUMNS",
    "PROGRESS_EVERY",
    "SERIAL_SEPARATOR",
    "ImportBody",
    "ImportProblem",
    "ImportRejected",
    "ImportReport",
    "ModelCounts",
    "ProgressCallback",
    "Record",
    "RowsSource",
    "Wanted",
    "catalog_import_categories",
    "catalog_import_products",
    "customers_import",
    "orders_import",
    "run_records",
    "write_categories",
    "write_customers",
    "write_orders",
    "write_products",
]

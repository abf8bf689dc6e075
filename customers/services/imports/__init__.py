"""CSV import of the product catalogue, customer companies and orders mirrored from the ERP.

All-or-nothing and idempotent: every row is checked first, rows that differ are upserted by key.
"""

from collections.abc import Callable

from .cells import INVALID, MAX_MONEY, MAX_POSITIVE_INT, SERIAL_SEPARATOR
from .customers import CUSTOMER_COLUMNS, customers_import
from .orders import ORDER_COLUMNS, orders_import
from .pipeline import PROGRESS_EVERY, ImportBody, ProgressCallback
from .products import PRODUCT_COLUMNS, catalog_import_products
from .reading import RowsSource
from .report import ImportProblem, ImportRejected, ImportReport, ModelCounts
from .writing import BATCH_SIZE, LOOKUP_CHUNK, Wanted

IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "products": catalog_import_products,
    "customers": customers_import,
    "orders": orders_import,
}

__all__ = [
    "BATCH_SIZE",
    "CUSTOMER_COLUMNS",
    "IMPORTERS",
    "INVALID",
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
    "RowsSource",
    "Wanted",
    "catalog_import_products",
    "customers_import",
    "orders_import",
]

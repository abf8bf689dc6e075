"""Writes on customer companies, their users and the mirrored ERP data."""

from .erp import MAX_RECORDS, erp_upsert, erp_upsert_one
from .imports import (
    ImportRejected,
    ImportReport,
    catalog_import_products,
    customers_import,
    orders_import,
)
from .users import (
    customer_invitation_resend,
    customer_user_create,
    customer_user_invite,
    customer_user_set_active,
    customer_user_set_role,
)

__all__ = [
    "MAX_RECORDS",
    "ImportRejected",
    "ImportReport",
    "catalog_import_products",
    "customer_invitation_resend",
    "customer_user_create",
    "customer_user_invite",
    "customer_user_set_active",
    "customer_user_set_role",
    "customers_import",
    "erp_upsert",
    "erp_upsert_one",
    "orders_import",
]

"""Writes on customer companies, their users and the mirrored ERP data."""

from .users import customer_user_create, customer_user_set_active

__all__ = ["customer_user_create", "customer_user_set_active"]

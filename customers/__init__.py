"""Customers: the tenant's customer companies and their users, the product catalogue,
and the orders mirrored from the ERP that returns and complaints are filed against."""

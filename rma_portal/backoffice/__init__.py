"""The back-office: Django admin at /backoffice/, scoped to the staff user's tenant."""

from django.contrib.admin.apps import AdminConfig


class BackofficeAdminConfig(AdminConfig):
    default_site = "rma_portal.backoffice.sites.BackofficeSite"

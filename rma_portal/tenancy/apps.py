from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "rma_portal.tenancy"
    label = "tenancy"
    verbose_name = _("Tenancy")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .row_security import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="tenancy_row_security")

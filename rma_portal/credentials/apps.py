from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CredentialsConfig(AppConfig):
    name = "rma_portal.credentials"
    label = "credentials"
    verbose_name = _("API access")

    def ready(self) -> None:
        from rma_portal.notifications.sweepers import register_sweeper

        from . import signals  # noqa: F401 - connects the revocation receivers
        from .services import sweep_idempotency_records

        register_sweeper("idempotency-records", sweep_idempotency_records)

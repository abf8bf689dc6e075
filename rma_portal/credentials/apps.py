from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CredentialsConfig(AppConfig):
    name = "rma_portal.credentials"
    label = "credentials"
    verbose_name = _("API access")

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the revocation receivers

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "rma_portal.security"
    label = "security"
    verbose_name = _("Security")

    def ready(self) -> None:
        from django.urls import register_converter

        from rma_portal.ids import IdConverter

        from . import signals  # noqa: F401 - connects the audit receivers

        # `<id:pk>` in URL patterns: ids a row can have, anything else is a 404 (rma_portal/ids.py).
        # Registered here, before any urlconf is imported.
        register_converter(IdConverter, "id")

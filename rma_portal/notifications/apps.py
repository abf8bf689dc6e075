from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "rma_portal.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from .objects import register_definitions

        # The actor every case app's webhook payloads name (docs/webhooks.md).
        register_definitions()

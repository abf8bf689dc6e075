from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    name = "returns"
    verbose_name = _("Returns")

    def ready(self) -> None:
        from rma_portal.notifications.sweepers import register_sweeper

        from .labels import label_sweep
        from .notifications import register_webhook_events

        # A label whose enqueue or worker was lost is rendered by the outbox sweep.
        register_sweeper("return-labels", label_sweep)
        # The webhook events of returns, their schemas and builders (docs/webhooks.md).
        register_webhook_events()

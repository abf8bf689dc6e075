from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from .models import ComplaintMessage
        from .notifications import on_message_saved, register_webhook_events

        # The webhook events of complaints, their schemas and builders (docs/webhooks.md).
        register_webhook_events()
        # A message the customer reads is `complaint.message_added` (internal notes never).
        post_save.connect(
            on_message_saved, sender=ComplaintMessage, dispatch_uid="complaint_message_webhook"
        )

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboundConfig(AppConfig):
    name = "rma_portal.inbound"
    label = "inbound"
    verbose_name = _("Inbound e-mail")

    def ready(self) -> None:
        from rma_portal.notifications.addressing import register_addressing

        from .dropfolder import start_embedded_poller
        from .replies import addressing

        # E-mails about a case: the tenant's support mailbox, a reply address and a thread
        # per case (rma_portal/inbound/replies.py).
        register_addressing(addressing)
        # `make run`: .eml files dropped into var/mail-in/ are read every few seconds.
        start_embedded_poller()

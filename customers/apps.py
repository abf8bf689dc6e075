from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers and orders")

    def ready(self) -> None:
        from rma_portal.accounts.backends import register_login_check
        from rma_portal.accounts.services import register_absence_listener

        from .policies import customer_may_sign_in
        from .routing import on_absence

        register_login_check(customer_may_sign_in)
        # Cases of staff who go away today are handed on at once (docs/staff-intake.md).
        register_absence_listener("case-routing", on_absence)
        # The customer, order and product objects of returns' and complaints' webhook payloads.
        from .webhooks import register_definitions

        register_definitions()

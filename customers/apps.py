from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers and orders")

    def ready(self) -> None:
        from rma_portal.accounts.backends import register_login_check

        from .policies import customer_may_sign_in

        register_login_check(customer_may_sign_in)

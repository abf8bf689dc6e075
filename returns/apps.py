from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    name = "returns"
    verbose_name = _("Returns")

    def ready(self) -> None:
        from rma_portal.notifications.sweepers import register_sweeper

        from . import inbound  # noqa: F401 - its e-mail handler
        from .labels import label_sweep
        from .notifications import register_webhook_events

        # A label whose enqueue or worker was lost is rendered by the outbox sweep.
        register_sweeper("return-labels", label_sweep)
        # The webhook events of returns, their schemas and builders (docs/webhooks.md).
        register_webhook_events()
        register_assignment_hooks()
        # Its cases in the agents' inbox, the back-office's home.
        from .inbox import register as register_inbox

        register_inbox()
        # Its cases about an order, on the order's page in the portal.
        from customers.cases import CaseKind, register_order_cases

        from .selectors import order_cases

        register_order_cases(CaseKind.RETURN, order_cases)
        # Its returns as complaints' portal pages may name them (a complaint's linked return).
        from customers.cases import CaseLinks, register_case_links

        from .selectors import return_request_for_user

        register_case_links(
            CaseLinks(
                kind=CaseKind.RETURN,
                find=lambda *, user, pk: return_request_for_user(user=user, return_id=pk),
            )
        )
        # Its rules on the tenant's public policy page (customers/policy_page.py).
        from customers.policy_page import register_policy_section

        from .public_policy import returns_section

        register_policy_section("returns", 10, returns_section)


def register_assignment_hooks() -> None:
    """What automatic assignment needs of returns: the reasons its rules may name, how to
    hand on the returns of staff who are away, and the returns' part of each person's load."""
    from customers.cases import (
        RETURN_REASON,
        CaseKind,
        CaseReassigner,
        register_case_reassigner,
        register_condition_choices,
    )
    from rma_portal.accounts.services import (
        WorkloadColumn,
        WorkloadSource,
        register_workload_source,
    )

    from .models import ReturnReason
    from .services import transitions

    register_condition_choices(RETURN_REASON, lambda: ReturnReason.choices)
    register_case_reassigner(
        CaseReassigner(kind=CaseKind.RETURN, reassign=transitions.returns_reassign_away)
    )
    register_workload_source(
        WorkloadSource(
            name="returns",
            position=10,
            count=transitions.return_workload,
            columns=(
                WorkloadColumn(
                    transitions.OPEN_RETURNS,
                    _("Open returns"),
                    open_cases=True,
                    link=transitions.open_returns_link,
                ),
            ),
        )
    )

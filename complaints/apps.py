from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from . import inbound  # noqa: F401 - its e-mail handler
        from .models import ComplaintMessage
        from .notifications import on_message_saved, register_webhook_events

        # The webhook events of complaints, their schemas and builders (docs/webhooks.md).
        register_webhook_events()
        # A message the customer reads is `complaint.message_added` (internal notes never).
        post_save.connect(
            on_message_saved, sender=ComplaintMessage, dispatch_uid="complaint_message_webhook"
        )
        register_assignment_hooks()
        # Its cases in the agents' inbox, the back-office's home.
        from .inbox import register as register_inbox

        register_inbox()
        # Its cases about an order, on the order's page in the portal.
        from customers.cases import CaseKind, register_order_cases

        from .selectors import order_cases

        register_order_cases(CaseKind.COMPLAINT, order_cases)
        # Its complaints as the return wizard finds them, to link a return started from one.
        from customers.cases import CaseLinks, register_case_links

        from . import services
        from .selectors import complaint_for_user

        register_case_links(
            CaseLinks(
                kind=CaseKind.COMPLAINT,
                find=lambda *, user, pk: complaint_for_user(user=user, complaint_id=pk),
                # Looked up when called: the service as the package exports it.
                link_return=lambda *, case, actor, return_request: services.complaint_link_return(
                    complaint=case, actor=actor, return_request=return_request
                ),
            )
        )
        # The tenant's business calendar, customer-update cadence and auto-close days, for
        # returns too (customers/calendar.py).
        from customers.calendar import (
            register_auto_close_days_provider,
            register_calendar_provider,
            register_update_cadence_provider,
        )

        from .selectors import auto_close_days, business_calendar, update_cadence

        register_calendar_provider(business_calendar)
        register_update_cadence_provider(update_cadence)
        # After how many days resolved returns close too (returns/maintenance.py).
        register_auto_close_days_provider(auto_close_days)
        # Its time limits on the tenant's public policy page (customers/policy_page.py).
        from customers.policy_page import register_policy_section

        from .public_policy import complaints_section

        register_policy_section("complaints", 20, complaints_section)


def register_assignment_hooks() -> None:
    """What automatic assignment needs of complaints: the categories and priorities its rules
    may name, how to hand on the complaints of staff who are away, and the complaints' part
    of each person's load (open, at risk, breached)."""
    from customers.cases import (
        COMPLAINT_CATEGORY,
        COMPLAINT_PRIORITY,
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

    from .models import ComplaintCategory, Priority
    from .services import complaints as services

    register_condition_choices(COMPLAINT_CATEGORY, lambda: ComplaintCategory.choices)
    register_condition_choices(COMPLAINT_PRIORITY, lambda: Priority.choices)
    register_case_reassigner(
        CaseReassigner(kind=CaseKind.COMPLAINT, reassign=services.complaints_reassign_away)
    )
    register_workload_source(
        WorkloadSource(
            name="complaints",
            position=20,
            count=services.complaint_workload,
            columns=(
                WorkloadColumn(
                    services.OPEN_COMPLAINTS,
                    _("Open complaints"),
                    open_cases=True,
                    link=services.open_complaints_link,
                ),
                WorkloadColumn(
                    services.COMPLAINTS_AT_RISK,
                    _("Complaints at risk"),
                    link=services.complaints_at_risk_link,
                ),
                WorkloadColumn(
                    services.COMPLAINTS_BREACHED,
                    _("Complaints breached"),
                    link=services.complaints_breached_link,
                ),
            ),
        )
    )

"""State changes of a return request, one service per transition
(docs/architecture.md#state-machines); a submitted return nobody has is assigned automatically
(customers/routing.py)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from customers.calendar import business_calendar
from customers.cases import CaseFacts, CaseKind
from customers.models import OrderLine
from customers.routing import (
    REASON_ABSENCE,
    REASON_FILED,
    Decision,
    reassign_each,
    record_auto_assignment,
    route,
    timeline_note,
)
from customers.update_cadence import track_update
from rma_portal.accounts.models import User
from rma_portal.cadence import told_by
from rma_portal.concurrency import changed_since_seen
from rma_portal.security.audit import record
from rma_portal.security.models import AuditAction
from rma_portal.tenancy.sequences import format_document_number, next_in_sequence

from ..models import (
    OPEN_STATUSES,
    UPDATE_CADENCE_STATUSES,
    Disposition,
    ItemCondition,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    ShippingPaidBy,
)
from ..notifications import on_return_event
from ..policies import evaluate_return
from ..selectors import lines_facts, return_rules_for, tenant_today
from .access import (
    may_approve,
    require_acting_for_customers,
    require_approver,
    require_customer,
    require_customer_or_staff,
    require_staff,
    require_staff_or_awaiting_approver,
)
from .errors import ReturnConflict, ReturnInvalid

# One whole sentence per transition, so translations need not agree with an inserted verb.
CONFLICT_MESSAGES = {
    "submit": gettext_lazy("Return %(number)s cannot be submitted: its status is “%(status)s”."),
    "provide_info": gettext_lazy(
        "Return %(number)s is not waiting for an answer: its status is “%(status)s”."
    ),
    "cancel": gettext_lazy("Return %(number)s cannot be cancelled: its status is “%(status)s”."),
    "approve": gettext_lazy("Return %(number)s cannot be approved: its status is “%(status)s”."),
    "reopen": gettext_lazy(
        "Return %(number)s can no longer be changed: its status is “%(status)s”."
    ),
    "request_approval": gettext_lazy(
        "Approval of return %(number)s cannot be asked for: its status is “%(status)s”."
    ),
    "request_info": gettext_lazy(
        "No question can be sent on return %(number)s: its status is “%(status)s”."
    ),
    "reject": gettext_lazy("Return %(number)s cannot be rejected: its status is “%(status)s”."),
    "mark_received": gettext_lazy(
        "Return %(number)s cannot be marked received: its status is “%(status)s”."
    ),
    "inspect": gettext_lazy("Return %(number)s cannot be inspected: its status is “%(status)s”."),
    "resolve": gettext_lazy("Return %(number)s cannot be resolved: its status is “%(status)s”."),
    "close": gettext_lazy("Return %(number)s cannot be closed: its status is “%(status)s”."),
}


def shipping_payer(free_shipping: bool) -> str:
    """Who pays for sending the goods back, from the policy's verdict: we do when every line
    is returned for a reason of free return shipping (our error, a defect)."""
    return ShippingPaidBy.MERCHANT if free_shipping else ShippingPaidBy.CUSTOMER


def next_rma_number(tenant) -> str:
    """The next RMA number, RMA-<year>-<n> in the tenant's year of today; given on
    submission, in its transaction (a submission refused or rolled back gives it back)."""
    year = tenant_today(tenant).year
    return format_document_number(
        "RMA", year, next_in_sequence(tenant=tenant, name="RMA", year=year)
    )


def _conflict(locked: ReturnRequest, transition: str) -> ReturnConflict:
    return ReturnConflict(
        str(CONFLICT_MESSAGES[transition])
        % {"number": locked.reference, "status": locked.get_status_display()}
    )


def _lock(return_request: ReturnRequest, *, as_seen: bool = True) -> ReturnRequest:
    """The return's row, locked. `return_request` is the one the actor looked at (its
    version is the one the request carried): with `as_seen`, a return changed since then
    refuses the change. A comment only adds to the timeline and passes `as_seen=False`."""
    # of=("self",): without it PostgreSQL also locks the joined tenant and customer rows,
    # and every transition of the tenant would wait for every other one.
    locked = (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("tenant", "customer_account")
        .get(pk=return_request.pk)
    )
    if as_seen and changed_since_seen(return_request, locked):
        raise ReturnConflict(
            _(
                "Return %(number)s has changed since you opened it (it is now “%(status)s”): "
                "look at it again, then repeat what you wanted to do."
            )
            % {"number": locked.reference, "status": locked.get_status_display()}
        )
    return locked


def _event(
    locked: ReturnRequest,
    *,
    actor: User | None,
    action: str,
    from_status: str = "",
    note: str = "",
    is_public: bool = True,
) -> ReturnEvent:
    event = ReturnEvent.objects.create(
        tenant=locked.tenant,
        return_request=locked,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=locked.status,
        note=note,
        is_public=is_public,
    )
    track_update(
        locked,
        at=timezone.now(),  # the services' clock, as for the other clocks of the return
        from_status=from_status,
        running_statuses=UPDATE_CADENCE_STATUSES,
        told_customer=told_by(is_public=is_public, actor=actor),
    )
    # E-mails, webhooks and documents go through the outbox in this same transaction.
    on_return_event(event)
    return event


def _run(
    return_request: ReturnRequest,
    *,
    actor: User,
    transition: str,
    action: str,
    check: Callable[[User, ReturnRequest], None],
    apply: Callable[[ReturnRequest], None],
    note: str = "",
    is_public: bool = True,
) -> ReturnRequest:
    """Lock the row, re-check state and role, transition, save, write the event."""
    with transaction.atomic():
        locked = _lock(return_request)
        check(actor, locked)
        if not can_proceed(getattr(locked, transition)):
            raise _conflict(locked, transition)
        from_status = locked.status
        apply(locked)
        locked.save()
        _event(
            locked,
            actor=actor,
            action=action,
            from_status=from_status,
            note=note,
            is_public=is_public,
        )
    return locked


def _required_text(value: str, message: str, field_name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ReturnInvalid(message, fields={field_name: [message]})
    if len(value) > 4000:
        raise ReturnInvalid(_("The text is too long."), fields={field_name: [_("Too long.")]})
    return value


# --- customer ---------------------------------------------------------------------------


def return_request_submit(*, return_request: ReturnRequest, actor: User) -> ReturnRequest:
    """Check the policy and the quantity ledger under row locks, snapshot the policy, submit;
    approve at once when the auto-approval rule says so."""
    return _submit(return_request, actor=actor, check=require_customer)


# The internal timeline action of a policy refusal overridden by staff (with its reason).
POLICY_OVERRIDDEN = "policy_overridden"


def return_request_submit_for_customer(
    *, return_request: ReturnRequest, actor: User, override_reason: str = ""
) -> ReturnRequest:
    """Staff submit a return they file for a customer, under the same checks as the
    customer's own submission.

    With an `override_reason` a refusal of the return policy (window, non-returnable goods,
    reason or resolution not offered) does not stop the submission: the refusals and the
    reason are recorded as an internal timeline event and the return waits for a decision
    (it is never approved automatically). The quantity ledger and serial numbers are never
    overridden: goods not delivered, or already in another return, cannot come back.
    """
    override_reason = (override_reason or "").strip()
    if len(override_reason) > 4000:
        raise ReturnInvalid(
            _("The text is too long."), fields={"override_reason": [_("Too long.")]}
        )
    return _submit(
        return_request,
        actor=actor,
        check=require_acting_for_customers,
        override_reason=override_reason,
    )


def _submit(
    return_request: ReturnRequest,
    *,
    actor: User,
    check: Callable[[User, ReturnRequest], None],
    override_reason: str = "",
) -> ReturnRequest:
    with transaction.atomic():
        locked = _lock(return_request)
        check(actor, locked)
        if not can_proceed(locked.submit):
            raise _conflict(locked, "submit")
        lines = list(locked.lines.all())
        if not lines:
            raise ReturnInvalid(_("Choose at least one line to return."))
        if not locked.requested_resolution or not locked.return_method:
            raise ReturnInvalid(_("Choose the resolution and how the goods come back."))
        # Lock the order lines so concurrent submissions against them run one after another
        # and each sees what the other claimed.
        order_lines = {
            ol.pk: ol
            for ol in OrderLine.objects.select_for_update(of=("self",))
            .filter(pk__in=[line.order_line_id for line in lines])
            .select_related("order", "product__category")
            .order_by("pk")
        }
        _check_serials_free(locked, lines)
        rules = return_rules_for(customer_account=locked.customer_account)
        facts = lines_facts(
            [(order_lines[line.order_line_id], line.quantity, line.reason) for line in lines],
            exclude_return_id=locked.pk,
        )
        verdict = evaluate_return(
            rules, facts, resolution=locked.requested_resolution, today=tenant_today(locked.tenant)
        )
        overridden: list[str] = []
        if not verdict.allowed:
            messages = list(verdict.refusals)
            fields: dict[str, list[str]] = {}
            for index, (line, line_verdict) in enumerate(zip(lines, verdict.lines, strict=True)):
                if not line_verdict.allowed:
                    order_line = order_lines[line.order_line_id]
                    where = f"{order_line.order.number}/{order_line.line_number}"
                    fields[f"lines[{index}]"] = line_verdict.refusals
                    messages.extend(f"{where}: {text}" for text in line_verdict.refusals)
            # More than can still be returned is a fact about the goods, not a rule to waive.
            beyond_ledger = any(
                f.quantity_requested > v.returnable_quantity
                for f, v in zip(facts, verdict.lines, strict=True)
            )
            if not override_reason or beyond_ledger:
                raise ReturnInvalid(" ".join(messages), code="policy_refused", fields=fields)
            overridden = messages
        locked.policy_snapshot = rules.to_snapshot()
        locked.requested_value = verdict.requested_value
        locked.is_warranty_claim = verdict.warranty
        locked.approval_level = rules.approval_level(
            verdict.requested_value, overridden=bool(overridden)
        )
        locked.shipping_paid_by = shipping_payer(verdict.free_shipping)
        if not locked.number:  # first submission; a return taken back keeps its number
            locked.number = next_rma_number(locked.tenant)
        locked.submit()
        calendar = business_calendar(locked.tenant)
        locked.start_decision_clock(calendar, now=timezone.now())
        locked.save()
        _event(locked, actor=actor, action="submitted", from_status=ReturnStatus.DRAFT)
        if overridden:
            record(
                AuditAction.RETURN_POLICY_OVERRIDDEN,
                user=actor,
                tenant=locked.tenant,
                target=locked,
                target_label=locked.number,
                details={
                    "return": locked.number,
                    "reason": override_reason,
                    "refusals": overridden,
                    "requested_value": str(locked.requested_value),
                },
            )
            _event(
                locked,
                actor=actor,
                action=POLICY_OVERRIDDEN,
                from_status=locked.status,
                note="\n\n".join(
                    [
                        override_reason,
                        _("Refused by the return policy: %(refusals)s")
                        % {"refusals": " ".join(overridden)},
                    ]
                ),
                is_public=False,
            )
        if verdict.auto_approve:
            locked.approve(automatic=True)
            locked.stop_decision_clock(calendar, now=locked.approved_at)
            locked.save()
            _event(
                locked,
                actor=None,
                action="auto_approved",
                from_status=ReturnStatus.SUBMITTED,
                note=_("Approved automatically under the return policy."),
            )
        if locked.assignee_id is None:
            _assign_automatically(
                locked,
                facts=return_facts(
                    locked,
                    lines=[
                        (line.reason, order_lines[line.order_line_id].product.category_id)
                        for line in lines
                    ],
                ),
            )
    return locked


def _check_serials_free(locked: ReturnRequest, lines: list[ReturnLine]) -> None:
    wanted = {line.order_line_id: set(line.serial_numbers or []) for line in lines}
    wanted = {k: v for k, v in wanted.items() if v}
    if not wanted:
        return
    from ..models import CLAIMING_STATUSES

    others = ReturnLine.objects.filter(
        order_line_id__in=wanted, return_request__status__in=CLAIMING_STATUSES
    ).exclude(return_request=locked)
    taken = set()
    for other in others.values("order_line_id", "serial_numbers"):
        taken |= wanted[other["order_line_id"]] & set(other["serial_numbers"] or [])
    if taken:
        raise ReturnInvalid(
            _("Serial numbers %(serials)s are already in another return.")
            % {"serials": ", ".join(sorted(taken))},
            code="policy_refused",
        )


def return_request_reopen(*, return_request: ReturnRequest, actor: User) -> ReturnRequest:
    """The customer takes a submitted return (or one with a question open) back to a draft
    to change its lines, files and details, until staff decide; submitting it again checks
    the policy anew. The timeline entry lists the lines as they were, so every change is on
    the record."""

    def note(locked: ReturnRequest) -> str:
        lines = locked.lines.select_related("order_line__order", "order_line__product")
        return "\n".join(
            _("%(quantity)d × %(sku)s (order %(order)s/%(line)s), reason: %(reason)s")
            % {
                "quantity": line.quantity,
                "sku": line.order_line.product.sku,
                "order": line.order_line.order.number,
                "line": line.order_line.line_number,
                "reason": line.get_reason_display(),
            }
            for line in lines.order_by("pk")
        )

    with transaction.atomic():
        locked = _lock(return_request)
        require_customer(actor, locked)
        if not can_proceed(locked.reopen):
            raise _conflict(locked, "reopen")
        from_status = locked.status
        before = note(locked)
        locked.reopen()
        locked.pause_decision_clock(now=timezone.now())  # waits for the customer, like a question
        locked.save()
        _event(locked, actor=actor, action="reopened", from_status=from_status, note=before)
    return locked


def return_request_provide_info(
    *, return_request: ReturnRequest, actor: User, answer: str
) -> ReturnRequest:
    answer = _required_text(answer, _("Write your answer."), "answer")
    with transaction.atomic():
        locked = _run(
            return_request,
            actor=actor,
            transition="provide_info",
            action="info_provided",
            check=require_customer,
            apply=_provide_info,
            note=answer,
        )
        if locked.assignee_id is None:  # submitted again, and still nobody's
            _assign_automatically(locked)
    return locked


def _provide_info(locked: ReturnRequest) -> None:
    locked.provide_info()
    locked.resume_decision_clock(business_calendar(locked.tenant), now=timezone.now())


def return_request_cancel(
    *, return_request: ReturnRequest, actor: User, note: str = ""
) -> ReturnRequest:
    return _run(
        return_request,
        actor=actor,
        transition="cancel",
        action="cancelled",
        check=require_customer_or_staff,
        apply=lambda r: r.cancel(),
        note=(note or "").strip()[:4000],
    )


# --- staff ------------------------------------------------------------------------------


def _staff(actor: User, return_request: ReturnRequest) -> None:
    require_staff(actor, return_request)


def return_request_approve(
    *, return_request: ReturnRequest, actor: User, note: str = ""
) -> ReturnRequest:
    """Approve a submitted return, or one awaiting approval. A return whose value or policy
    override needs a coordinator or a manager (`approval_level`) is approved only by them;
    an agent asks them to (`return_request_ask_approval`)."""

    def apply(locked: ReturnRequest) -> None:
        locked.approve()
        locked.stop_decision_clock(business_calendar(locked.tenant), now=locked.approved_at)
        locked.approved_by = actor
        if locked.approval_level:
            _record_approval(AuditAction.RETURN_APPROVED_ABOVE_LIMIT, actor, locked)

    return _run(
        return_request,
        actor=actor,
        transition="approve",
        action="approved",
        check=require_approver,
        apply=apply,
        note=(note or "").strip()[:4000],
    )


def _record_approval(action: str, actor: User, locked: ReturnRequest) -> None:
    """The audit row of an approval asked for, or given above a limit."""
    record(
        action,
        user=actor,
        tenant=locked.tenant,
        target=locked,
        target_label=locked.reference,
        details={
            "return": locked.number,
            "approval_level": locked.approval_level,
            "requested_value": str(locked.requested_value),
        },
    )


def return_request_ask_approval(
    *, return_request: ReturnRequest, actor: User, note: str = ""
) -> ReturnRequest:
    """An agent recommends a return whose value or override needs a coordinator or manager:
    it waits in their "Awaiting approval" queue, and each of them is told by e-mail. The note
    is the agent's recommendation (internal)."""

    def check(user: User, locked: ReturnRequest) -> None:
        _staff(user, locked)
        if not locked.approval_level:
            raise ReturnConflict(
                _("Return %(number)s needs no further approval: approve it yourself.")
                % {"number": locked.reference}
            )
        if may_approve(user, locked):
            raise ReturnConflict(
                _("You may approve return %(number)s yourself.") % {"number": locked.reference}
            )

    def apply(locked: ReturnRequest) -> None:
        locked.request_approval()
        _record_approval(AuditAction.RETURN_APPROVAL_REQUESTED, actor, locked)

    return _run(
        return_request,
        actor=actor,
        transition="request_approval",
        action="approval_requested",
        check=check,
        apply=apply,
        note=(note or "").strip()[:4000],
        is_public=False,
    )


def return_request_request_info(
    *, return_request: ReturnRequest, actor: User, question: str
) -> ReturnRequest:
    question = _required_text(question, _("Write the question for the customer."), "question")
    return _run(
        return_request,
        actor=actor,
        transition="request_info",
        action="info_requested",
        check=_staff,
        apply=lambda r: _request_info(r, question),
        note=question,
    )


def _request_info(locked: ReturnRequest, question: str) -> None:
    locked.request_info(question=question)
    locked.pause_decision_clock(now=timezone.now())


def _reject(locked: ReturnRequest, reason: str) -> None:
    locked.reject(reason=reason)
    locked.stop_decision_clock(business_calendar(locked.tenant), now=timezone.now())


def _mark_received(locked: ReturnRequest) -> None:
    locked.mark_received()
    locked.start_refund_clock(business_calendar(locked.tenant), now=locked.received_at)


def return_request_reject(
    *, return_request: ReturnRequest, actor: User, reason: str
) -> ReturnRequest:
    reason = _required_text(
        reason, _("A rejection needs a reason the customer can read."), "reason"
    )
    return _run(
        return_request,
        actor=actor,
        transition="reject",
        action="rejected",
        check=require_staff_or_awaiting_approver,
        apply=lambda r: _reject(r, reason),
        note=reason,
    )


def return_request_mark_received(
    *, return_request: ReturnRequest, actor: User, note: str = ""
) -> ReturnRequest:
    return _run(
        return_request,
        actor=actor,
        transition="mark_received",
        action="received",
        check=_staff,
        apply=_mark_received,
        note=(note or "").strip()[:4000],
    )


# The timeline action of the internal note on a whole inspection (staff only).
INTERNAL_INSPECTION_NOTE = "inspection_note"


@dataclass(frozen=True)
class InspectionInput:
    condition: str
    disposition: str
    accepted_quantity: int
    internal_note: str = ""  # staff only, never shown to the customer
    customer_note: str = ""  # the customer reads it (portal, API, resolution e-mail)


def return_request_inspect(
    *,
    return_request: ReturnRequest,
    actor: User,
    results: Mapping[int, InspectionInput],
    customer_note: str = "",
    internal_note: str = "",
) -> ReturnRequest:
    """Record condition, disposition and accepted quantity of every line (keyed by line id).

    Every inspection text is either for the customer or internal, never both: the customer
    note of the whole return is the public "inspected" timeline entry, its internal note a
    separate entry only staff see (docs/security.md#inspection-notes).
    """
    with transaction.atomic():
        locked = _lock(return_request)
        require_staff(actor, locked)
        if not can_proceed(locked.inspect):
            raise _conflict(locked, "inspect")
        lines = list(locked.lines.select_related("order_line__order").order_by("pk"))
        errors: dict[str, list[str]] = {}
        missing = [line for line in lines if line.pk not in results]
        unknown = set(results) - {line.pk for line in lines}
        if missing or unknown:
            raise ReturnInvalid(_("Give an inspection result for every line of this return."))
        for line in lines:
            result = results[line.pk]
            key = f"lines[{line.pk}]"
            if result.condition not in ItemCondition.values:
                errors[f"{key}.condition"] = [_("Choose the condition.")]
            if result.disposition not in Disposition.values:
                errors[f"{key}.disposition"] = [_("Choose the disposition.")]
            quantity = result.accepted_quantity
            if (
                not isinstance(quantity, int)
                or isinstance(quantity, bool)
                or not (0 <= quantity <= line.quantity)
            ):
                errors[f"{key}.accepted_quantity"] = [
                    _("Accepted quantity must be between 0 and %(max)d.") % {"max": line.quantity}
                ]
        if errors:
            raise ReturnInvalid(next(iter(errors.values()))[0], fields=errors)
        for line in lines:
            result = results[line.pk]
            line.condition = result.condition
            line.disposition = result.disposition
            line.accepted_quantity = result.accepted_quantity
            line.inspection_note = (result.internal_note or "").strip()[:4000]
            line.inspection_customer_note = (result.customer_note or "").strip()[:4000]
            line.save(
                update_fields=[
                    "condition",
                    "disposition",
                    "accepted_quantity",
                    "inspection_note",
                    "inspection_customer_note",
                ]
            )
        locked.inspect()
        locked.save()
        _event(
            locked,
            actor=actor,
            action="inspected",
            from_status=ReturnStatus.RECEIVED,
            note=(customer_note or "").strip()[:4000],
        )
        internal_note = (internal_note or "").strip()[:4000]
        if internal_note:
            _event(
                locked,
                actor=actor,
                action=INTERNAL_INSPECTION_NOTE,
                from_status=locked.status,
                note=internal_note,
                is_public=False,
            )
    return locked


def return_request_close(
    *, return_request: ReturnRequest, actor: User | None, note: str = ""
) -> ReturnRequest:
    """Close a resolved return (staff, or the system when actor is None)."""
    with transaction.atomic():
        locked = _lock(return_request)
        if actor is not None:
            require_staff(actor, locked)
        if not can_proceed(locked.close):
            raise _conflict(locked, "close")
        locked.close()
        locked.save()
        _event(locked, actor=actor, action="closed", from_status=ReturnStatus.RESOLVED, note=note)
    return locked


# --- shipping deadlines (returns.maintenance runs them on beat) ----------------------------


def return_request_remind_to_ship(
    *, return_request: ReturnRequest, now: datetime.datetime | None = None
) -> bool:
    """Remind the customer, once, to send the goods of an approved return whose reminder is
    due and whose goods have not arrived; as the system. False when there is nothing to do
    any more (received, cancelled, already reminded) by the time the row is locked."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(return_request, as_seen=False)
        if (
            locked.status != ReturnStatus.APPROVED
            or locked.ship_reminded_at is not None
            or locked.ship_reminder_at is None
            or locked.ship_reminder_at > now
        ):
            return False
        # Bookkeeping, not a decision: written without counting the version up, so that
        # staff with the return open are not told it changed.
        ReturnRequest.objects.filter(pk=locked.pk).update(ship_reminded_at=now)
        locked.ship_reminded_at = now
        # No note: the e-mail and the portal say the day in the reader's language.
        _event(locked, actor=None, action="ship_reminder", from_status=locked.status)
    return True


def return_request_expire(
    *, return_request: ReturnRequest, now: datetime.datetime | None = None
) -> bool:
    """Expire an approved return whose goods did not arrive by its `ship_by` (the last moment
    they may: the return expires after it), as the system:
    its lines stop claiming quantity (CLAIMING_STATUSES), and the customer is told. False
    when the return is no longer approved (received or cancelled meanwhile) or not due."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(return_request, as_seen=False)
        overdue = locked.ship_by is not None and locked.ship_by < now
        if locked.status != ReturnStatus.APPROVED or not overdue:
            return False
        locked.expire(now=now)
        locked.save()
        _event(locked, actor=None, action="expired", from_status=ReturnStatus.APPROVED)
    return True


def return_request_assign(
    *, return_request: ReturnRequest, actor: User, assignee: User | None
) -> ReturnRequest:
    with transaction.atomic():
        locked = _lock(return_request)
        require_staff(actor, locked)
        if assignee is not None and (
            assignee.tenant_id != locked.tenant_id
            or not assignee.is_tenant_staff
            or not assignee.is_active
        ):
            raise ReturnInvalid(
                _("Assign the return to an active staff member of this tenant."),
                fields={"assignee": [_("Choose a staff member.")]},
            )
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        _event(
            locked,
            actor=actor,
            action="assigned",
            from_status=locked.status,
            note=assignee.get_full_name() if assignee else _("unassigned"),
            is_public=False,
        )
    return locked


def return_request_comment(
    *, return_request: ReturnRequest, actor: User, note: str, is_public: bool
) -> ReturnEvent:
    """A message on the timeline: staff may write internal notes, customers write public ones."""
    note = _required_text(note, _("Write a message."), "note")
    with transaction.atomic():
        locked = _lock(return_request, as_seen=False)  # a comment only adds
        require_customer_or_staff(actor, locked)
        if actor.is_customer:
            is_public = True
        return _event(
            locked,
            actor=actor,
            action="comment",
            from_status=locked.status,
            note=note,
            is_public=is_public,
        )


# --- automatic assignment -----------------------------------------------------------------


def return_facts(
    return_request: ReturnRequest, *, lines: Iterable[tuple[str, int]] | None = None
) -> CaseFacts:
    """What the assignment rules look at (customers/routing.py). `lines`: (reason, product
    category id) of each line, when the caller has them at hand; else they are read."""
    if lines is None:
        lines = (
            ReturnLine.objects.for_tenant(return_request.tenant)
            .filter(return_request=return_request)
            .values_list("reason", "order_line__product__category_id")
        )
    lines = list(lines)
    return CaseFacts(
        kind=CaseKind.RETURN,
        tenant=return_request.tenant,
        customer_account_id=return_request.customer_account_id,
        channel=return_request.channel,
        product_category_ids=frozenset(category for _reason, category in lines),
        return_reasons=frozenset(reason for reason, _category in lines),
        requested_value=return_request.requested_value,
    )


def _assign_automatically(
    locked: ReturnRequest,
    *,
    facts: CaseFacts | None = None,
    previous: User | None = None,
    exclude_user_ids=(),
    now: datetime.datetime | None = None,
) -> Decision | None:
    """Route the locked return through the tenant's rules and give it to whom they name, as
    an assignment does: an internal "assigned" event says which rule chose whom (no person
    acted), and an audit row records it. None: no rule named anyone, nothing changed."""
    decision = route(facts or return_facts(locked), now=now, exclude_user_ids=exclude_user_ids)
    if decision is None:
        return None
    locked.assignee = decision.assignee
    locked.save(update_fields=["assignee", "updated_at"])
    _event(
        locked,
        actor=None,
        action="assigned",
        from_status=locked.status,
        note=timeline_note(decision, previous=previous),
        is_public=False,
    )
    record_auto_assignment(
        case=locked,
        kind=CaseKind.RETURN,
        decision=decision,
        reason=REASON_ABSENCE if previous is not None else REASON_FILED,
        previous=previous,
    )
    return decision


# Returns handed on when their assignee is away: those waiting for a decision. Once approved
# or asked about, the agent's work is under way; the load page shows who is away.
NOT_STARTED_STATUSES = (ReturnStatus.SUBMITTED,)


def returns_reassign_away(
    *, tenant, away_user_ids: frozenset[int], now: datetime.datetime | None = None
) -> int:
    """Re-route the tenant's returns waiting for a decision whose assignee is away (never to
    someone away); each in its own transaction under its row lock. Returns how many moved."""
    now = now or timezone.now()
    return reassign_each(
        ReturnRequest.objects.for_tenant(tenant).filter(status__in=NOT_STARTED_STATUSES),
        away_user_ids=away_user_ids,
        related=("tenant", "customer_account"),
        reroute=lambda return_request, previous: _assign_automatically(
            return_request, previous=previous, exclude_user_ids=away_user_ids, now=now
        ),
    )


# --- workload (the back-office's load page, the "fewest open cases" strategy) ------------

OPEN_RETURNS = "open_returns"


def return_workload(*, tenant, user_ids, now: datetime.datetime) -> dict[int, dict[str, int]]:
    """Open returns of each assignee; one query whatever the number of people."""
    rows = (
        ReturnRequest.objects.for_tenant(tenant)
        .filter(assignee_id__in=list(user_ids), status__in=OPEN_STATUSES)
        .order_by()
        .values("assignee_id")
        .annotate(open=Count("pk"))
    )
    return {row["assignee_id"]: {OPEN_RETURNS: row["open"]} for row in rows}


def open_returns_link(user_id: int) -> str:
    statuses = ",".join(sorted(OPEN_STATUSES))
    changelist = reverse("admin:returns_returnrequest_changelist")
    return f"{changelist}?assignee__id__exact={user_id}&status__in={statuses}"

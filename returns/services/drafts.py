"""Creating and editing a draft return (the portal wizard's steps and the API's create)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from customers.cases import CaseChannel
from customers.models import CustomerAccount, Order, OrderLine
from rma_portal.accounts.models import User

from ..models import (
    Resolution,
    ReturnEvent,
    ReturnLine,
    ReturnMethod,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from ..policies import evaluate_line
from ..selectors import lines_facts, return_rules_for, returnable_at_most, tenant_today
from .access import require_acting_for_customers, require_customer
from .errors import ReturnConflict, ReturnInvalid

MAX_COMMENT = 2000
MAX_PICKUP_DAYS_AHEAD = 30
# The portal wizard's steps: orders, lines, resolution and shipping, review.
WIZARD_STEPS = (1, 2, 3, 4)
MAX_WIZARD_ORDERS = 10
# Where a refusal of the policy engine (LineVerdict.codes) is shown on a line of the wizard's
# step 2: next to the quantity, the reason, or for the line as a whole.
REFUSAL_FIELDS = {
    "quantity_invalid": "quantity",
    "quantity_beyond_returnable": "quantity",
    "reason_not_allowed": "reason",
}


@dataclass(frozen=True)
class LineInput:
    order_line_id: int
    quantity: int
    reason: str
    reason_text: str = ""
    comment: str = ""
    serial_numbers: Sequence[str] = field(default_factory=tuple)


def _lock_draft(return_request: ReturnRequest, actor: User) -> ReturnRequest:
    locked = ReturnRequest.objects.select_for_update().filter(pk=return_request.pk).first()
    if locked is None:  # an empty draft removed by the housekeeping (returns/maintenance.py)
        raise ReturnConflict(
            _(
                "This draft no longer exists: empty drafts are removed after a day. Please "
                "start a new return."
            )
        )
    require_customer(actor, locked)
    if locked.status != ReturnStatus.DRAFT:
        raise ReturnConflict(
            _("Return %(number)s was already submitted; it can no longer be edited.")
            % {"number": locked.reference}
        )
    return locked


def return_draft_create(
    *,
    customer_account: CustomerAccount,
    requester: User,
    filed_by: User | None = None,
    channel: str = CaseChannel.PORTAL,
    order_ids: Sequence[int] | None = None,
) -> ReturnRequest:
    """An empty draft for the wizard's first step, with the orders chosen there
    (`order_ids`, see `return_draft_choose_orders`). It has no RMA number until it is
    submitted (`return_request_submit`): a draft given up consumes none.

    The requester is always the customer user the return is for; `filed_by` is the staff
    member who files it for them (the timeline names them), `channel` how it reached us.
    """
    if channel not in CaseChannel.values:
        raise ReturnInvalid(
            _("Choose the channel the return came through."),
            fields={"channel": [_("Choose the channel the return came through.")]},
        )
    with transaction.atomic():
        return_request = ReturnRequest(
            tenant=customer_account.tenant,
            customer_account=customer_account,
            requester=requester,
            filed_by=filed_by,
            channel=channel,
        )
        require_customer(requester, return_request)
        if order_ids is not None:
            return_request.wizard_order_ids = _checked_order_ids(customer_account, order_ids)
        if filed_by is not None:
            require_acting_for_customers(filed_by, return_request)
        return_request.save()
        ReturnEvent.objects.create(
            tenant=return_request.tenant,
            return_request=return_request,
            actor=filed_by or requester,
            action="created",
            to_status=ReturnStatus.DRAFT,
        )
    return return_request


def _validated_lines(
    customer_account: CustomerAccount, lines: Sequence[LineInput]
) -> list[tuple[LineInput, OrderLine]]:
    errors: dict[str, list[str]] = {}
    if not lines:
        raise ReturnInvalid(
            _("Choose at least one line to return."),
            fields={"lines": [_("Choose at least one line to return.")]},
        )
    ids = [line.order_line_id for line in lines]
    order_lines = {
        ol.pk: ol
        for ol in OrderLine.objects.filter(
            pk__in=[i for i in ids if isinstance(i, int)],
            order__customer_account=customer_account,
        ).select_related("order", "product__category")
    }
    seen: set[int] = set()
    result = []
    reasons = set(ReturnReason.values)
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        order_line = order_lines.get(line.order_line_id)
        if order_line is None:
            errors[f"{prefix}.order_line"] = [
                _("Unknown order line: choose a line of one of your company's orders.")
            ]
            continue
        if order_line.pk in seen:
            errors[f"{prefix}.order_line"] = [_("This order line is listed twice.")]
            continue
        seen.add(order_line.pk)
        where = _("%(order)s line %(line)s") % {
            "order": order_line.order.number,
            "line": order_line.line_number,
        }
        # bool is an int in Python: a JSON `true` must not pass for 1.
        if (
            not isinstance(line.quantity, int)
            or isinstance(line.quantity, bool)
            or line.quantity < 1
        ):
            errors[f"{prefix}.quantity"] = [
                _("%(where)s: quantity must be a whole number of at least 1.") % {"where": where}
            ]
        elif (at_most := returnable_at_most(order_line)) < 1:
            errors[f"{prefix}.quantity"] = [
                _("%(where)s: nothing of this line has been delivered yet.") % {"where": where}
            ]
        elif line.quantity > at_most:
            errors[f"{prefix}.quantity"] = [
                _("%(where)s: only %(delivered)d were delivered.")
                % {"where": where, "delivered": at_most}
            ]
        if line.reason not in reasons:
            errors[f"{prefix}.reason"] = [_("%(where)s: choose a reason.") % {"where": where}]
        elif line.reason == ReturnReason.OTHER and not line.reason_text.strip():
            errors[f"{prefix}.reason_text"] = [
                _("%(where)s: describe the reason.") % {"where": where}
            ]
        if len(line.comment) > MAX_COMMENT or len(line.reason_text) > 500:
            errors[f"{prefix}.comment"] = [_("%(where)s: the text is too long.") % {"where": where}]
        serials = [s.strip() for s in line.serial_numbers if s and s.strip()]
        if order_line.product.is_serial_tracked:
            delivered_serials = set(order_line.serial_numbers or [])
            unknown = [s for s in serials if s not in delivered_serials]
            if len(set(serials)) != len(serials):
                errors[f"{prefix}.serial_numbers"] = [
                    _("%(where)s: a serial number is listed twice.") % {"where": where}
                ]
            elif unknown:
                errors[f"{prefix}.serial_numbers"] = [
                    _("%(where)s: serial numbers %(serials)s were not delivered on this line.")
                    % {"where": where, "serials": ", ".join(unknown)}
                ]
            elif isinstance(line.quantity, int) and len(serials) != line.quantity:
                errors[f"{prefix}.serial_numbers"] = [
                    _("%(where)s: give the serial number of each returned unit (%(count)d).")
                    % {"where": where, "count": line.quantity}
                ]
        elif serials:
            errors[f"{prefix}.serial_numbers"] = [
                _("%(where)s: this product has no serial numbers.") % {"where": where}
            ]
        result.append(
            (LineInput(**{**line.__dict__, "serial_numbers": tuple(serials)}), order_line)
        )
    if errors:
        first = next(iter(errors.values()))[0]
        raise ReturnInvalid(first, fields=errors)
    return result


def _refuse_by_policy(locked: ReturnRequest, valid: list[tuple[LineInput, OrderLine]]) -> None:
    """Refuse lines the return policy refuses, with the reasons and the code of the final
    check on submission (`policy_refused`): the same facts (`selectors.lines_facts`, the
    quantity ledger without this draft) and the same engine (`policies.evaluate_line`).

    Errors are keyed `lines[<i>].quantity` / `.reason` where a refusal is about that field
    (REFUSAL_FIELDS), else `lines[<i>]`. Whether the return as a whole is refused (a
    resolution not offered, a warranty claim's resolutions) is the later steps' check."""
    rules = return_rules_for(customer_account=locked.customer_account)
    facts = lines_facts(
        [(order_line, line.quantity, line.reason) for line, order_line in valid],
        exclude_return_id=locked.pk,
    )
    today = tenant_today(locked.tenant)
    errors: dict[str, list[str]] = {}
    messages: list[str] = []
    for index, ((_line, order_line), line_facts) in enumerate(zip(valid, facts, strict=True)):
        verdict = evaluate_line(rules, line_facts, today=today)
        where = f"{order_line.order.number}/{order_line.line_number}"
        for code, text in zip(verdict.codes, verdict.refusals, strict=True):
            field_name = REFUSAL_FIELDS.get(code)
            key = f"lines[{index}].{field_name}" if field_name else f"lines[{index}]"
            errors.setdefault(key, []).append(text)
            messages.append(f"{where}: {text}")
    if errors:
        raise ReturnInvalid(" ".join(messages), code="policy_refused", fields=errors)


def return_draft_set_lines(
    *,
    return_request: ReturnRequest,
    actor: User,
    lines: Sequence[LineInput],
    check_policy: bool = False,
) -> ReturnRequest:
    """Replace the draft's lines (the wizard's second step).

    With `check_policy` (the portal wizard) a line the return policy refuses is refused now,
    as submission would refuse it (`_refuse_by_policy`); nothing is saved. Staff filing for
    a customer and the API leave that to submission, where staff may override the policy."""
    with transaction.atomic():
        locked = _lock_draft(return_request, actor)
        valid = _validated_lines(locked.customer_account, lines)
        if check_policy:
            _refuse_by_policy(locked, valid)
        kept = {rl.order_line_id: rl for rl in locked.lines.all()}
        wanted_ids = {order_line.pk for _, order_line in valid}
        locked.lines.exclude(order_line_id__in=wanted_ids).delete()
        for line, order_line in valid:
            values = {
                "quantity": line.quantity,
                "reason": line.reason,
                "reason_text": line.reason_text.strip() if line.reason == "other" else "",
                "customer_comment": line.comment.strip(),
                "serial_numbers": list(line.serial_numbers),
                "unit_price": order_line.unit_price,
            }
            existing = kept.get(order_line.pk)
            if existing is None:
                ReturnLine.objects.create(
                    tenant=locked.tenant, return_request=locked, order_line=order_line, **values
                )
            else:
                for name, value in values.items():
                    setattr(existing, name, value)
                existing.save()
        locked.requested_value = sum(
            (order_line.unit_price * line.quantity for line, order_line in valid),
            start=Decimal("0"),
        )
        locked.save(update_fields=["requested_value", "updated_at"])
    return locked


def _checked_order_ids(customer_account: CustomerAccount, order_ids: Sequence[int]) -> list[int]:
    wanted = sorted({pk for pk in order_ids if isinstance(pk, int) and not isinstance(pk, bool)})
    if not wanted:
        message = _("Choose at least one delivered order.")
        raise ReturnInvalid(message, fields={"orders": [message]})
    if len(wanted) > MAX_WIZARD_ORDERS:
        message = _("Choose at most %(count)d orders for one return.") % {
            "count": MAX_WIZARD_ORDERS
        }
        raise ReturnInvalid(message, fields={"orders": [message]})
    known = Order.objects.filter(pk__in=wanted, customer_account=customer_account)
    if set(known.values_list("pk", flat=True)) != set(wanted):
        message = _("Choose delivered orders of your company.")
        raise ReturnInvalid(message, fields={"orders": [message]})
    return wanted


def return_draft_choose_orders(
    *, return_request: ReturnRequest, actor: User, order_ids: Sequence[int]
) -> ReturnRequest:
    """Keep the orders chosen in the wizard's first step on the draft, so that the customer
    (or a colleague) continues with them on any device: orders of the draft's company, at
    most MAX_WIZARD_ORDERS."""
    with transaction.atomic():
        locked = _lock_draft(return_request, actor)
        locked.wizard_order_ids = _checked_order_ids(locked.customer_account, order_ids)
        locked.save(update_fields=["wizard_order_ids", "updated_at"])
    return locked


def return_draft_note_step(*, return_request: ReturnRequest, step: int) -> None:
    """Remember the wizard step the customer opened last, to continue there later. Only the
    draft's wizard state changes: not its version (staff looking at it are not told it
    changed) nor `updated_at` (the housekeeping's idle time of an empty draft)."""
    if step not in WIZARD_STEPS or return_request.wizard_step == step:
        return
    ReturnRequest.objects.filter(pk=return_request.pk, status=ReturnStatus.DRAFT).update(
        wizard_step=step
    )
    return_request.wizard_step = step


def return_draft_set_details(
    *,
    return_request: ReturnRequest,
    actor: User,
    requested_resolution: str,
    return_method: str,
    pickup_date: datetime.date | None = None,
    pickup_address: str = "",
    customer_note: str = "",
) -> ReturnRequest:
    """Resolution wanted and how the goods come back (the wizard's third step)."""
    errors: dict[str, list[str]] = {}
    if requested_resolution not in Resolution.values:
        errors["requested_resolution"] = [
            _("Choose what you would like: refund, credit note, replacement or repair.")
        ]
    if return_method not in ReturnMethod.values:
        errors["return_method"] = [_("Choose how the goods will come back.")]
    if len(customer_note) > MAX_COMMENT:
        errors["customer_note"] = [_("The note is too long.")]
    with transaction.atomic():
        locked = _lock_draft(return_request, actor)
        today = tenant_today(locked.tenant)
        if return_method == ReturnMethod.COURIER_PICKUP:
            if pickup_date is None:
                errors["pickup_date"] = [_("Choose a pickup date.")]
            elif pickup_date <= today:
                errors["pickup_date"] = [_("The pickup date must be after today.")]
            elif pickup_date > today + datetime.timedelta(days=MAX_PICKUP_DAYS_AHEAD):
                errors["pickup_date"] = [
                    _("The pickup date must be within %(days)d days.")
                    % {"days": MAX_PICKUP_DAYS_AHEAD}
                ]
            elif pickup_date.weekday() >= 5:
                errors["pickup_date"] = [_("Couriers pick up on working days only.")]
            if not pickup_address.strip():
                errors["pickup_address"] = [_("Give the pickup address.")]
        if errors:
            raise ReturnInvalid(next(iter(errors.values()))[0], fields=errors)
        locked.requested_resolution = requested_resolution
        locked.return_method = return_method
        is_pickup = return_method == ReturnMethod.COURIER_PICKUP
        locked.pickup_date = pickup_date if is_pickup else None
        locked.pickup_address = pickup_address.strip() if is_pickup else ""
        locked.customer_note = customer_note.strip()
        locked.save()
    return locked


def return_request_create(
    *,
    customer_account: CustomerAccount,
    requester: User,
    lines: Sequence[LineInput],
    requested_resolution: str,
    return_method: str,
    pickup_date: datetime.date | None = None,
    pickup_address: str = "",
    customer_note: str = "",
    filed_by: User | None = None,
    channel: str = CaseChannel.PORTAL,
) -> ReturnRequest:
    """A complete draft in one call (API); all or nothing."""
    with transaction.atomic():
        draft = return_draft_create(
            customer_account=customer_account,
            requester=requester,
            filed_by=filed_by,
            channel=channel,
        )
        return_draft_set_lines(return_request=draft, actor=requester, lines=lines)
        return return_draft_set_details(
            return_request=draft,
            actor=requester,
            requested_resolution=requested_resolution,
            return_method=return_method,
            pickup_date=pickup_date,
            pickup_address=pickup_address,
            customer_note=customer_note,
        )

"""Resolving a return line by line, and the ERP documents that carry the resolution out
(docs/api.md#resolve, docs/api.md#erp-confirmation).

Each line is resolved as a refund or a credit note (an amount), a replacement (a SKU and a
quantity) or a repair. The policy snapshotted at submission proposes every amount: accepted
quantity × unit price, less the restocking fee on lines whose reason is not among the free
shipping reasons. Staff may pay less; paying more than the line's accepted value, or
replacing more units than were accepted, needs a reason, which is kept on the line and on
the staff timeline. The return's totals are the sums of its lines.

The ERP then confirms what it issued: one credit note per return for all the money it pays
back (refund and credit-note lines alike: both are booked as a correcting invoice), and one
order for its replacement and repair lines.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from customers.models import Product
from rma_portal.accounts.models import User

from ..models import (
    MONEY_RESOLUTIONS,
    ORDER_RESOLUTIONS,
    DocumentKind,
    Resolution,
    ResolutionDocument,
    ReturnLine,
    ReturnRequest,
    ReturnResolution,
    ReturnStatus,
)
from ..policies import CENT, LineSettlement, PolicyRules, settle
from ..selectors import return_rules_applied, tenant_today
from .access import require_acting_for_customers, require_staff
from .errors import ReturnConflict, ReturnInvalid
from .transitions import _conflict, _event, _lock, shipping_payer

ZERO = Decimal("0.00")
MAX_TEXT = 4000
# The internal timeline action that lists what a resolution paid or replaced beyond what was
# accepted, with the reasons given.
RESOLUTION_OVERRIDDEN = "resolution_overridden"
# The public timeline actions of a document the ERP confirmed.
DOCUMENT_CONFIRMED = {
    DocumentKind.CREDIT_NOTE: "credit_note_confirmed",
    DocumentKind.REPLACEMENT_ORDER: "replacement_order_confirmed",
}
# Returns whose documents may be confirmed: resolved ones, and closed ones (the ERP may answer
# after the return closed on its own).
CONFIRMABLE_STATUSES = frozenset({ReturnStatus.RESOLVED, ReturnStatus.CLOSED})


# --- proposal ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineProposal:
    """What the policy proposes for one line: its accepted value, the restocking fee and the
    amount a refund or a credit note pays (accepted value less the fee)."""

    line: ReturnLine
    accepted_value: Decimal
    fee: Decimal
    amount: Decimal

    @property
    def where(self) -> str:
        order_line = self.line.order_line
        return f"{order_line.order.number}/{order_line.line_number}"


def _proposals(
    rules: PolicyRules, lines: Sequence[ReturnLine], quantities: Sequence[int]
) -> list[LineProposal]:
    settlement = settle(
        rules,
        [
            LineSettlement(
                accepted_quantity=quantity, unit_price=line.unit_price, reason=line.reason
            )
            for line, quantity in zip(lines, quantities, strict=True)
        ],
    )
    proposals = []
    for line, quantity, amount in zip(lines, quantities, settlement.line_amounts, strict=True):
        value = (line.unit_price * quantity).quantize(CENT)
        proposals.append(
            LineProposal(line=line, accepted_value=value, fee=value - amount, amount=amount)
        )
    return proposals


def resolution_proposal(
    return_request: ReturnRequest, lines: Sequence[ReturnLine]
) -> tuple[list[LineProposal], PolicyRules]:
    """The policy's proposal for every line (in the order given), and the rules applied: the
    back-office shows it, the service records it where staff did not decide otherwise."""
    rules = return_rules_applied(return_request=return_request)
    return _proposals(rules, lines, [line.accepted_quantity or 0 for line in lines]), rules


@dataclass(frozen=True)
class ResolutionEstimate:
    """What a return would get if inspection accepted every unit asked for (the portal's
    review step shows it before submission, as an estimate)."""

    lines: list[LineProposal]
    pays_money: bool  # a refund or a credit note was asked for
    value: Decimal
    restocking_fee: Decimal
    total: Decimal  # the money paid back (0 for a replacement or a repair)
    shipping_paid_by: str  # ShippingPaidBy, as submission will set it


def resolution_estimate(
    return_request: ReturnRequest,
    lines: Sequence[ReturnLine],
    *,
    rules: PolicyRules,
    free_shipping: bool,
) -> ResolutionEstimate:
    """The proposal of `resolution_proposal` for the quantities asked for, under `rules` (a
    draft's: those submission will snapshot, `selectors.return_rules_for`), and the
    resolution asked for: a refund or a credit note pays the lines' amounts (value less the
    restocking fee); a replacement or a repair pays nothing and is charged no fee, as
    `return_request_resolve` records them. `free_shipping` is the policy's verdict
    (`ReturnVerdict.free_shipping`)."""
    proposals = _proposals(rules, lines, [line.quantity for line in lines])
    pays_money = return_request.requested_resolution in MONEY_RESOLUTIONS
    value = sum((p.accepted_value for p in proposals), ZERO)
    fee = sum((p.fee for p in proposals), ZERO) if pays_money else ZERO
    return ResolutionEstimate(
        lines=proposals,
        pays_money=pays_money,
        value=value,
        restocking_fee=fee,
        total=sum((p.amount for p in proposals), ZERO) if pays_money else ZERO,
        shipping_paid_by=shipping_payer(free_shipping),
    )


# --- resolve ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LineResolution:
    """Staff's decision on one line. Left empty, amount, SKU and quantity are the proposal's:
    the policy's amount, the returned product, the accepted quantity."""

    resolution: str
    amount: Decimal | None = None  # refund / credit note
    replacement_sku: str = ""  # replacement
    replacement_quantity: int | None = None  # replacement
    override_reason: str = ""  # needed to exceed the accepted value or quantity


@dataclass(frozen=True)
class _Decision:
    proposal: LineProposal
    resolution: str
    amount: Decimal
    replacement_sku: str
    replacement_quantity: int | None
    override_reason: str
    exceeded: str  # what went beyond the accepted value or quantity, for the timeline


def _decide(
    proposals: list[LineProposal],
    *,
    resolution: str,
    given: Mapping[int, LineResolution],
    tenant,
) -> list[_Decision]:
    """Validate every line's decision; raise one ReturnInvalid naming every field at fault."""
    errors: dict[str, list[str]] = {}
    if resolution and resolution not in Resolution.values:
        errors["resolution"] = [_("Choose the resolution.")]
        resolution = ""
    known = {p.line.pk for p in proposals}
    unknown = [key for key in given if key not in known]
    if unknown:
        errors["lines"] = [
            _("Line %(id)s is not part of this return.") % {"id": unknown[0]},
        ]
    wanted_skus = {
        choice.replacement_sku.strip()
        for choice in given.values()
        if choice.resolution == Resolution.REPLACEMENT and (choice.replacement_sku or "").strip()
    }
    known_skus = (
        set(
            Product.objects.for_tenant(tenant)
            .filter(sku__in=wanted_skus)
            .values_list("sku", flat=True)
        )
        if wanted_skus
        else set()
    )
    decisions: list[_Decision] = []
    for proposal in proposals:
        line = proposal.line
        key = f"lines[{line.pk}]"
        where = proposal.where
        choice = given.get(line.pk)
        if choice is None and resolution:
            choice = LineResolution(resolution=resolution)
        if choice is None or choice.resolution not in Resolution.values:
            errors[f"{key}.resolution"] = [
                _("%(where)s: choose refund, credit note, replacement or repair.")
                % {"where": where}
            ]
            continue
        reason = (choice.override_reason or "").strip()
        if len(reason) > MAX_TEXT:
            errors[f"{key}.override_reason"] = [_("Too long.")]
        kind = choice.resolution
        accepted = line.accepted_quantity or 0
        amount = ZERO
        sku = ""
        quantity = None
        exceeded = ""
        if kind != Resolution.REPLACEMENT and (
            (choice.replacement_sku or "").strip() or choice.replacement_quantity is not None
        ):
            errors[f"{key}.replacement_sku"] = [
                _("%(where)s: only a replacement takes a SKU and a quantity.") % {"where": where}
            ]
        if kind in MONEY_RESOLUTIONS:
            amount = proposal.amount if choice.amount is None else _money(choice.amount)
            if amount is None or amount < 0:
                errors[f"{key}.amount"] = [
                    _("%(where)s: the amount must be 0 or more, with at most 2 decimals.")
                    % {"where": where}
                ]
                continue
            if amount > proposal.accepted_value:
                if not reason:
                    errors[f"{key}.amount"] = [
                        _(
                            "%(where)s: %(amount)s is more than the accepted value %(value)s; "
                            "give a reason to pay more."
                        )
                        % {"where": where, "amount": amount, "value": proposal.accepted_value}
                    ]
                    continue
                exceeded = _("%(where)s: %(amount)s paid, %(value)s accepted") % {
                    "where": where,
                    "amount": amount,
                    "value": proposal.accepted_value,
                }
        else:
            if choice.amount is not None and _money(choice.amount) != ZERO:
                errors[f"{key}.amount"] = [
                    _("%(where)s: a replacement or a repair pays nothing back.") % {"where": where}
                ]
                continue
        if kind == Resolution.REPLACEMENT:
            sku = (choice.replacement_sku or "").strip() or line.order_line.product.sku
            if sku != line.order_line.product.sku and sku not in known_skus:
                errors[f"{key}.replacement_sku"] = [
                    _("%(where)s: unknown SKU %(sku)s.") % {"where": where, "sku": sku}
                ]
            quantity = (
                accepted if choice.replacement_quantity is None else choice.replacement_quantity
            )
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                errors[f"{key}.replacement_quantity"] = [
                    _("%(where)s: replace at least 1 unit.") % {"where": where}
                ]
                continue
            if quantity > accepted:
                if not reason:
                    errors[f"{key}.replacement_quantity"] = [
                        _(
                            "%(where)s: %(quantity)d is more than the %(accepted)d accepted; "
                            "give a reason to replace more."
                        )
                        % {"where": where, "quantity": quantity, "accepted": accepted}
                    ]
                    continue
                exceeded = _("%(where)s: %(quantity)d replaced, %(accepted)d accepted") % {
                    "where": where,
                    "quantity": quantity,
                    "accepted": accepted,
                }
        decisions.append(
            _Decision(
                proposal=proposal,
                resolution=kind,
                amount=amount,
                replacement_sku=sku,
                replacement_quantity=quantity,
                override_reason=reason,
                exceeded=exceeded,
            )
        )
    if errors:
        raise ReturnInvalid(next(iter(errors.values()))[0], fields=errors)
    return decisions


def _money(value) -> Decimal | None:
    """A positive or zero amount in cents; None when it is not one."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        return None
    return amount.quantize(CENT)


def return_request_resolve(
    *,
    return_request: ReturnRequest,
    actor: User,
    resolution: str = "",
    lines: Mapping[int, LineResolution] | None = None,
    credit_note_number: str = "",
    replacement_order_ref: str = "",
    note: str = "",
) -> ReturnRequest:
    """Record the resolution of every line (keyed by line id; a line not given takes
    `resolution`) and the return's totals.

    `credit_note_number` and `replacement_order_ref` are references staff may already know;
    the ERP's confirmation (`return_request_confirm_document`) records the documents.
    """
    given = dict(lines or {})
    with transaction.atomic():
        locked = _lock(return_request)
        require_staff(actor, locked)
        if not can_proceed(locked.resolve):
            raise _conflict(locked, "resolve")
        credit_note_number = (credit_note_number or "").strip()
        replacement_order_ref = (replacement_order_ref or "").strip()
        for name, value in (
            ("credit_note_number", credit_note_number),
            ("replacement_order_ref", replacement_order_ref),
        ):
            if len(value) > 40:
                raise ReturnInvalid(
                    _("A document number has at most 40 characters."),
                    fields={name: [_("A document number has at most 40 characters.")]},
                )
        db_lines = list(
            locked.lines.select_related("order_line__order", "order_line__product").order_by("pk")
        )
        proposals, _rules = resolution_proposal(locked, db_lines)
        decisions = _decide(proposals, resolution=resolution, given=given, tenant=locked.tenant)
        for decision in decisions:
            line = decision.proposal.line
            line.resolution = decision.resolution
            line.refund_amount = decision.amount
            line.replacement_sku = decision.replacement_sku
            line.replacement_quantity = decision.replacement_quantity
            line.override_reason = decision.override_reason
            line.save(
                update_fields=[
                    "resolution",
                    "refund_amount",
                    "replacement_sku",
                    "replacement_quantity",
                    "override_reason",
                ]
            )
        money = [d for d in decisions if d.resolution in MONEY_RESOLUTIONS]
        kinds = {d.resolution for d in decisions}
        locked.resolution = kinds.pop() if len(kinds) == 1 else ReturnResolution.MIXED
        locked.accepted_value = sum((p.accepted_value for p in proposals), ZERO)
        # What the policy charges on the lines that pay money back.
        locked.restocking_fee = sum((d.proposal.fee for d in money), ZERO)
        locked.refund_total = sum((d.amount for d in money), ZERO)
        locked.credit_note_total = sum(
            (d.amount for d in money if d.resolution == Resolution.CREDIT_NOTE), ZERO
        )
        locked.credit_note_number = credit_note_number
        locked.replacement_order_ref = replacement_order_ref
        locked.resolution_note = (note or "").strip()[:MAX_TEXT]
        locked.resolve()
        locked.save()
        _event(
            locked,
            actor=actor,
            action="resolved",
            from_status=ReturnStatus.INSPECTED,
            note=locked.resolution_note,
        )
        exceeded = [d for d in decisions if d.exceeded]
        if exceeded:
            _event(
                locked,
                actor=actor,
                action=RESOLUTION_OVERRIDDEN,
                from_status=locked.status,
                note="\n".join(f"{d.exceeded}. {d.override_reason}" for d in exceeded),
                is_public=False,
            )
    return locked


# --- ERP documents ----------------------------------------------------------------------


def return_request_confirm_document(
    *,
    return_request: ReturnRequest,
    actor: User,
    kind: str,
    number: str,
    issued_on: datetime.date | None = None,
    amount: Decimal | None = None,
) -> tuple[ReturnRequest, bool]:
    """Record a document the ERP issued for a resolved (or closed) return; answers the return
    and whether anything was recorded.

    A credit note needs its date and an amount equal to the money the return pays back; a
    replacement / repair order needs replacement or repair lines. Confirming the same
    document again changes nothing (the ERP may retry); another number for a document the
    return already has, or a credit note number already on another return, is a conflict.
    """
    number = (number or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in DocumentKind.values:
        errors["type"] = [_("Choose credit_note or replacement_order.")]
    if not number:
        errors["number"] = [_("Give the document number.")]
    elif len(number) > 40:
        errors["number"] = [_("A document number has at most 40 characters.")]
    if kind == DocumentKind.CREDIT_NOTE:
        if issued_on is None:
            errors["date"] = [_("Give the date of the credit note.")]
        if amount is None:
            errors["amount"] = [_("Give the amount of the credit note.")]
        elif _money(amount) is None:
            errors["amount"] = [_("The amount must be 0 or more, with at most 2 decimals.")]
    elif kind == DocumentKind.REPLACEMENT_ORDER and amount is not None:
        errors["amount"] = [_("An order carries no amount; leave it out.")]
    if errors:
        raise ReturnInvalid(next(iter(errors.values()))[0], fields=errors)
    with transaction.atomic():
        locked = _lock(return_request)
        require_acting_for_customers(actor, locked)
        if locked.status not in CONFIRMABLE_STATUSES:
            raise ReturnConflict(
                _(
                    "Return %(number)s is not resolved (its status is “%(status)s”): the ERP's "
                    "documents are confirmed once it is."
                )
                % {"number": locked.reference, "status": locked.get_status_display()}
            )
        if issued_on is not None and issued_on > tenant_today(locked.tenant):
            raise ReturnInvalid(
                _("The document's date is in the future."),
                fields={"date": [_("The document's date is in the future.")]},
            )
        if kind == DocumentKind.CREDIT_NOTE:
            amount = _money(amount)
            _check_credit_note_amount(locked, amount)
        else:
            _check_has_order_lines(locked)
        existing = ResolutionDocument.objects.filter(return_request=locked, kind=kind).first()
        if existing is not None:
            if existing.number == number:
                same_date = issued_on is None or existing.issued_on == issued_on
                if same_date and existing.amount == amount:
                    return locked, False  # the same confirmation again
                raise ReturnConflict(
                    _(
                        "%(document)s %(existing)s is already confirmed on return %(number)s "
                        "with another date or amount; a document once confirmed is not "
                        "changed."
                    )
                    % {
                        "document": existing.get_kind_display(),
                        "existing": existing.number,
                        "number": locked.reference,
                    }
                )
            raise ReturnConflict(
                _(
                    "Return %(number)s already has %(document)s %(existing)s; a document once "
                    "confirmed is not replaced."
                )
                % {
                    "number": locked.reference,
                    "document": existing.get_kind_display().lower(),
                    "existing": existing.number,
                }
            )
        if kind == DocumentKind.CREDIT_NOTE:
            elsewhere = (
                ResolutionDocument.objects.filter(kind=kind, number=number)
                .select_related("return_request")
                .first()
            )
            if elsewhere is not None:
                raise _number_taken(number, elsewhere.return_request)
        try:
            with transaction.atomic():
                document = ResolutionDocument.objects.create(
                    tenant=locked.tenant,
                    return_request=locked,
                    kind=kind,
                    number=number,
                    issued_on=issued_on,
                    amount=amount,
                    confirmed_by=actor,
                )
        except IntegrityError:
            # A concurrent confirmation of another return took the number first.
            raise _number_taken(number, None) from None
        if kind == DocumentKind.CREDIT_NOTE:
            locked.credit_note_number = number
            note = _("Credit note %(number)s of %(date)s: %(amount)s %(currency)s") % {
                "number": number,
                "date": issued_on.isoformat(),
                "amount": amount,
                "currency": locked.tenant.currency,
            }
        else:
            locked.replacement_order_ref = number
            note = _("Replacement / repair order %(number)s") % {"number": number}
        locked.save()
        _event(
            locked,
            actor=actor,
            action=DOCUMENT_CONFIRMED[document.kind],
            from_status=locked.status,
            note=note,
        )
    return locked, True


def _check_credit_note_amount(locked: ReturnRequest, amount: Decimal) -> None:
    money_back = locked.refund_total or ZERO
    if money_back == ZERO:
        message = _("Return %(number)s pays nothing back, so it takes no credit note.") % {
            "number": locked.reference
        }
        raise ReturnInvalid(message, fields={"type": [message]})
    if amount != money_back:
        message = _(
            "The credit note is for %(amount)s %(currency)s, but return %(number)s pays back "
            "%(total)s %(currency)s."
        ) % {
            "amount": amount,
            "total": money_back,
            "currency": locked.tenant.currency,
            "number": locked.reference,
        }
        raise ReturnInvalid(message, fields={"amount": [message]})


def _check_has_order_lines(locked: ReturnRequest) -> None:
    if not locked.lines.filter(resolution__in=ORDER_RESOLUTIONS).exists():
        message = _(
            "Return %(number)s has no replacement or repair lines, so it takes no order."
        ) % {"number": locked.reference}
        raise ReturnInvalid(message, fields={"type": [message]})


def _number_taken(number: str, other: ReturnRequest | None) -> ReturnConflict:
    if other is None:
        return ReturnConflict(
            _("Credit note %(document)s is already confirmed on another return.")
            % {"document": number}
        )
    return ReturnConflict(
        _("Credit note %(document)s is already confirmed on return %(other)s.")
        % {"document": number, "other": other.number}
    )


def resolution_documents_data(return_request: ReturnRequest) -> list[dict]:
    """The ERP documents confirmed for a return, as JSON (webhook payloads, exports): the
    same fields as the API's `documents`, all of which the customer may read."""
    documents = (
        ResolutionDocument.objects.for_tenant(return_request.tenant)
        .filter(return_request_id=return_request.pk)
        .order_by("confirmed_at", "pk")
    )
    return [
        {
            "type": document.kind,
            "number": document.number,
            "date": document.issued_on.isoformat() if document.issued_on else None,
            "amount": None if document.amount is None else str(document.amount),
            "confirmed_at": document.confirmed_at.isoformat(),
        }
        for document in documents
    ]

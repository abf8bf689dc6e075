"""Back-office: an agent files a return for a customer user of a chosen company, e.g. after a
phone call. The page is the portal wizard's logic on one page: the company's delivered order
lines that can still be returned (found by order number or SKU), quantities, reasons, photos
per line, the resolution and shipping wanted, and the return policy's verdict per line before
anything is filed. Filing is `return_request_file_for_customer`, the service the API uses:
the return is the customer's (their e-mails, their portal), submitted at once, and a refusal
of the policy needs an override reason.

Nothing is written until "File the return" succeeds as a whole; every other button (search,
check against the policy) only shows the page again.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.filing_forms import filing_page
from customers.models import OrderLine
from rma_portal.errors import ApplicationError
from rma_portal.ids import parse_id

from .. import selectors, services
from ..admin_forms import FileReturnForm
from ..forms import LINE_ERROR_KEY, MAX_LINES_PER_RETURN, ReturnLineFormSet
from ..models import ReturnReason, ReturnStatus
from ..policies import LineVerdict, evaluate_line, evaluate_return
from .portal import ORDER_LOOKBACK_DAYS

# The lines listed at once: the most recent ones that can still be returned; a search by
# order number or SKU reaches the others.
LINES_SHOWN = 50
# How many of the company's delivered lines are looked at to find them.
CANDIDATE_LINES = 300
ACTIONS = ("search", "check", "file")


@dataclass
class LineRow:
    """One order line of the page: its form, what can still be returned, the verdict."""

    form: object
    order_line: OrderLine | None
    delivered: int = 0
    claimed: int = 0
    returnable: int = 0
    verdict: LineVerdict | None = None
    chosen: bool = False


def _delivered() -> Q:
    """Lines with something delivered: a delivery date (the line's or the order's) and not
    reported as 0 delivered by the ERP."""
    return (Q(delivered_on__isnull=False) | Q(order__delivery_date__isnull=False)) & ~Q(
        delivered_quantity=0
    )


def _company_lines(company):
    return selectors.returnable_order_lines(customer_account=company)


def _listed_lines(company, query: str, *, exclude, today) -> tuple[list[OrderLine], bool]:
    """The company's delivered lines that can still be returned (delivered less what other
    returns hold), newest first: matching `query` (order number or SKU), else those delivered
    in the last year. Also whether there are more than are shown."""
    lines = _company_lines(company).filter(_delivered()).exclude(pk__in=list(exclude))
    if query:
        lines = lines.filter(Q(order__number__icontains=query) | Q(product__sku__icontains=query))
    else:
        since = today - datetime.timedelta(days=ORDER_LOOKBACK_DAYS)
        lines = lines.filter(Q(order__delivery_date__gte=since) | Q(delivered_on__gte=since))
    candidates = list(
        lines.order_by("-order__order_date", "-order__number", "line_number")[:CANDIDATE_LINES]
    )
    claimed = selectors.claimed_quantities(order_line_ids=[line.pk for line in candidates])
    open_lines = [
        line
        for line in candidates
        if selectors.returnable_at_most(line) - claimed.get(line.pk, 0) > 0
    ]
    more = len(open_lines) > LINES_SHOWN or len(candidates) == CANDIDATE_LINES
    return open_lines[:LINES_SHOWN], more


def _posted_order_lines(data, company) -> dict[int, OrderLine]:
    """The order lines a submitted page names, among the company's own (any other id, of
    another company or tenant, is left out and its row answers "unknown order line")."""
    total = parse_id(data.get("lines-TOTAL_FORMS")) or 0
    ids = {
        parse_id(data.get(f"lines-{index}-order_line"))
        for index in range(min(total, MAX_LINES_PER_RETURN))
    }
    ids.discard(None)
    if not ids:
        return {}
    return {line.pk: line for line in _company_lines(company).filter(pk__in=ids)}


def _line_initial(order_line: OrderLine, cleaned: dict | None = None) -> dict:
    if cleaned is None:
        return {"order_line": order_line.pk, "quantity": 0}
    return {
        "order_line": order_line.pk,
        "quantity": cleaned["quantity"],
        "reason": cleaned["reason"],
        "reason_text": cleaned["reason_text"],
        "comment": cleaned["comment"],
        "serial_numbers": cleaned["serial_numbers"],
    }


def _rows(formset, *, rules, today) -> list[LineRow]:
    """Each line with what can still be returned and the policy's verdict for the quantity
    and reason entered (a line not chosen yet: one unit, for the first reason the policy
    accepts, as the portal wizard shows it)."""
    order_lines = [form.order_line for form in formset.forms if form.order_line is not None]
    claimed = selectors.claimed_quantities(order_line_ids=[line.pk for line in order_lines])
    fallback = rules.allowed_reasons[0] if rules.allowed_reasons else ReturnReason.OTHER
    rows = []
    for form in formset.forms:
        order_line = form.order_line
        if order_line is None:
            rows.append(LineRow(form=form, order_line=None))
            continue
        cleaned = getattr(form, "cleaned_data", None) if form.is_bound else None
        quantity = (cleaned or {}).get("quantity") or 0
        if not form.is_bound:
            quantity = form.initial.get("quantity") or 0
        reason = (cleaned or {}).get("reason") or form.initial.get("reason") or fallback
        facts = selectors.line_facts(
            order_line=order_line,
            quantity=quantity or 1,
            reason=reason,
            claimed_elsewhere=claimed.get(order_line.pk, 0),
        )
        verdict = evaluate_line(rules, facts, today=today)
        form.fields["quantity"].widget.attrs["max"] = verdict.returnable_quantity
        rows.append(
            LineRow(
                form=form,
                order_line=order_line,
                delivered=facts.quantity_delivered,
                claimed=claimed.get(order_line.pk, 0),
                returnable=verdict.returnable_quantity,
                verdict=verdict,
                chosen=quantity > 0,
            )
        )
    return rows


def _return_refusals(rows: list[LineRow], resolution: str, *, rules, today) -> list[str]:
    """The policy's refusals of the return as a whole (a resolution it does not offer)."""
    facts = [
        selectors.line_facts(
            order_line=row.order_line,
            quantity=row.form.cleaned_data["quantity"],
            reason=row.form.cleaned_data["reason"],
            claimed_elsewhere=row.claimed,
        )
        for row in rows
        if row.chosen and row.order_line is not None and hasattr(row.form, "cleaned_data")
    ]
    if not facts:
        return []
    verdict = evaluate_return(rules, facts, resolution=resolution, today=today)
    return verdict.refusals


def _place_errors(error: ApplicationError, formset, forms_by_input, form, chooser) -> list[str]:
    """A service's errors where they belong: `lines[i].field` on the i-th filed line,
    the details' fields on the form, the customer on the chooser; the rest for the page."""
    general: list[str] = []
    for key, texts in error.fields.items():
        match = LINE_ERROR_KEY.fullmatch(key)
        if match is not None and int(match[1]) < len(forms_by_input):
            line_form = forms_by_input[int(match[1])]
            name = match[2] if match[2] in line_form.fields and match[2] != "order_line" else None
            line_form.add_error(name, list(texts))
        elif key in form.fields:
            form.add_error(key, list(texts))
        elif key == "on_behalf_of":
            chooser.add_error("customer", list(texts))
        else:
            general.extend(texts)
    if not error.fields or error.code == "policy_refused":
        general.insert(0, error.message)
    return general


def _unjudged(data) -> FileReturnForm:
    """The details as typed, shown again without errors (nothing is being filed)."""
    names = [name for name in FileReturnForm.base_fields if name != "files"]
    return FileReturnForm(initial={name: data.get(name, "") for name in names})


def _file(request, customer, formset, form, chooser, posted):
    """File the return: a redirect to its page, or the errors for the page (the service's
    are placed on their fields)."""
    forms_by_input = [f for f in formset.forms if f.cleaned_data["quantity"] > 0]
    inputs = [
        services.LineInput(
            order_line_id=f.cleaned_data["order_line"],
            quantity=f.cleaned_data["quantity"],
            reason=f.cleaned_data["reason"],
            reason_text=f.cleaned_data["reason_text"],
            comment=f.cleaned_data["comment"],
            serial_numbers=tuple(f.cleaned_data["serial_numbers"]),
        )
        for f in forms_by_input
    ]
    try:
        return_request = services.return_request_file_for_customer(
            actor=request.user,
            customer_id=customer.pk,
            lines=inputs,
            line_uploads=[f.cleaned_data["files"] for f in forms_by_input],
            submit=True,
            **form.service_arguments(),
        )
    except ApplicationError as error:
        errors = _place_errors(error, formset, forms_by_input, form, chooser)
        if error.code == "policy_refused" and not form.cleaned_data["override_reason"]:
            claimed = selectors.claimed_quantities(
                order_line_ids=[line.order_line_id for line in inputs]
            )
            beyond = any(
                line.quantity
                > selectors.returnable_at_most(posted[line.order_line_id])
                - claimed.get(line.order_line_id, 0)
                for line in inputs
            )
            if not beyond:
                form.add_error(
                    "override_reason",
                    _(
                        "The return policy refuses this return: give the reason for "
                        "overriding it, or change the lines."
                    ),
                )
        return errors
    return _filed(request, return_request, customer)


def file_return_view(model_admin, request):
    tenant = request.tenant
    today = selectors.tenant_today(tenant)
    page = filing_page(model_admin, request, title=_("File a return for a customer"))
    if page.customer is None:
        return page.render(request)
    company, customer, chooser = page.company, page.customer, page.chooser
    context = {}
    rules = selectors.return_rules_for(customer_account=company)
    reasons = list(ReturnReason.choices)
    page_errors: list[str] = []

    if request.method == "POST":
        action = request.POST.get("action")
        action = action if action in ACTIONS else "check"
        posted = _posted_order_lines(request.POST, company)
        formset = ReturnLineFormSet(
            request.POST,
            request.FILES,
            prefix="lines",
            form_kwargs={"order_lines": posted, "reasons": reasons},
        )
        form = FileReturnForm(request.POST, request.FILES)
        query = (request.POST.get("q") or "").strip()[:40]
        lines_valid = formset.is_valid()
        if action == "file":
            if form.is_valid() and lines_valid:
                filed = _file(request, customer, formset, form, chooser, posted)
                if isinstance(filed, HttpResponseRedirect):
                    return filed
                page_errors = filed
        else:
            # Searching and checking file nothing: the details are kept, not judged yet.
            form = _unjudged(request.POST)
            if action == "search" and lines_valid:
                kept = [f for f in formset.forms if f.cleaned_data["quantity"] > 0]
                found, more = _listed_lines(
                    company,
                    query,
                    exclude=[f.cleaned_data["order_line"] for f in kept],
                    today=today,
                )
                order_lines = {f.order_line.pk: f.order_line for f in kept}
                order_lines.update((line.pk, line) for line in found)
                formset = ReturnLineFormSet(
                    prefix="lines",
                    initial=[_line_initial(f.order_line, f.cleaned_data) for f in kept]
                    + [_line_initial(line) for line in found],
                    form_kwargs={"order_lines": order_lines, "reasons": reasons},
                )
                context["more_lines"] = more
            elif action == "search":
                page_errors.append(_("Correct the lines first, then search again."))
        # A browser never sends a file again: after any page that did not file, choose them
        # again.
        context["files_again"] = bool(request.FILES)
    else:
        query = (request.GET.get("q") or "").strip()[:40]
        found, more = _listed_lines(company, query, exclude=(), today=today)
        formset = ReturnLineFormSet(
            prefix="lines",
            initial=[_line_initial(line) for line in found],
            form_kwargs={"order_lines": {line.pk: line for line in found}, "reasons": reasons},
        )
        form = FileReturnForm(
            initial={"q": query, "pickup_address": "\n".join(company.shipping_address_lines)}
        )
        context["more_lines"] = more

    rows = _rows(formset, rules=rules, today=today)
    checked = formset.is_bound and formset.is_valid()
    resolution = form.data.get("requested_resolution", "") if form.is_bound else ""
    resolution = resolution or form.initial.get("requested_resolution", "")
    context.update(
        {
            "formset": formset,
            "rows": rows,
            "form": form,
            "page_errors": page_errors,
            "return_refusals": _return_refusals(rows, resolution, rules=rules, today=today)
            if checked
            else [],
            "checked": checked,
            "refused": any(row.chosen and not row.verdict.allowed for row in rows if row.verdict),
            "chosen_count": sum(row.chosen for row in rows),
            "query": query,
            "lookback_days": ORDER_LOOKBACK_DAYS,
            "currency": tenant.currency,
        }
    )
    return page.render(request, **context)


def _filed(request, return_request, customer) -> HttpResponseRedirect:
    values = {"number": return_request.reference, "customer": customer.get_full_name()}
    if return_request.status == ReturnStatus.APPROVED:
        text = _("Return %(number)s was filed for %(customer)s and approved automatically.")
    else:
        text = _("Return %(number)s was filed for %(customer)s and submitted.")
    messages.success(request, text % values)
    if return_request.events.filter(action=services.POLICY_OVERRIDDEN).exists():
        messages.info(request, _("The policy override and its reason are on the timeline."))
    return HttpResponseRedirect(
        reverse("admin:returns_returnrequest_change", args=[return_request.pk])
    )

"""The KPI dashboard pages: the manager dashboard, an agent's own figures, the drill-down
lists, CSV exports and the monthly report PDF. Staff of the signed-in tenant only."""

from __future__ import annotations

import datetime
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from complaints.models import ComplaintCategory, Priority
from customers.cases import CaseChannel
from customers.models import CustomerAccount, Product, ProductCategory
from returns.models import ReturnReason, ReturnResolution
from rma_portal.accounts.models import User
from rma_portal.csv_export import csv_response, default_separator, separator_from
from rma_portal.errors import ApplicationError
from rma_portal.security.audit import record
from rma_portal.security.models import AuditAction

from . import reports
from .dashboard import (
    OVERVIEW,
    PRESETS,
    SECTIONS,
    DashboardInputError,
    Section,
    build_agent_view,
    cached_dashboard,
    charts,
    is_dashboard_user,
    is_manager,
    parse_query,
    region_choices,
    table_section,
)
from .drilldown import (
    COMPLAINT_EXPORT_HEADER,
    RETURN_EXPORT_HEADER,
    complaint_export_rows,
    complaint_list_missed,
    complaint_list_narrowing,
    complaints_for_query,
    complaints_page_rows,
    return_export_rows,
    return_list_basis,
    return_list_missed,
    returns_for_query,
    returns_page_rows,
)
from .kpis import AGE_BUCKETS

PAGE_SIZE = 50
RESOLUTION_LABELS = {**dict(ReturnResolution.choices), "rejected": _lazy("Rejected")}
MISSED_LABELS = {
    "decision": gettext_lazy("Decided after the decision was due"),
    "refund": gettext_lazy("Refunded or credited after the promised days"),
}


def _narrowing_labels(narrowing: dict) -> list[str]:
    labels = []
    if "category" in narrowing:
        labels.append(str(dict(ComplaintCategory.choices)[narrowing["category"]]))
    if "priority" in narrowing:
        priority = dict(Priority.choices)[narrowing["priority"]]
        labels.append(_("Priority: %(priority)s") % {"priority": priority})
    if "assignee_id" in narrowing:
        agent = User.objects.filter(pk=narrowing["assignee_id"]).first()
        labels.append(_("Agent: %(agent)s") % {"agent": agent.get_full_name()})
    return labels


def _query_context(params: dict) -> dict:
    """The current period and filters: for the form, links and export URLs."""
    return {"current": params, "params_query": urlencode(params)}


def _staff_of_tenant(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_dashboard_user(request.user):
            raise PermissionDenied(_("The dashboard is for the merchant's staff."))
        if request.tenant is None:
            raise PermissionDenied(_("Switch to a tenant in the back-office header first."))
        return view(request, *args, **kwargs)

    return wrapper


def manager_required(view):
    @wraps(view)
    @_staff_of_tenant
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_manager(request.user):
            raise PermissionDenied(_("Only managers and tenant admins may see this."))
        return view(request, *args, **kwargs)

    return wrapper


def _options(tenant) -> dict:
    return {
        "currency": tenant.currency,
        "is_manager": True,
        "presets": [(key, str(label)) for key, label in PRESETS.items()],
        "customers": CustomerAccount.objects.for_tenant(tenant)
        .order_by("name")
        .values_list("pk", "name"),
        "categories": ProductCategory.objects.for_tenant(tenant)
        .order_by("name")
        .values_list("pk", "name"),
        "products": Product.objects.for_tenant(tenant)
        .order_by("sku")
        .values_list("pk", "sku", "name"),
        "reasons": ReturnReason.choices,
        "channels": CaseChannel.choices,
        "regions": region_choices(tenant),
    }


def _input_error(request, template: str, error: DashboardInputError, extra=None) -> HttpResponse:
    context = {
        "errors": error.errors,
        "current": request.GET.dict(),
        **_options(request.tenant),
        **(extra or {}),
    }
    return render(request, template, context, status=400)


def section_url(key: str, query: str = "") -> str:
    """A section's address (the overview's is /dashboard/), with the query string given."""
    path = (
        reverse("dashboard:index") if key == OVERVIEW else reverse("dashboard:section", args=[key])
    )
    return f"{path}?{query}" if query else path


def _section_links(current: Section, query: str) -> list[dict]:
    """The section navigation: every section with the current period and filters."""
    return [
        {
            "key": key,
            "label": section.label,
            "url": section_url(key, query),
            "current": key == current.key,
        }
        for key, section in SECTIONS.items()
    ]


def _section_page(request: HttpRequest, section: Section) -> HttpResponse:
    tenant = request.tenant
    try:
        query = parse_query(request.GET, tenant=tenant)
    except DashboardInputError as error:
        return _input_error(
            request,
            "dashboard/dashboard.html",
            error,
            extra={
                "section": section,
                "sections": _section_links(section, request.GET.urlencode()),
            },
        )
    board = cached_dashboard(query, tenant=tenant, section=section)
    params = _query_context(query.params())
    context = {
        "board": board,
        "section": section,
        "sections": _section_links(section, params["params_query"]),
        "charts": charts(board),
        "query": query,
        **params,
        "age_buckets": [(key, label) for key, label, *_bounds in AGE_BUCKETS],
        "separator": default_separator(),
        **_options(tenant),
    }
    if section.key == OVERVIEW:
        context["report_months"] = reports.downloadable_months(tenant=tenant)
        context["report_quarters"] = [
            (quarter.year, reports.quarter_number(quarter), reports.quarter_label(quarter))
            for quarter in reports.downloadable_quarters(tenant=tenant)
        ]
    return render(request, "dashboard/dashboard.html", context)


@_staff_of_tenant
def dashboard(request: HttpRequest) -> HttpResponse:
    """/dashboard/: the overview for managers and tenant admins, an agent's own figures for
    agents and coordinators."""
    if not is_manager(request.user):
        return _agent_dashboard(request)
    return _section_page(request, SECTIONS[OVERVIEW])


@manager_required
def section(request: HttpRequest, key: str) -> HttpResponse:
    """/dashboard/kpis/<section>/: one section of the dashboard, with the same filters."""
    if key == OVERVIEW:
        return redirect(section_url(OVERVIEW, request.GET.urlencode()))
    if key not in SECTIONS:
        raise Http404(_("There is no such section of the dashboard."))
    return _section_page(request, SECTIONS[key])


def _agent_dashboard(request: HttpRequest) -> HttpResponse:
    try:
        # An agent's view takes a period, not the managers' filters.
        period = {key: request.GET[key] for key in ("period", "from", "to") if request.GET.get(key)}
        query = parse_query(period or {"period": "30d"}, tenant=request.tenant)
    except DashboardInputError as error:
        return _input_error(request, "dashboard/agent.html", error)
    view = build_agent_view(query, tenant=request.tenant, user=request.user)
    presets = [(k, str(v)) for k, v in PRESETS.items() if k != "custom"]
    return render(
        request, "dashboard/agent.html", {"view": view, "query": query, "presets": presets}
    )


@manager_required
def returns_list(request: HttpRequest) -> HttpResponse:
    try:
        query = parse_query(request.GET, tenant=request.tenant)
        resolution = return_list_basis(request.GET)
        missed = return_list_missed(request.GET)
    except DashboardInputError as error:
        return _input_error(request, "dashboard/returns.html", error)
    requests = returns_for_query(query, tenant=request.tenant, resolution=resolution, missed=missed)
    page = Paginator(returns_page_rows(requests), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/returns.html",
        {
            "query": query,
            **_query_context(query.params(resolution=resolution, missed=missed)),
            "resolution": resolution,
            "resolution_label": RESOLUTION_LABELS.get(resolution, ""),
            "missed": missed,
            "missed_label": MISSED_LABELS.get(missed, ""),
            "resolution_hidden": {"resolution": resolution, "missed": missed},
            "page": page,
            "separator": default_separator(),
            **_options(request.tenant),
        },
    )


@manager_required
def complaints_list(request: HttpRequest) -> HttpResponse:
    try:
        query = parse_query(request.GET, tenant=request.tenant)
        narrowing = complaint_list_narrowing(request.GET, tenant=request.tenant)
        missed = complaint_list_missed(request.GET)
    except DashboardInputError as error:
        return _input_error(request, "dashboard/complaints.html", error)
    complaints = complaints_for_query(
        query, tenant=request.tenant, narrowing=narrowing, missed=missed
    )
    page = Paginator(complaints_page_rows(complaints), PAGE_SIZE).get_page(request.GET.get("page"))
    extra = {
        "complaint_category": request.GET.get("complaint_category", ""),
        "priority": request.GET.get("priority", ""),
        "agent": request.GET.get("agent", ""),
        "missed": missed,
    }
    return render(
        request,
        "dashboard/complaints.html",
        {
            "query": query,
            **_query_context(query.params(**extra)),
            "page": page,
            "missed": missed,
            "narrowing_hidden": extra,
            "narrowing_labels": _narrowing_labels(narrowing),
            "separator": default_separator(),
            **_options(request.tenant),
        },
    )


def _audited(request: HttpRequest, export: str, response: HttpResponse) -> HttpResponse:
    """Every download of tenant data is in the audit log: who, what, with which filters."""
    record(
        AuditAction.EXPORT,
        request=request,
        target=export,
        details={"export": export, "filters": dict(request.GET.items())},
    )
    return response


def _export_inputs(request):
    try:
        separator = separator_from(request, default=default_separator())
        query = parse_query(request.GET, tenant=request.tenant)
    except (ApplicationError, DashboardInputError) as error:
        return None, None, HttpResponse(str(error), status=400, content_type="text/plain")
    return query, separator, None


@manager_required
def export_table(request: HttpRequest, key: str) -> HttpResponse:
    query, separator, refusal = _export_inputs(request)
    if refusal:
        return refusal
    shown_in = table_section(key)
    if shown_in is None:
        raise Http404(_("There is no such table on the dashboard."))
    board = cached_dashboard(query, tenant=request.tenant, section=shown_in)
    table = board.tables[key]
    return _audited(
        request,
        f"dashboard table {key}",
        csv_response(
            filename=f"{key}-{query.start}-{query.end}.csv",
            header=table.header,
            rows=iter(table.rows),
            separator=separator,
        ),
    )


@manager_required
def export_returns(request: HttpRequest) -> HttpResponse:
    query, separator, refusal = _export_inputs(request)
    if refusal:
        return refusal
    try:
        resolution = return_list_basis(request.GET)
        missed = return_list_missed(request.GET)
    except DashboardInputError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    requests = returns_for_query(query, tenant=request.tenant, resolution=resolution, missed=missed)
    return _audited(
        request,
        "return lines",
        csv_response(
            filename=f"returns-{query.start}-{query.end}.csv",
            header=list(RETURN_EXPORT_HEADER),
            rows=return_export_rows(requests, tenant=request.tenant),
            separator=separator,
        ),
    )


@manager_required
def export_complaints(request: HttpRequest) -> HttpResponse:
    query, separator, refusal = _export_inputs(request)
    if refusal:
        return refusal
    try:
        narrowing = complaint_list_narrowing(request.GET, tenant=request.tenant)
        missed = complaint_list_missed(request.GET)
    except DashboardInputError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    complaints = complaints_for_query(
        query, tenant=request.tenant, narrowing=narrowing, missed=missed
    )
    return _audited(
        request,
        "complaints",
        csv_response(
            filename=f"complaints-{query.start}-{query.end}.csv",
            header=list(COMPLAINT_EXPORT_HEADER),
            rows=complaint_export_rows(complaints),
            separator=separator,
        ),
    )


@manager_required
def monthly_report(request: HttpRequest, year: int, month: int) -> HttpResponse:
    try:
        first = datetime.date(year, month, 1)
    except (ValueError, OverflowError) as error:
        raise Http404(_("There is no such month.")) from error
    if not reports.is_past_month(tenant=request.tenant, month=first):
        raise Http404(_("Reports exist for past months only."))
    # In the reader's language: the one they chose (the language switch, else their browser's).
    _report, pdf = reports.monthly_report_get_or_render(
        tenant=request.tenant, month=first, language=get_language()
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = reports.report_filename(request.tenant, first)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _audited(request, f"monthly report {first:%Y-%m}", response)


@manager_required
def quarterly_report(request: HttpRequest, year: int, quarter: int) -> HttpResponse:
    try:
        first = reports.quarter_of(year, quarter)
    except (ValueError, OverflowError) as error:
        raise Http404(_("There is no such quarter.")) from error
    if not reports.is_past_quarter(tenant=request.tenant, quarter=first):
        raise Http404(_("Reports exist for past quarters only."))
    _report, pdf = reports.quarterly_report_get_or_render(
        tenant=request.tenant, quarter=first, language=get_language()
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = reports.quarterly_report_filename(request.tenant, first)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    label = f"{first.year}-Q{reports.quarter_number(first)}"
    return _audited(request, f"quarterly report {label}", response)

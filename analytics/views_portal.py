"""The buyer's own figures in the customer portal (/portal/figures/, name "portal:figures"):
for the administrators of a customer company, their company's figures only
(analytics.portal). The URL joins the portal's namespace in rma_portal/urls.py, so the
customers app, below analytics, imports nothing of it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from customers.views.access import customer_admin_required

from .portal import PORTAL_PRESETS, build_buyer_figures, parse_period


@customer_admin_required
def figures(request: HttpRequest) -> HttpResponse:
    account = request.customer_account
    query, error = parse_period(request.GET, tenant=account.tenant)
    board = build_buyer_figures(account=account, query=query)
    context = {
        "board": board,
        "query": query,
        "error": error,
        "presets": [(key, str(label)) for key, label in PORTAL_PRESETS.items()],
        "tables": [board.tables[key] for key in ("products", "categories", "reasons")],
        "currency": account.tenant.currency,
    }
    return render(request, "portal/figures.html", context, status=400 if error else 200)

"""The buyer's own figures in the customer portal (/portal/figures/, name "portal:figures"):
for the administrators of a customer company, their company's figures only
(analytics.portal). The URL joins the portal's namespace in rma_portal/urls.py, so the
customers app, below analytics, imports nothing of it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from customers.views.access import customer_admin_required

from .portal import PORTAL_PRESETS, build_buyer_figures, parse_period

# The products with the highest return rate shown at first; `?products=all` shows every one.
PRODUCT_ROWS = 15


@customer_admin_required
def figures(request: HttpRequest) -> HttpResponse:
    account = request.customer_account
    query, error = parse_period(request.GET, tenant=account.tenant)
    board = build_buyer_figures(account=account, query=query)
    products = board.tables["products"]
    products_total = len(products.rows)
    every_product = request.GET.get("products") == "all"
    if not every_product and products_total > PRODUCT_ROWS:
        products.rows, products.links = products.rows[:PRODUCT_ROWS], products.links[:PRODUCT_ROWS]
    every_product_query = request.GET.copy()
    every_product_query["products"] = "all"
    context = {
        "board": board,
        "query": query,
        "error": error,
        "presets": [(key, str(label)) for key, label in PORTAL_PRESETS.items()],
        "tables": [board.tables[key] for key in ("products", "categories", "reasons")],
        "currency": account.tenant.currency,
        "products_shown": len(products.rows),
        "products_total": products_total,
        "every_product_url": f"?{every_product_query.urlencode()}",
    }
    return render(request, "portal/figures.html", context, status=400 if error else 200)

"""URLs of the KPI dashboard, under /dashboard/ (namespace "dashboard")."""

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("kpis/<slug:key>/", views.section, name="section"),
    path("returns/", views.returns_list, name="returns"),
    path("complaints/", views.complaints_list, name="complaints"),
    path("export/returns.csv", views.export_returns, name="export_returns"),
    path("export/complaints.csv", views.export_complaints, name="export_complaints"),
    path("export/<slug:key>.csv", views.export_table, name="export_table"),
    path("reports/<int:year>-<int:month>.pdf", views.monthly_report, name="report"),
    path(
        "reports/<int:year>-Q<int:quarter>.pdf",
        views.quarterly_report,
        name="quarterly_report",
    ),
]

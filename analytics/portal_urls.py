"""The analytics pages of the customer portal, joined to the portal's URL namespace
("portal") by rma_portal/urls.py."""

from django.urls import path

from . import views_portal

portal_urlpatterns = [
    path("figures/", views_portal.figures, name="figures"),
]

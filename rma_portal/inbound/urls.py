"""The inbound HTTP endpoint (views.py); mounted at /inbound/ by the project's URLs."""

from django.urls import path

from . import views

app_name = "inbound"

urlpatterns = [
    path(
        "mailgun/<slug:tenant_slug>/<id:mailbox_id>/mime",
        views.mailgun_mime,
        name="mailgun_mime",
    ),
]

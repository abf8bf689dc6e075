"""URLs of the returns app; the portal's are mounted under /portal/ in the `portal` namespace."""

from django.urls import path

from .views import portal

portal_urlpatterns = [
    path("returns/", portal.return_list, name="return_list"),
    path("returns/new/", portal.return_new, name="return_new"),
    path("returns/<id:return_id>/", portal.return_detail, name="return_detail"),
    path(
        "returns/<id:return_id>/orders/",
        portal.return_wizard_orders,
        name="return_wizard_orders",
    ),
    path("returns/<id:return_id>/lines/", portal.return_wizard_lines, name="return_wizard_lines"),
    path(
        "returns/<id:return_id>/details/",
        portal.return_wizard_details,
        name="return_wizard_details",
    ),
    path(
        "returns/<id:return_id>/review/",
        portal.return_wizard_review,
        name="return_wizard_review",
    ),
    path("returns/<id:return_id>/cancel/", portal.return_cancel, name="return_cancel"),
    path("returns/<id:return_id>/change/", portal.return_reopen, name="return_reopen"),
    path(
        "returns/<id:return_id>/provide-info/",
        portal.return_provide_info,
        name="return_provide_info",
    ),
    path("returns/<id:return_id>/messages/", portal.return_comment, name="return_comment"),
    path("returns/<id:return_id>/attachments/", portal.return_upload, name="return_upload"),
    path("returns/<id:return_id>/label/", portal.return_label, name="return_label"),
    path(
        "returns/<id:return_id>/attachments/<id:attachment_id>/",
        portal.return_attachment,
        name="return_attachment",
    ),
]

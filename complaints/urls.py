"""URLs of the complaints app; the portal's are mounted under /portal/ in the `portal`
namespace, the survey page of the resolution e-mail's links under /feedback/ in the
`feedback` namespace (docs/feedback.md)."""

from django.urls import path

from .views import portal, survey

portal_urlpatterns = [
    path("complaints/", portal.complaint_list, name="complaint_list"),
    path("complaints/new/", portal.complaint_new, name="complaint_new"),
    path("complaints/<id:complaint_id>/", portal.complaint_detail, name="complaint_detail"),
    path("complaints/<id:complaint_id>/reply/", portal.complaint_reply, name="complaint_reply"),
    path("complaints/<id:complaint_id>/reopen/", portal.complaint_reopen, name="complaint_reopen"),
    path("complaints/<id:complaint_id>/rate/", portal.complaint_rate, name="complaint_rate"),
    path(
        "complaints/<id:complaint_id>/attachments/<id:attachment_id>/",
        portal.complaint_attachment,
        name="complaint_attachment",
    ),
]

feedback_urlpatterns = [
    path("c/<str:token>/", survey.survey, name="complaint_survey"),
]

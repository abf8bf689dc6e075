"""URLs of the returns' satisfaction survey (docs/feedback.md), mounted under /feedback/ in the
`feedback` namespace: the public page of the e-mail's signed links, and the portal's form."""

from django.urls import path

from .views import feedback

app_name = "feedback"

urlpatterns = [
    path("r/<str:token>/", feedback.survey, name="survey"),
    path("returns/<id:return_id>/", feedback.portal_answer, name="portal_answer"),
]

"""The survey's URLs for the feedback tests: rma_portal/urls.py mounts returns.feedback_urls
under /feedback/; until it does, the tests mount them there the same way (this module is then
the URL configuration). It holds no tests of its own."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, include, path, reverse

from rma_portal import urls as root

urlpatterns = [*root.urlpatterns, path("feedback/", include("returns.feedback_urls"))]
handler400, handler403 = root.handler400, root.handler403
handler404, handler500 = root.handler404, root.handler500


def _mounted() -> bool:
    try:
        reverse("feedback:portal_answer", args=[1])
    except NoReverseMatch:
        return False
    return True


@pytest.fixture
def feedback_urls(settings):
    """The survey reachable at /feedback/ (use with `pytest.mark.usefixtures`)."""
    if not _mounted():
        settings.ROOT_URLCONF = __name__
    assert reverse("feedback:portal_answer", args=[1]) == "/feedback/returns/1/"

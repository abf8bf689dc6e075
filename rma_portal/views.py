"""Error pages: 400, 403 and 404 in the site's layout, 500 on a page of its own. Each shows the
request id (rma_portal/request_id.py) that the error's log lines carry, for the user to quote.

An error page must not fail in turn: when rendering one raises, the answer is a short plain
text with the same status and the request id.
"""

from __future__ import annotations

import logging

from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template import loader
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults

from .request_id import current_request_id

logger = logging.getLogger(__name__)

PLAIN_TEXT = "text/plain; charset=utf-8"


def _request_id(request) -> str:
    return getattr(request, "request_id", None) or current_request_id() or ""


def _plain(response_class: type[HttpResponse], request, title) -> HttpResponse:
    """An error's last resort: its title (a lazy translation) and the request id as plain
    text."""
    request_id = _request_id(request)
    try:
        text = str(title)
        if request_id:
            text += "\n" + _("Request id: %(id)s") % {"id": request_id}
    except Exception:  # even translating failed: English and Polish
        text = f"{response_class.status_code}\nRequest id / Identyfikator zgłoszenia: {request_id}"
    return response_class(text + "\n", content_type=PLAIN_TEXT)


def _safely(response_class: type[HttpResponse], request, title, render) -> HttpResponse:
    try:
        return render()
    except Exception:
        logger.exception("The error page %s failed to render", response_class.status_code)
        return _plain(response_class, request, title)


def bad_request(request, exception=None):
    """handler400. Django's own view renders 400.html without the request (no nonce, user or
    language switch); this one renders it like the 403 and 404 pages."""
    return _safely(
        HttpResponseBadRequest,
        request,
        gettext_lazy("Bad request"),
        lambda: HttpResponseBadRequest(loader.render_to_string("400.html", request=request)),
    )


def permission_denied(request, exception=None):
    return _safely(
        HttpResponseForbidden,
        request,
        gettext_lazy("Not allowed"),
        lambda: defaults.permission_denied(request, exception, template_name="403.html"),
    )


def page_not_found(request, exception=None):
    return _safely(
        HttpResponseNotFound,
        request,
        gettext_lazy("Page not found"),
        lambda: defaults.page_not_found(request, exception, template_name="404.html"),
    )


def _home_url(request) -> str:
    """Where the 500 page's link goes: the portal for a customer user, the back-office for
    staff, the start otherwise (and whenever the user cannot be told, e.g. the database being
    what failed)."""
    try:
        user = request.user
        if user.is_authenticated and user.is_customer:
            return reverse("portal:home")
        if user.is_authenticated and user.is_staff:
            return reverse("admin:index")
    except Exception:  # no user on the request, or reading it failed too
        return "/"
    return "/"


def server_error(request):
    """handler500. Django's own view renders 500.html with no request at all; this one gives
    the template the request (the CSP nonce of its inline style), the user's language, a
    link home and the request id. It reads no database and uses no context processor, as the
    database may be what failed."""
    try:
        language = translation.get_language_from_request(request)
        with translation.override(language):
            html = loader.render_to_string(
                "500.html",
                {
                    "request": request,
                    "request_id": _request_id(request),
                    "home_url": _home_url(request),
                },
            )
        return HttpResponseServerError(html)
    except Exception:
        logger.exception("The error page 500 failed to render")
        return _plain(HttpResponseServerError, request, gettext_lazy("Something went wrong"))

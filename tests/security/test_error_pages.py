"""Error pages and request ids.

Every answer carries `X-Request-ID` (the incoming one when valid, else a new one); the log lines
written while the request runs carry the same id; the 500 page is styled (its inline stylesheet
carries the answer's CSP nonce), in the user's language, links home and shows the id; the 400,
403 and 404 pages show it too. An error page that fails to render falls back to plain text.

This module is also the URL configuration of its tests: the project's URLs plus views that fail.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import path

from rma_portal import urls as root
from rma_portal.request_id import HEADER, RequestIdFilter
from tests.api import api_as
from tests.html import parse

pytestmark = pytest.mark.django_db


class Broken(Exception):
    pass


def boom(request):
    raise Broken("the view failed")


def boom_in_the_database(request):
    # The database is what failed: the request's transaction is broken, every further query
    # fails, and the error page must not need one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    raise AssertionError("not reached")


def suspicious(request):
    raise SuspiciousOperation("a forged request")


def denied(request):
    raise PermissionDenied


urlpatterns = [
    path("test-errors/boom/", boom),
    path("test-errors/database/", boom_in_the_database),
    path("test-errors/suspicious/", suspicious),
    path("test-errors/denied/", denied),
    *root.urlpatterns,
]
handler400, handler403 = root.handler400, root.handler403
handler404, handler500 = root.handler404, root.handler500

REQUEST_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def failing_views(settings):
    settings.ROOT_URLCONF = __name__


def caller(user=None, **defaults) -> Client:
    client = Client(raise_request_exception=False, **defaults)
    if user is not None:
        client.force_login(user)
    return client


def server_errors(caplog) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "django.request" and record.levelno == logging.ERROR
    ]


# --- the 500 page -------------------------------------------------------------------------------


def test_a_failing_view_answers_the_styled_500_page_with_the_request_id_of_its_log_record(
    caplog,
):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = caller().get("/test-errors/boom/")

    assert response.status_code == 500
    assert response["Content-Type"] == "text/html; charset=utf-8"
    request_id = response[HEADER]
    assert REQUEST_ID.fullmatch(request_id)
    doc = parse(response)
    assert doc.select_one("h1").text == "Something went wrong"
    assert doc.select_one(".reference code").text == request_id
    assert doc.select_one("html")["lang"] == "en"
    # Styled by its own inline stylesheet, allowed by this answer's nonce; it loads nothing.
    style = doc.select_one("style")
    policy = response["Content-Security-Policy"]
    assert f"'nonce-{style['nonce']}'" in policy
    assert ".card" in style.text
    assert doc.select("link, script, img") == []
    # Anonymous: the link home is the start.
    assert doc.select_one("a.button")["href"] == "/"
    assert doc.select_one("a.button").text == "Go to your start page"
    # The error's log record names the same request.
    (record,) = server_errors(caplog)
    assert record.exc_info[0] is Broken
    assert record.request_id == request_id


def test_the_log_line_of_the_error_carries_the_request_id():
    from rma_portal.logging import KeyValueFormatter

    record = logging.makeLogRecord({"name": "django.request", "msg": "Internal Server Error"})
    request = Client().get("/accounts/login/").wsgi_request
    record.request = request
    RequestIdFilter().filter(record)

    assert f"request_id={request.request_id}" in KeyValueFormatter().format(record)


def test_the_console_handler_of_the_logging_settings_adds_the_request_id(settings):
    assert settings.LOGGING["filters"]["request_id"] == {
        "()": "rma_portal.request_id.RequestIdFilter"
    }
    assert "request_id" in settings.LOGGING["handlers"]["console"]["filters"]
    root_handlers = logging.getLogger().handlers
    assert any(isinstance(f, RequestIdFilter) for handler in root_handlers for f in handler.filters)


def test_the_500_page_is_in_polish_for_a_polish_user(world_a, caplog):
    world_a.tenant.default_language = "pl"
    world_a.tenant.save(update_fields=["default_language"])
    client = caller(world_a.customer, HTTP_ACCEPT_LANGUAGE="pl")
    client.cookies["django_language"] = "pl"

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/test-errors/boom/")

    assert response.status_code == 500
    doc = parse(response)
    assert doc.select_one("html")["lang"] == "pl"
    assert doc.select_one("a.button").text == "Przejdź do strony startowej"
    assert doc.select_one(".reference code").text == response[HEADER]


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("customer", "/portal/"),
        ("customer_admin", "/portal/"),
        ("agent", "/backoffice/"),
        ("manager", "/backoffice/"),
        ("tenant_admin", "/backoffice/"),
    ],
)
def test_the_500_page_links_to_where_the_user_works(world_a, who, home, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = caller(getattr(world_a, who)).get("/test-errors/boom/")

    assert response.status_code == 500
    assert parse(response).select_one("a.button")["href"] == home


def test_the_500_page_needs_no_database_when_the_database_failed(world_a, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = caller(world_a.customer).get("/test-errors/database/")

    assert response.status_code == 500
    doc = parse(response)
    assert doc.select_one("h1").text == "Something went wrong"
    assert doc.select_one(".reference code").text == response[HEADER]
    assert doc.select_one("a.button")["href"] == "/portal/"
    (record,) = server_errors(caplog)
    assert issubclass(record.exc_info[0], DatabaseError)
    assert record.request_id == response[HEADER]


def test_a_500_page_that_fails_to_render_falls_back_to_plain_text(monkeypatch, caplog):
    from rma_portal import views

    def broken_template(*args, **kwargs):
        raise RuntimeError("the template failed")

    monkeypatch.setattr(views.loader, "render_to_string", broken_template)

    with caplog.at_level(logging.ERROR):
        response = caller().get("/test-errors/boom/")

    assert response.status_code == 500
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (f"Something went wrong\nRequest id: {response[HEADER]}\n")
    failed = [r for r in caplog.records if r.name == "rma_portal.views"]
    assert [r.getMessage() for r in failed] == ["The error page 500 failed to render"]
    assert failed[0].request_id == response[HEADER]


# --- request ids --------------------------------------------------------------------------------


def test_a_valid_incoming_request_id_is_kept(caplog):
    incoming = "lb-2f6c1e0a-7d4b-4c5e-9a8f-1b2c3d4e5f60"

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = caller(HTTP_X_REQUEST_ID=incoming).get("/test-errors/boom/")

    assert response[HEADER] == incoming
    assert parse(response).select_one(".reference code").text == incoming
    assert server_errors(caplog)[0].request_id == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "",
        "short",
        "x" * 129,
        "has space in it",
        "new\nline-injected",
        'quote"and<tag>',
        "ünïcode-request-id",
        "-starts-with-a-dash",
    ],
)
def test_an_invalid_incoming_request_id_is_replaced(incoming):
    response = caller(HTTP_X_REQUEST_ID=incoming).get("/accounts/login/")

    assert response.status_code == 200
    assert REQUEST_ID.fullmatch(response[HEADER])


def test_every_answer_carries_a_request_id_of_its_own(world_a):
    answers = [
        caller().get("/accounts/login/"),
        caller(world_a.customer).get("/portal/"),
        caller(world_a.agent).get("/backoffice/"),
        caller().get("/no-such-page/"),
        caller().get("/"),
        api_as(world_a.tenant_admin).get("/api/v1/returns/"),
        api_as().get("/api/v1/returns/"),
        caller().get("/healthz"),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 404, 302, 200, 401, 200]
    ids = [answer[HEADER] for answer in answers]
    assert all(REQUEST_ID.fullmatch(request_id) for request_id in ids)
    assert len(set(ids)) == len(ids)


def test_no_request_id_is_left_behind_after_the_request(world_a):
    from rma_portal.request_id import current_request_id

    caller(world_a.customer).get("/portal/")

    assert current_request_id() is None


# --- 400, 403 and 404 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "title"),
    [
        ("/test-errors/suspicious/", 400, "Bad request"),
        ("/test-errors/denied/", 403, "Not allowed"),
        ("/no-such-page/", 404, "Page not found"),
    ],
)
def test_the_other_error_pages_are_in_the_layout_and_show_the_request_id(
    world_a, url, status, title
):
    response = caller(world_a.customer).get(url)

    assert response.status_code == status
    doc = parse(response)
    assert doc.select_one("h1").text == title
    assert doc.select_one("header.topbar")  # the site's layout (base.html)
    assert doc.select_one("main .hint code").text == response[HEADER]
    assert doc.select_one("main a")["href"] == "/"
    # The layout's branding <style> carries this answer's nonce.
    nonce = doc.select_one("style")["nonce"]
    assert nonce and f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_the_400_page_is_in_polish_for_a_polish_browser(db):
    response = caller(HTTP_ACCEPT_LANGUAGE="pl").get("/test-errors/suspicious/")

    assert response.status_code == 400
    doc = parse(response)
    assert doc.select_one("html")["lang"] == "pl"
    assert doc.select_one("main a").text == "Przejdź do strony startowej"


def test_a_404_page_that_fails_to_render_falls_back_to_plain_text(monkeypatch):
    from rma_portal import views

    def broken(*args, **kwargs):
        raise RuntimeError("the template failed")

    monkeypatch.setattr(views.defaults, "page_not_found", broken)

    response = caller().get("/no-such-page/")

    assert response.status_code == 404
    assert response.content.decode() == f"Page not found\nRequest id: {response[HEADER]}\n"

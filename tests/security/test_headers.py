"""Security headers of every answer: the Content-Security-Policy (django-csp, per-request
nonces), no caching of private answers, nosniff, frame denial and HSTS; the API schema and
Swagger UI behind sign-in; no template that needs an exception to the policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from complaints.models import ComplaintAttachment
from rma_portal.security.headers import PrivateCacheMiddleware
from tests.api import api_as, assert_error
from tests.complaints import conftest as complaints_fixtures
from tests.complaints.conftest import complaint_file, png_upload
from tests.html import parse

# The complaints tests' fixture (tests/complaints/conftest.py), shared rather than copied.
media_root = complaints_fixtures.media_root

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
CSP = "Content-Security-Policy"
UNSAFE = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:"}


def policy_of(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    assert CSP in response, f"no {CSP} on {response.status_code} {response.get('Content-Type')}"
    directives = {}
    for part in response[CSP].split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice"
        directives[name] = sources
    return directives


def header_values(response, name: str) -> set[str]:
    return {value.strip() for value in response.get(name, "").split(",") if value.strip()}


def nonces(sources: list[str]) -> list[str]:
    return [s.removeprefix("'nonce-").removesuffix("'") for s in sources if s.startswith("'nonce-")]


def assert_strict_policy(directives: dict[str, list[str]], images=("'self'",)) -> None:
    """What the policy promises on every answer (docs/security.md#content-security-policy)."""
    assert directives["default-src"] == ["'self'"]
    assert directives["img-src"] == list(images)
    assert "'self'" in directives["script-src"]
    assert not UNSAFE & set(directives["script-src"]), directives["script-src"]
    assert not UNSAFE & set(directives["style-src"]), directives["style-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]


# --- every kind of answer -----------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("kind", ["portal", "admin"])
def test_signed_in_pages_carry_the_policy_with_a_fresh_nonce_and_are_not_stored(
    kind, world_a, settings
):
    # given: HSTS on, and the request made over HTTPS (SecurityMiddleware only sends it then)
    settings.SECURE_HSTS_SECONDS = 3600
    user, url = {
        "portal": (world_a.customer, reverse("portal:home")),
        "admin": (world_a.agent, reverse("admin:index")),
    }[kind]
    client = signed_in(user)

    # when
    first = client.get(url, secure=True)
    second = client.get(url, secure=True)

    # then: the page's own <style> carries the nonce of its header, a new one per answer
    assert first.status_code == 200
    directives = policy_of(first)
    assert_strict_policy(directives)
    [nonce] = nonces(directives["script-src"])
    assert nonces(directives["style-src"]) == [nonce]
    doc = parse(first)
    styles = doc.select("style")
    assert styles, "the page has its branding <style>"
    assert {style.get("nonce") for style in styles} == {nonce}
    assert nonces(policy_of(second)["script-src"]) != [nonce]
    # scripts only from files (or JSON data), no inline event handler
    for script in doc.select("script"):
        assert script.get("src") or script.get("type") == "application/json", script
    for element in doc.iter():
        assert not [name for name in element.attrs if name.startswith("on")], element

    # private and not stored (the admin's never_cache says more, never less)
    assert {"private", "no-store"} <= header_values(first, "Cache-Control")
    assert "Cookie" in header_values(first, "Vary")
    assert first["X-Content-Type-Options"] == "nosniff"
    assert first["X-Frame-Options"] == "DENY"
    assert first["Strict-Transport-Security"].startswith("max-age=3600")


def test_api_answers_carry_the_policy_and_are_not_stored(world_a, settings):
    settings.SECURE_HSTS_SECONDS = 3600

    response = api_as(world_a.customer).get("/api/v1/returns/", secure=True)

    assert response.status_code == 200
    directives = policy_of(response)
    assert_strict_policy(directives)
    # A JSON answer holds no script to carry a nonce: scripts from our own files only.
    assert directives["script-src"] == ["'self'"]
    assert response["Cache-Control"] == "private, no-store"
    assert {"Authorization", "Cookie"} <= header_values(response, "Vary")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Strict-Transport-Security"].startswith("max-age=3600")


def test_api_refusals_are_not_stored_either(db):
    response = APIClient().get("/api/v1/returns/")

    assert_error(response, 401, "not_authenticated")
    assert response["Cache-Control"] == "private, no-store"
    assert_strict_policy(policy_of(response))


def test_a_public_page_keeps_the_policy_and_stays_cacheable(db):
    response = Client().get(reverse("accounts:password_reset_done"))

    assert response.status_code == 200
    assert_strict_policy(policy_of(response))
    assert "no-store" not in response.get("Cache-Control", "")


def test_stored_file_downloads_keep_their_own_stricter_policy(world_a, media_root):
    # Files answer "default-src 'none'; sandbox" (rma_portal/files/responses.py): django-csp
    # must not replace it with the page policy, nor the middleware their cache header.
    complaint = complaint_file(world_a.customer, world_a.company, uploads=[png_upload()])
    photo = ComplaintAttachment.unscoped.get(complaint=complaint)

    response = signed_in(world_a.customer).get(
        reverse("portal:complaint_attachment", args=[complaint.pk, photo.pk])
    )

    assert response.status_code == 200
    response.close()
    assert response[CSP] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"


# --- the cache middleware's rules ---------------------------------------------------------


def through_middleware(path: str, user, cache_control: str | None) -> HttpResponse:
    def view(request):
        response = HttpResponse("x")
        if cache_control is not None:
            response["Cache-Control"] = cache_control
        return response

    request = RequestFactory().get(path)
    if user is not None:
        request.user = user
    return PrivateCacheMiddleware(view)(request)


@pytest.mark.parametrize(
    ("chosen", "sent"),
    [
        (None, "private, no-store"),
        ("private, no-store", "private, no-store"),
        ("private, max-age=3600", "private, max-age=3600"),  # the tenant logo, own browser only
        ("max-age=0, no-cache, no-store, must-revalidate, private", None),  # never_cache
        ("max-age=600", "private, max-age=600"),  # never in a shared cache
        ("public, max-age=60", "public, max-age=60"),  # said on purpose
    ],
)
def test_a_signed_in_answer_keeps_the_caching_its_view_chose_but_never_shared(
    world_a, chosen, sent
):
    response = through_middleware("/portal/", world_a.customer, chosen)

    assert response["Cache-Control"] == (sent or chosen)
    assert response["Vary"] == "Cookie"


def test_anonymous_pages_and_static_files_are_left_cacheable(db):
    anonymous = through_middleware("/accounts/password/reset/sent/", AnonymousUser(), None)
    # WhiteNoise answers static files before the session and authentication middleware run.
    static = through_middleware("/static/css/app.css", None, "max-age=60, public")

    assert "Cache-Control" not in anonymous
    assert static["Cache-Control"] == "max-age=60, public"
    assert "Vary" not in static


def test_every_api_path_is_private_even_without_a_user(db):
    response = through_middleware("/api/v1/unknown/", None, None)

    assert response["Cache-Control"] == "private, no-store"


# --- API schema and Swagger UI behind sign-in ---------------------------------------------

SCHEMA_URL = "/api/v1/schema/"
DOCS_URL = "/api/docs/"


def test_schema_refuses_anonymous_callers_with_401_in_the_error_shape(db):
    response = APIClient().get(SCHEMA_URL)

    assert_error(response, 401, "not_authenticated")
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Token"


def test_schema_refuses_a_bad_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert_error(client.get(SCHEMA_URL), 401, "authentication_failed")


def test_schema_is_served_to_a_token_and_to_a_signed_in_tenant_user(world_a):
    by_token = api_as(world_a.customer).get(SCHEMA_URL, {"format": "json"})
    by_session = signed_in(world_a.agent).get(SCHEMA_URL, {"format": "json"})

    for response in (by_token, by_session):
        assert response.status_code == 200
        assert response.json()["openapi"].startswith("3")
        assert response["Cache-Control"] == "private, no-store"


def test_schema_and_swagger_ui_refuse_platform_accounts_without_a_tenant(superuser):
    client = signed_in(superuser)

    assert_error(client.get(SCHEMA_URL), 403, "forbidden")
    assert client.get(DOCS_URL).status_code == 403


def test_swagger_ui_sends_anonymous_visitors_to_sign_in_and_back(db):
    page = Client().get(DOCS_URL)
    script = Client().get(DOCS_URL, {"script": ""})

    login = reverse("accounts:login")
    assert page.status_code == 302
    assert page["Location"] == f"{login}?next={DOCS_URL}"
    assert script.status_code == 302
    assert script["Location"].startswith(f"{login}?next=")


def test_swagger_ui_runs_without_inline_script_for_a_signed_in_user(world_a):
    client = signed_in(world_a.customer)

    response = client.get(DOCS_URL)

    assert response.status_code == 200
    # Swagger UI's stylesheet embeds icons as data: images: this page alone allows them.
    assert_strict_policy(policy_of(response), images=("'self'", "data:"))
    doc = parse(response)
    sources = [script.get("src") for script in doc.select("script")]
    assert all(sources), "an inline script"
    assert not doc.select("style"), "an inline style"
    [start] = [src for src in sources if src.startswith(DOCS_URL)]
    start_script = client.get(start)
    assert start_script.status_code == 200
    assert start_script["Content-Type"].startswith("application/javascript")
    assert start_script["Cache-Control"] == "private, no-store"  # it holds the CSRF token


def test_api_docs_public_opens_schema_and_swagger_ui_to_everyone(db, settings):
    settings.API_DOCS_PUBLIC = True

    assert APIClient().get(SCHEMA_URL, {"format": "json"}).status_code == 200
    assert Client().get(DOCS_URL).status_code == 200


# --- templates need no exception to the policy --------------------------------------------

# Templates rendered for browsers: not e-mails (emails/, *_email.html) or PDF documents.
PAGE_TEMPLATES = sorted(
    path
    for path in (ROOT / "templates").rglob("*.html")
    if path.relative_to(ROOT / "templates").parts[0] not in {"emails", "documents"}
    and not path.stem.endswith("_email")
)
TAG = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["'{]""", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*["'{]""", re.IGNORECASE)


def test_page_templates_hold_no_inline_script_handler_or_unnonced_style():
    problems = []
    for path in PAGE_TEMPLATES:
        source = path.read_text()
        name = path.relative_to(ROOT)
        for tag, attributes in TAG.findall(source):
            if tag.lower() == "script":
                if "src=" not in attributes and 'type="application/json"' not in attributes:
                    problems.append(f"{name}: inline <script>")
            elif "request.csp_nonce" not in attributes:
                problems.append(f"{name}: <style> without the nonce")
        if EVENT_HANDLER.search(source):
            problems.append(f"{name}: inline event handler")
        if STYLE_ATTRIBUTE.search(source):
            problems.append(f"{name}: style attribute")
        if "javascript:" in source.lower():
            problems.append(f"{name}: javascript: URL")

    assert PAGE_TEMPLATES
    assert problems == []

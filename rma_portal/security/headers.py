"""Cache headers of private answers: what one signed-in user or API client was shown must not
be kept by a proxy, a shared cache or the browser's disk cache for the next person at the same
machine or behind the same proxy (docs/security.md#cache-headers)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

# rma_portal/urls.py mounts the REST API, its schema and Swagger UI here.
API_PATH_PREFIX = "/api/"

PRIVATE_NO_STORE = "private, no-store"


def is_signed_in(request: HttpRequest) -> bool:
    """Whether the answer was made for a signed-in user. A request that never reached
    AuthenticationMiddleware (a static file served by WhiteNoise, an HTTPS redirect) has no
    user and is not private."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def is_api_request(request: HttpRequest) -> bool:
    """Every API answer is private: with a token the session middleware knows nothing of the
    caller, and an error answer names what the caller may not see."""
    return request.path_info.startswith(API_PATH_PREFIX)


def make_private(response: HttpResponseBase, *, vary: tuple[str, ...]) -> None:
    """`Cache-Control: private, no-store` unless the view chose its own caching, which is kept:
    a stored file's "private, no-store", the tenant logo's "private, max-age=3600" (kept only
    by the signed-in user's own browser), `never_cache` pages. A choice that would let a
    shared cache keep the answer (no `private`, `no-store` or explicit `public`) becomes
    private."""
    patch_vary_headers(response, vary)
    current = response.get("Cache-Control", "")
    if not current:
        response["Cache-Control"] = PRIVATE_NO_STORE
        return
    directives = {part.strip().split("=", 1)[0].lower() for part in current.split(",")}
    if not directives & {"private", "no-store", "public"}:
        response["Cache-Control"] = f"private, {current}"


class PrivateCacheMiddleware:
    """Marks answers for signed-in users and every API answer as not to be stored.

    Sits at the top of MIDDLEWARE (below SecurityMiddleware) so it sees the final answer,
    including those made by other middleware (sign-in lockout, CSRF failures, redirects).
    Public pages and static files are left alone: they stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if is_api_request(request):
            # Token or session: the answer depends on either.
            make_private(response, vary=("Authorization", "Cookie"))
        elif is_signed_in(request):
            make_private(response, vary=("Cookie",))
        return response

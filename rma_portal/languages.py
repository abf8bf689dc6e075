"""The languages the site speaks and those each tenant offers its customers (docs/languages.md).

settings.LANGUAGES is the one list: model fields, forms, the language switchers, e-mails and
PDFs all read it through this module, so a new language is a catalogue under locale/ and a
line in settings. A tenant narrows it for its customers (Tenant.offered_languages); staff
may use every language of the site.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header


def language_codes() -> list[str]:
    """The site's language codes, in the order of settings.LANGUAGES."""
    return [code for code, _name in settings.LANGUAGES]


def language_choices() -> list[tuple[str, str]]:
    """Choices of a model or form field holding a language of the site. A callable, so a
    migration stores a reference to it rather than the list: a new language needs none."""
    return [(code, name) for code, name in settings.LANGUAGES]


def native_name(code: str) -> str:
    """The language's name in itself ("Polski", "Русский"), as people look for theirs in a
    list; the name given in settings.LANGUAGES when Django does not know the language."""
    try:
        return translation.get_language_info(code)["name_local"]
    except KeyError:
        return str(dict(settings.LANGUAGES).get(code, code))


def native_choices(codes: list[str] | None = None) -> list[tuple[str, str]]:
    """(code, native name) for `codes` (default: every language of the site)."""
    return [(code, native_name(code)) for code in (language_codes() if codes is None else codes)]


def _site_language(code: str | None) -> str | None:
    return code if code and code in language_codes() else None


def tenant_default_language(tenant) -> str:
    """The tenant's default language, or the site's when settings no longer list it."""
    if tenant is not None:
        default = _site_language(tenant.default_language)
        if default:
            return default
    return settings.LANGUAGE_CODE


def offered_languages(tenant) -> list[str]:
    """The languages `tenant` offers its customers, in the order of settings.LANGUAGES: the
    ones it chose, or every language of the site when it chose none. A chosen language that
    settings no longer list is left out; the default language is always in."""
    codes = language_codes()
    if tenant is None:
        return codes
    chosen = set(tenant.offered_languages or ())
    if not chosen & set(codes):
        return codes
    chosen.add(tenant_default_language(tenant))
    return [code for code in codes if code in chosen]


def customer_language(tenant, language: str | None) -> str:
    """The language a customer of `tenant` is served in: their own when the tenant offers
    it, else the tenant's default."""
    if language and language in offered_languages(tenant):
        return language
    return tenant_default_language(tenant)


def languages_for(user) -> list[str]:
    """The languages `user` may switch to: a customer those their tenant offers, anyone
    else (staff, platform, signed out) every language of the site."""
    if user is not None and getattr(user, "is_authenticated", False) and user.is_customer:
        return offered_languages(user.tenant)
    return language_codes()


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def customer_request_language(request, user) -> str:
    """The language of a signed-in customer's page, always one their tenant offers: the one
    switched to (the language cookie), else the one stored on them (the tenant's default
    when it is no longer offered), else the browser's best offered one, else the default."""
    offered = offered_languages(user.tenant)
    switched = _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if switched in offered:
        return switched
    if user.language:
        return user.preferred_language
    for accepted, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if accepted == "*":
            break
        candidate = _supported(accepted)
        if candidate in offered:
            return candidate
    return tenant_default_language(user.tenant)


def remember_language(response, language: str):
    """Set the language cookie LocaleMiddleware reads on `response` (returned)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


class CustomerLanguageMiddleware:
    """After LocaleMiddleware and the user's tenant are known: a customer's pages are in a
    language their tenant offers (customer_request_language); staff keep LocaleMiddleware's
    choice among every language of the site."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_customer:
            language = customer_request_language(request, user)
            if language != translation.get_language():
                translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def language_switcher(request) -> dict:
    """Template context: the languages the page's switcher offers, with their own names."""
    return {"switcher_languages": native_choices(languages_for(getattr(request, "user", None)))}

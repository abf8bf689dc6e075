"""The tenant's public return policy and FAQ (docs/returns-rules.md#the-public-policy-page): no
sign-in, at /policy/<tenant slug>/, built from the rules in force at each request."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from rma_portal.languages import native_choices, offered_languages
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

from ..policy_page import (
    faq_articles,
    policy_sections,
    public_policy_path,
    reader_language,
    render_faq_body,
)


@require_safe
@login_not_required
@never_cache  # an edited policy shows on the next request; the page is cheap to build
def public_policy(request, tenant_slug: str):
    """Anyone may read it, signed in or not, in any tenant: it is what the tenant promises
    before a purchase. An unknown or inactive tenant is the site's 404 page."""
    tenant = Tenant.objects.filter(slug=tenant_slug, is_active=True).first()
    if tenant is None:
        raise Http404
    # ?lang= picks one of the languages the tenant offers; else the browser's
    # (LocaleMiddleware), if offered; else the tenant's default.
    language = reader_language(tenant, request.GET.get("lang"), request.LANGUAGE_CODE)
    with (
        translation.override(language),
        tenant_context(tenant),
        timezone.override(zoneinfo.ZoneInfo(tenant.timezone)),
    ):
        articles, faq_language = faq_articles(tenant, language)
        path = public_policy_path(tenant)
        context = {
            "tenant": tenant,
            # The page is the tenant's, whoever reads it (base.html's header and colour).
            "current_tenant": tenant,
            "brand_colour": tenant.brand_colour,
            "sections": policy_sections(tenant),
            "faq": [(article, render_faq_body(article.body)) for article in articles],
            "faq_language": faq_language,
            "page_language": language,
            "languages": [
                (code, name, f"{path}?lang={code}")
                for code, name in native_choices(offered_languages(tenant))
            ],
            "portal_url": reverse("portal:home"),
            "new_return_url": reverse("portal:return_new"),
            "new_complaint_url": reverse("portal:complaint_new"),
        }
        response = render(request, "policy/page.html", context)
    response["Content-Language"] = language
    return response

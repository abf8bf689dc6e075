"""Template context: the tenant whose branding a page shows."""


def tenant(request):
    current = getattr(request, "tenant", None)
    return {
        "current_tenant": current,
        "brand_colour": current.brand_colour if current else "#1f4e79",
    }

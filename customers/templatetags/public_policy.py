"""`{% public_policy_url tenant as url %}`: the absolute address of the tenant's public return
policy page, for e-mails (templates/emails/base.html) and documents built outside a request."""

from django import template

from customers.policy_page import public_policy_url as _public_policy_url

register = template.Library()


@register.simple_tag
def public_policy_url(tenant) -> str:
    if tenant is None or not getattr(tenant, "slug", ""):
        return ""
    return _public_policy_url(tenant)

"""The tenant's logo, served only to signed-in users of that tenant."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from .storage import image_content_type


@login_required
def tenant_logo(request):
    tenant = request.tenant
    if tenant is None or not tenant.logo:
        raise Http404
    try:
        handle = tenant.logo.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=image_content_type(tenant.logo.name))
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response

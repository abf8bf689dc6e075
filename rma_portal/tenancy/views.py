"""The tenant's logo, served only to signed-in users of that tenant."""

import mimetypes

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404


@login_required
def tenant_logo(request):
    tenant = request.tenant
    if tenant is None or not tenant.logo:
        raise Http404
    try:
        handle = tenant.logo.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = mimetypes.guess_type(tenant.logo.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response

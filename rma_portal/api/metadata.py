"""What `OPTIONS` answers on the API: the view's name and description and the media types it
renders and parses; the `Allow` header lists its methods.

DRF's SimpleMetadata also describes the input of each action, and to know whether PUT is allowed
it looks the object up (`get_object()`) without the view's own lookup: routes with a lookup of
their own (`by-external-id/{external_id}/`) then failed with a 500. The OpenAPI schema
(`/api/v1/schema/`) is where the input of every operation is described.
"""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    def determine_actions(self, request, view) -> dict:
        return {}

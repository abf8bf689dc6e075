"""The platform's REST API base (docs/architecture.md#interfaces): one error shape,
tenant-scoped viewsets, token auth, pagination and the OpenAPI schema. Domain apps put
their endpoints in `<app>/api/`.
"""

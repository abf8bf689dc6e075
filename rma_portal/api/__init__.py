"""The platform's REST API base (DESIGN.md section 9): one error shape, tenant-scoped viewsets,
token auth, pagination and the OpenAPI schema. Domain apps put their endpoints in `<app>/api/`.
"""

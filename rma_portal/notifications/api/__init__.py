"""API v1 of webhooks: the event catalogue, and the endpoints a tenant admin (or an API key
with the `webhooks:manage` scope) manages, with their delivery log (docs/webhooks.md)."""

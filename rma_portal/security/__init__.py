"""Platform security: the client's address behind trusted proxies, the audit log of sign-ins
and staff actions, and the response headers every answer carries (docs/security.md)."""

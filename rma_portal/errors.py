"""The one error type services raise: a user-facing message and a stable error code."""

from __future__ import annotations


class ApplicationError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    """The one JSON shape of every API error (docs/api.md): also used outside the API's views,
    by the sign-in lockout and the two-factor check, which answer API requests themselves."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}

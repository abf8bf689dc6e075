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

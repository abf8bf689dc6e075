from rma_portal.errors import ApplicationError


class ReturnInvalid(ApplicationError):
    """Bad input: nothing was changed (HTTP 400)."""

    code = "invalid"


class ReturnConflict(ApplicationError):
    """The return is not in a state that allows this (HTTP 409)."""

    code = "conflict"


class ReturnAccessDenied(ApplicationError):
    """The actor's role may not do this (HTTP 403)."""

    code = "forbidden"

"""Services: read the database into plain values, call the core, write rows back.

A service never commits; the request handler, CLI command or job runner does.
"""


class ServiceError(Exception):
    """A request a user can correct; ``status`` is the HTTP status to answer with."""

    status = 422

    def __init__(self, message: str, detail: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Forbidden(ServiceError):
    status = 403

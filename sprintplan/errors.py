"""Errors raised by services. Views and the API translate them; nothing is written on one."""

from typing import Any


class DomainError(Exception):
    """A refused change. `code` is stable for clients; `message` is for people."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class InvalidInput(DomainError):
    status = 400


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class StaleVersion(Conflict):
    """The client edited an old version; `current` is the object as it is now."""

    code = "stale_version"

    def __init__(self, message: str, *, current: Any, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.current = current

"""Domain errors that carry their HTTP status, rendered in one JSON shape.

Every error answer looks like ``{"error": {"code": ..., "message": ..., "fields": [...]}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class AppError(Exception):
    message: str
    fields: list[FieldError] = field(default_factory=list)
    status_code: int = 400
    code: str = "bad_request"

    def __str__(self) -> str:
        return self.message


class ValidationFailed(AppError):
    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message, fields or [], 422, "validation_failed")

    @classmethod
    def on(cls, field_name: str, message: str) -> ValidationFailed:
        return cls(f"{field_name}: {message}", [FieldError(field_name, message)])


class Unauthorized(AppError):
    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message, [], 401, "unauthorized")


class Forbidden(AppError):
    def __init__(self, message: str = "not allowed") -> None:
        super().__init__(message, [], 403, "forbidden")


class NotFound(AppError):
    def __init__(self, message: str = "not found") -> None:
        super().__init__(message, [], 404, "not_found")


class Conflict(AppError):
    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message, fields or [], 409, "conflict")


class TooManyRequests(AppError):
    retry_after: int

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, [], 429, "too_many_requests")
        self.retry_after = retry_after


def error_body(
    code: str, message: str, fields: list[FieldError] | None = None
) -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": [{"field": f.field, "message": f.message} for f in fields or []],
        }
    }

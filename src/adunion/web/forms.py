"""Validating HTML form posts with the same Pydantic models the API uses."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from adunion.kernel.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields, without the CSRF token. A dependency: the body is awaited
    here, on the event loop, so a handler that queries the database can be a plain ``def``
    (FastAPI runs those in its thread pool)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def validate_form(model: type[M], data: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The model, or field -> message for each problem (for re-rendering the form)."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(field, _friendly(str(error["msg"])))
        return None, errors


def _friendly(message: str) -> str:
    return message.removeprefix("Value error, ")


def parse_day(value: str | None, field: str) -> date | None:
    """An optional YYYY-MM-DD query value; a malformed one is a 422 naming the field."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.on(field, "must be a date (YYYY-MM-DD)") from None

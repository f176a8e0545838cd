"""Validating HTML form posts with the same Pydantic models the API uses."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


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

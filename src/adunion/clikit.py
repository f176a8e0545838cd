"""What every CLI command shares: one-line errors, settings and the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import typer
from pydantic import ValidationError

from adunion.config import Settings, load_settings
from adunion.kernel.db import Database
from adunion.kernel.errors import AppError


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn expected failures into one clear line and a non-zero exit."""
    try:
        yield
    except AppError as exc:
        fail(exc.message)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        fail(f"{where}: {first['msg']}")
    except OSError as exc:
        fail(str(exc))


def cli_settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ADUNION_" + "_".join(str(p) for p in first["loc"]).upper()
        fail(f"{name}: {first['msg']}")
        raise AssertionError("unreachable") from exc


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    try:
        yield database
    finally:
        database.dispose()


def cli_day(value: str, option: str) -> date:
    """A YYYY-MM-DD option, or one clear error line naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")
        raise AssertionError("unreachable") from None

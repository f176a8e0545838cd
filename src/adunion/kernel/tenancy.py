"""The one tenant-scoping rule: a private object is read through its owner, or it does not exist.

Every domain loads owned rows with :func:`get_owned` or filters with :func:`owned_by`, so another
account's object answers 404 (never 403, which would confirm that it exists). An owned model is
any table with ``id`` and ``owner_id`` columns.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from adunion.kernel.errors import NotFound
from adunion.kernel.models import Base

T = TypeVar("T", bound=Base)


def _column(model: type[Base], name: str) -> InstrumentedAttribute[Any]:
    column = getattr(model, name, None)
    if not isinstance(column, InstrumentedAttribute):
        raise TypeError(f"{model.__name__} has no {name} column, so it cannot be tenant-scoped")
    return column


def owned_by(model: type[T], owner_id: str) -> Select[T]:
    return select(model).where(_column(model, "owner_id") == owner_id)


def get_owned(session: Session, model: type[T], object_id: object, owner_id: str) -> T:
    """The object with this id if ``owner_id`` owns it, else :class:`NotFound`."""
    label = str(getattr(model, "__label__", model.__name__.lower()))
    if not isinstance(object_id, str) or not object_id:
        raise NotFound(f"{label} not found")
    found = session.scalars(
        owned_by(model, owner_id).where(_column(model, "id") == object_id)
    ).one_or_none()
    if found is None:
        raise NotFound(f"{label} not found")
    return found

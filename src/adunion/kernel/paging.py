"""Pages of a list: at most ``limit`` rows after the first ``offset``, and how many there are.

Every list that grows with the network is read a page at a time, never cut off silently. The
query must be totally ordered (a unique column last, usually the id), so pages never overlap or
skip a row while nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = MAX_PAGE
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE or self.offset < 0:
            raise ValueError(f"a page holds 1 to {MAX_PAGE} rows from an offset of 0 or more")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int  # rows in all pages


def fetch_page(session: Session, query: Select[T], page: PageRequest) -> Page[T]:
    """One page of ``query``'s rows, and the number of rows it has in all."""
    # unique(): a row with an eagerly joined collection comes back once.
    items = list(session.scalars(query.limit(page.limit).offset(page.offset)).unique())
    matching = query.order_by(None).subquery()
    total = int(session.scalar(select(func.count()).select_from(matching)) or 0)
    return Page(items, total)

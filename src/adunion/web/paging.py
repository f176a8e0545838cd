"""Pages of a long list on a web page: ``?page=N``, a "rows X to Y of N" line, previous/next links.

The list is fetched through :func:`adunion.kernel.paging.fetch_page`; the links keep every other
query parameter (filters, a second list's page) as it was. A page that a form's POST re-renders
(with the form's errors or outcome) names its own GET path, so its links do not point at the
form's action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Select
from sqlalchemy.orm import Session

from adunion.kernel.errors import ValidationFailed
from adunion.kernel.paging import PageRequest, fetch_page

T = TypeVar("T")

PAGE_SIZE = 50
_MAX_DIGITS = 6  # a million pages of 50 is more than any list here holds


def page_number(raw: str | None, param: str = "page") -> int:
    """The 1-based page asked for; anything else is a 422 on that parameter."""
    if not raw:
        return 1
    if not raw.isdigit() or len(raw) > _MAX_DIGITS or int(raw) < 1:
        raise ValidationFailed.on(param, "is not a page number")
    return int(raw)


def page_request(number: int, size: int = PAGE_SIZE) -> PageRequest:
    return PageRequest(size, (number - 1) * size)


@dataclass(frozen=True, slots=True)
class Pager:
    number: int
    size: int
    total: int
    shown: int
    first_url: str
    previous_url: str | None
    next_url: str | None

    @property
    def first(self) -> int:
        """The 1-based position of the first row shown."""
        return (self.number - 1) * self.size + 1

    @property
    def last(self) -> int:
        return self.first + self.shown - 1

    @property
    def several(self) -> bool:
        """More than one page, or a page past the first: worth a "rows X to Y of N" line."""
        return self.total > self.size or self.number > 1


def page_url(request: Request, param: str, number: int, path: str | None = None) -> str:
    """This page's URL (``path``, else the request's) with ``param`` set to ``number`` (dropped
    for the first page); empty parameters (a form's unused filters) are left out."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != param and v]
    if number > 1:
        query.append((param, str(number)))
    return (path or request.url.path) + (f"?{urlencode(query)}" if query else "")


def pager(
    request: Request,
    number: int,
    total: int,
    shown: int,
    *,
    size: int = PAGE_SIZE,
    param: str = "page",
    path: str | None = None,
) -> Pager:
    """Page ``number`` of a list of ``total`` rows, ``shown`` of them on it."""

    def url(n: int) -> str:
        return page_url(request, param, n, path)

    return Pager(
        number=number,
        size=size,
        total=total,
        shown=shown,
        first_url=url(1),
        previous_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if number * size < total else None,
    )


def paged_list(
    request: Request,
    session: Session,
    query: Select[T],
    *,
    param: str = "page",
    path: str | None = None,
) -> tuple[list[T], Pager]:
    """The rows of the page the request asks for (``?page=N``), and its pager."""
    number = page_number(request.query_params.get(param), param)
    page = fetch_page(session, query, page_request(number))
    return page.items, pager(request, number, page.total, len(page.items), param=param, path=path)

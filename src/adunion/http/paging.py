"""The API's paging parameters (``limit``, ``offset``) and its ``X-Total-Count`` header."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Query, Response

from adunion.kernel.paging import MAX_PAGE, Page, PageRequest

T = TypeVar("T")

TOTAL_HEADER = "X-Total-Count"


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows per page")] = MAX_PAGE,
    offset: Annotated[int, Query(ge=0, description="rows to skip")] = 0,
) -> PageRequest:
    return PageRequest(limit, offset)


Paging = Annotated[PageRequest, Depends(page_request)]


def paged(response: Response, page: Page[T]) -> list[T]:
    """The page's rows; the header says how many there are in all pages."""
    response.headers[TOTAL_HEADER] = str(page.total)
    return page.items

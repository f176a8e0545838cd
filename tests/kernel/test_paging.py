"""Pages of a query: every row exactly once across the pages, even where the order key ties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from adunion.accounts.models import User
from adunion.accounts.repository import all_users_query
from adunion.kernel.db import Database
from adunion.kernel.paging import MAX_PAGE, PageRequest, fetch_page
from tests.factories import make_user


def test_pages_cover_every_row_once_even_when_the_order_key_ties(database: Database) -> None:
    with database.transaction() as session:
        created = {make_user(session).id for _ in range(7)}
        # The same creation instant for all: only the id tie-break keeps the pages apart.
        session.execute(update(User).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    seen: list[str] = []
    with database.transaction(write=False) as session:
        for offset, expected in ((0, 3), (3, 3), (6, 1), (9, 0)):
            page = fetch_page(session, all_users_query(), PageRequest(3, offset))
            assert len(page.items) == expected and page.total == 7
            seen += [user.id for user in page.items]
        whole = fetch_page(session, all_users_query(), PageRequest())
    assert len(seen) == 7 and set(seen) == created
    assert seen == [user.id for user in whole.items]


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (MAX_PAGE + 1, 0), (10, -1)])
def test_a_page_out_of_range_is_refused(limit: int, offset: int) -> None:
    with pytest.raises(ValueError, match="a page holds"):
        PageRequest(limit, offset)

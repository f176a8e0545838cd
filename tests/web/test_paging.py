"""Long lists on web pages: ``?page=N``, the position line, links that keep the other parameters."""

from __future__ import annotations

import re

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from adunion.accounts.models import Role
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.errors import ValidationFailed
from adunion.wallet import service as wallet
from adunion.web.paging import PAGE_SIZE, page_number, page_url, pager
from tests.factories import email_of, make_user, web_login
from tests.inventory.helpers import advertiser, create_site, webmaster


def request_for(path: str, query: str) -> Request:
    return Request({"type": "http", "path": path, "query_string": query.encode(), "headers": []})


def test_page_numbers_are_positive_and_short() -> None:
    assert page_number(None) == 1 and page_number("") == 1 and page_number("12") == 12
    for bad in ("0", "-1", "abc", "1.5", "9999999"):
        with pytest.raises(ValidationFailed, match="deposits_page: is not a page number"):
            page_number(bad, "deposits_page")


def test_links_keep_the_other_parameters_and_drop_empty_ones() -> None:
    request = request_for("/finance", "withdrawals_page=3&deposits_page=2&note=")
    assert page_url(request, "deposits_page", 1) == "/finance?withdrawals_page=3"
    assert page_url(request, "deposits_page", 4) == "/finance?withdrawals_page=3&deposits_page=4"
    middle = pager(request, 2, total=120, shown=50, param="deposits_page")
    assert (middle.first, middle.last, middle.several) == (51, 100, True)
    assert middle.previous_url == "/finance?withdrawals_page=3"
    assert middle.next_url == "/finance?withdrawals_page=3&deposits_page=3"
    last = pager(request, 3, total=120, shown=20, param="deposits_page")
    assert (last.first, last.last, last.next_url) == (101, 120, None)
    single = pager(request_for("/moderation", ""), 1, total=7, shown=7)
    assert not single.several and single.previous_url is None and single.next_url is None


def test_the_users_page_comes_fifty_at_a_time(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        admin = make_user(session, roles=(Role.ADMIN,), display_name="The admin")
        for n in range(PAGE_SIZE + 4):
            make_user(session, display_name=f"Member {n:03d}")
        admin_email = admin.email
    web_login(client, admin_email)

    first = client.get("/admin/users")
    assert first.status_code == 200
    assert "Users 1\u201350 of 55" in first.text
    assert 'href="/admin/users?page=2" rel="next"' in first.text and 'rel="prev"' not in first.text
    assert len(re.findall(r'action="/admin/users/[^"]+/roles"', first.text)) == PAGE_SIZE

    second = client.get("/admin/users", params={"page": "2"})
    assert "Users 51\u201355 of 55" in second.text
    assert 'href="/admin/users" rel="prev"' in second.text and 'rel="next"' not in second.text
    assert "Member 053" in second.text and "Member 000" not in second.text

    beyond = client.get("/admin/users", params={"page": "3"})
    assert beyond.status_code == 200
    assert "No users on this page; there are 55." in beyond.text
    assert '<a href="/admin/users">First page</a>' in beyond.text

    wrong = client.get("/admin/users", params={"page": "zero"}, headers={"accept": "text/html"})
    assert wrong.status_code == 422 and "is not a page number" in wrong.text


def test_the_finance_queues_page_apart(
    client: TestClient, database: Database, settings: Settings
) -> None:
    with database.transaction() as session:
        staff = make_user(session, roles=(Role.FINANCE,))
        customer = make_user(session, roles=(Role.ADVERTISER,))
        for n in range(PAGE_SIZE + 1):
            wallet.request_deposit(
                session,
                settings,
                owner_id=customer.id,
                amount=(n + 1) * 1_000_000,
                currency="USD",
                provider="bank_transfer",
            )
        staff_email, customer_email = staff.email, customer.email
    web_login(client, staff_email)

    page = client.get("/finance")
    assert page.status_code == 200
    assert "Transfers 1\u201350 of 51" in page.text
    assert 'href="/finance?deposits_page=2" rel="next"' in page.text
    assert page.text.count(customer_email) == PAGE_SIZE  # the owner's address, not an id
    assert "No withdrawals waiting." in page.text

    second = client.get("/finance", params={"deposits_page": "2", "withdrawals_page": "1"})
    assert "Transfers 51\u201351 of 51" in second.text
    assert 'href="/finance?withdrawals_page=1" rel="prev"' in second.text


def test_an_owners_sites_and_campaigns_come_fifty_at_a_time(
    client: TestClient, database: Database
) -> None:
    webmaster_id, wm = webmaster(database)
    advertiser_id, adv = advertiser(database)
    for n in range(PAGE_SIZE + 2):
        create_site(client, wm, f"site{n:03d}.example")
        made = client.post(
            "/api/v1/campaigns",
            json={
                "name": f"Campaign {n:03d}",
                "pricing": "cpm",
                "bid_micros": 1_000_000,
                "daily_budget_micros": 10_000_000,
                "total_budget_micros": 100_000_000,
            },
            headers=adv,
        )
        assert made.status_code == 201, made.text
    _, other = webmaster(database)
    create_site(client, other, "someone-else.example")

    web_login(client, email_of(database, webmaster_id))
    first = client.get("/sites")
    assert "Sites 1\u201350 of 52" in first.text
    assert "site051.example" in first.text and "site001.example" not in first.text  # newest first
    second = client.get("/sites", params={"page": "2"})
    assert "Sites 51\u201352 of 52" in second.text
    assert "site001.example" in second.text and "site000.example" in second.text
    assert "someone-else.example" not in first.text + second.text
    assert client.get("/sites", params={"page": "x"}).status_code == 422

    web_login(client, email_of(database, advertiser_id))
    campaigns = client.get("/campaigns", params={"page": "2"})
    assert "Campaigns 51\u201352 of 52" in campaigns.text
    assert "Campaign 001" in campaigns.text and "Campaign 051" not in campaigns.text
    assert 'href="/campaigns" rel="prev"' in campaigns.text

"""Long lists on web pages: ``?page=N``, the position line, links that keep the other parameters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.errors import ValidationFailed
from adunion.kernel.principal import Role
from adunion.risk.models import FlagStatus, SiteFlag
from adunion.wallet import service as wallet
from adunion.wallet.models import Deposit
from adunion.web.paging import PAGE_SIZE, page_number, page_url, pager
from tests.factories import csrf_of, email_of, make_user, web_login
from tests.inventory.helpers import advertiser, create_site, webmaster
from tests.risk.helpers import flagged_site


def request_for(path: str, query: str) -> Request:
    return Request({"type": "http", "path": path, "query_string": query.encode(), "headers": []})


def open_deposit(session: Session, settings: Settings, owner_id: str, amount: int) -> Deposit:
    deposit, _ = wallet.request_deposit(
        session,
        settings,
        owner_id=owner_id,
        amount=amount,
        currency="USD",
        provider="bank_transfer",
    )
    return deposit


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


def test_a_page_re_rendered_by_a_form_links_to_its_own_path() -> None:
    posted = request_for("/finance/deposits/d1/confirm", "")
    assert page_url(posted, "deposits_page", 2, "/finance") == "/finance?deposits_page=2"
    page = pager(posted, 1, total=60, shown=50, param="deposits_page", path="/finance")
    assert (page.first_url, page.next_url) == ("/finance", "/finance?deposits_page=2")


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
            open_deposit(session, settings, customer.id, (n + 1) * 1_000_000)
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

    deposit_id = re.search(r'action="/finance/deposits/([^/"]+)/confirm"', page.text)
    assert deposit_id
    refused = client.post(
        f"/finance/deposits/{deposit_id.group(1)}/confirm",
        data={
            "received_amount": "lots",
            "csrf_token": csrf_of(client, "/finance"),
            "idempotency_key": "confirm-bad",
        },
    )
    assert refused.status_code == 422
    assert 'href="/finance?deposits_page=2" rel="next"' in refused.text
    assert "/confirm?deposits_page" not in refused.text


def test_the_wallet_pages_its_deposits(
    client: TestClient, database: Database, settings: Settings
) -> None:
    with database.transaction() as session:
        customer = make_user(session, roles=(Role.ADVERTISER,))
        other = make_user(session, roles=(Role.ADVERTISER,))
        for n in range(PAGE_SIZE + 1):
            open_deposit(session, settings, customer.id, (n + 1) * 1_000_000)
        their_reference = open_deposit(session, settings, other.id, 7_000_000).reference
        customer_email = customer.email
    web_login(client, customer_email)

    first = client.get("/wallet", params={"from": "2026-11-01", "to": "2026-11-30"})
    assert first.status_code == 200
    assert "Deposits 1\u201350 of 51" in first.text
    # The statement's dates stay on the page's links.
    assert 'href="/wallet?from=2026-11-01&amp;to=2026-11-30&amp;deposits_page=2" rel="next"' in (
        first.text
    )
    assert "No withdrawals yet." in first.text
    assert "<td>51.00 USD</td>" in first.text and "<td>1.00 USD</td>" not in first.text
    assert their_reference not in first.text

    second = client.get("/wallet", params={"deposits_page": "2"})
    assert "Deposits 51\u201351 of 51" in second.text
    assert "<td>1.00 USD</td>" in second.text and 'href="/wallet" rel="prev"' in second.text
    assert their_reference not in second.text
    assert client.get("/wallet", params={"withdrawals_page": "-1"}).status_code == 422

    refused = client.post(
        "/wallet/deposits",
        data={
            "amount": "nothing",
            "currency": "USD",
            "provider": "bank_transfer",
            "csrf_token": csrf_of(client, "/wallet"),
            "idempotency_key": "deposit-bad",
        },
    )
    assert refused.status_code == 422
    assert 'href="/wallet?deposits_page=2" rel="next"' in refused.text
    assert '<a href="/wallet" aria-current="true">Wallet</a>' in refused.text


def test_the_risk_page_pages_resolved_flags(client: TestClient, database: Database) -> None:
    flagged = flagged_site(database)
    with database.transaction() as session:
        reviewer = make_user(session, roles=(Role.RISK,))
        for n in range(PAGE_SIZE + 1):
            session.add(
                SiteFlag(
                    site_id=flagged.site_id,
                    window_start=date(2026, 1, 1) + timedelta(days=n),
                    window_end=date(2026, 1, 7) + timedelta(days=n),
                    impressions=2_000,
                    clicks=60,
                    site_ctr_ppm=30_000,
                    network_ctr_ppm=2_500,
                    status=FlagStatus.DISMISSED.value,
                    resolved_by=reviewer.id,
                    resolved_at=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(hours=n),
                    resolution_note=f"note {n:03d}",
                )
            )
        reviewer_email = reviewer.email
    web_login(client, reviewer_email)

    first = client.get("/risk/flags")
    assert first.status_code == 200
    assert "Resolved flags 1\u201350 of 51" in first.text
    assert 'href="/risk/flags?resolved_page=2" rel="next"' in first.text
    assert "note 050" in first.text and "note 000" not in first.text  # most recent first
    assert f'action="/risk/flags/{flagged.flag_id}/resolve"' in first.text  # the open flag

    second = client.get("/risk/flags", params={"resolved_page": "2"})
    assert "Resolved flags 51\u201351 of 51" in second.text and "note 000" in second.text
    assert f'action="/risk/flags/{flagged.flag_id}/resolve"' in second.text

    refused = client.post(
        f"/risk/flags/{flagged.flag_id}/resolve",
        data={"action": "suspend", "csrf_token": csrf_of(client, "/risk/flags")},
    )
    assert refused.status_code == 422
    assert 'href="/risk/flags?resolved_page=2" rel="next"' in refused.text


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

"""The overview page: today's and this month's figures from the rollups, and the wallet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from fastapi.testclient import TestClient

from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.money import format_amount
from adunion.kernel.principal import Role
from adunion.reporting import rollup
from tests.factories import make_user, web_login
from tests.reporting.helpers import event, insert_billed_events


def facts(page: str, card: str) -> dict[str, str]:
    """The card's ``dt`` -> ``dd`` texts, tags removed."""
    body = re.search(rf'<article class="card" id="{card}">(.*?)</article>', page, re.S)
    assert body is not None, card
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body.group(1), re.S)
    return {k: " ".join(re.sub(r"<[^>]+>", "", v).split()) for k, v in pairs}


def test_overview_shows_today_and_the_month_from_the_reports(
    client: TestClient, database: Database, settings: Settings
) -> None:
    with database.transaction() as session:
        both = make_user(session, roles=(Role.WEBMASTER, Role.ADVERTISER), email="both@example.org")
        other = make_user(session, roles=(Role.WEBMASTER,), email="other@example.org")
        both_id, other_id = both.id, other.id
    now = datetime.now(UTC)
    today = now.date()
    month_start = datetime.combine(today.replace(day=1), time(0, 5), UTC)
    last_month = month_start - timedelta(days=2)
    mine = {"site": "site-b", "publisher": both_id, "advertiser": both_id, "campaign": "camp-b"}
    rows = [event(now, **mine, billable=20_000, visitor=f"v{n}") for n in range(3)]
    rows.append(event(now, "click", **mine, billable=500_000))
    if month_start.date() < today:  # earlier this month (not on the 1st, when that is today)
        rows += [event(month_start, **mine, billable=20_000) for _ in range(2)]
    rows.append(event(last_month, **mine, billable=999_000))  # last month: not counted
    rows.append(event(now, site="site-o", publisher=other_id, billable=10_000))  # someone else's
    with database.transaction() as session:
        insert_billed_events(session, rows)
    rollup.rollup_days(database, settings, last_month.date(), today)

    web_login(client, "both@example.org")
    page = client.get("/").text
    earnings = facts(page, "webmaster")
    spending = facts(page, "advertiser")
    month_views = 3 + (2 if month_start.date() < today else 0)
    spent_today = 3 * 20_000 + 500_000
    spent_month = spent_today + (2 * 20_000 if month_start.date() < today else 0)
    commission = settings.commission_rate
    assert earnings["Today"].startswith(format_amount(round(spent_today * (1 - commission)), "USD"))
    assert "3 views · 1 click" in earnings["Today"]
    assert earnings["This month"].startswith(
        format_amount(round(spent_month * (1 - commission)), "USD")
    )
    assert f"{month_views} views" in earnings["This month"]
    assert spending["Today"] == f"{format_amount(spent_today, 'USD')} spent · 3 views · 1 click"
    assert spending["This month"].startswith(f"{format_amount(spent_month, 'USD')} spent · 1 click")
    assert facts(page, "balance")["USD"].startswith(format_amount(0, "USD"))


def test_overview_before_any_traffic(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, roles=(Role.WEBMASTER,), email="new@example.org")
    web_login(client, "new@example.org")
    page = client.get("/").text
    assert "No traffic this month yet" in page
    assert 'id="advertiser"' not in page

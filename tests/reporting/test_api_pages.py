"""Reports through the API and the pages: tenant scoping, CSV shape, SVG charts, escaping, health."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from adunion.config import Settings
from adunion.inventory.models import Site
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.reporting import rollup
from adunion.reporting.export import CSV_COLUMNS
from tests.factories import make_user, web_login
from tests.reporting.helpers import event, insert_billed_events

DAY = date(2026, 11, 20)
START = datetime(2026, 11, 20, 10, tzinfo=UTC)
RANGE = {"from": "2026-11-14", "to": "2026-11-20"}
SCOPES = ("reports:read",)


def _site(database: Database, owner: str, domain: str) -> str:
    with database.transaction() as session:
        site = Site(owner_id=owner, domain=domain, category="IAB1", verification_token="t" * 32)
        session.add(site)
        session.flush()
        return site.id


def _user(database: Database, roles: tuple[Role, ...], email: str) -> tuple[str, dict[str, str]]:
    from tests.factories import make_token

    with database.transaction() as session:
        user = make_user(session, roles=roles, email=email)
        _token, plaintext = make_token(session, user, SCOPES)
        return user.id, {"Authorization": f"Bearer {plaintext}"}


def _network(database: Database, settings: Settings) -> dict[str, str]:
    mine, mine_headers = _user(database, (Role.WEBMASTER,), "mine@example.org")
    other, other_headers = _user(database, (Role.WEBMASTER,), "other@example.org")
    advertiser, adv_headers = _user(database, (Role.ADVERTISER,), "adv@example.org")
    my_site = _site(database, mine, "mine.example")
    other_site = _site(database, other, "other.example")
    rows = []
    for n in range(40):
        rows.append(
            event(
                START + timedelta(minutes=n),
                slot="slot-m",
                site=my_site,
                publisher=mine,
                advertiser=advertiser,
                campaign="camp-1",
                billable=10_000,
                visitor=f"v{n}",
            )
        )
    rows += [
        event(
            START,
            "click",
            slot="slot-m",
            site=my_site,
            publisher=mine,
            advertiser=advertiser,
            campaign="camp-1",
            billable=500_000,
        )
        for _ in range(2)
    ]
    rows += [
        event(
            START,
            slot="slot-o",
            site=other_site,
            publisher=other,
            advertiser=advertiser,
            campaign="camp-1",
            billable=10_000,
        )
        for _ in range(7)
    ]
    rows += [event(START, site=other_site, publisher=other, valid=False, reason="bot")]
    with database.transaction() as session:
        insert_billed_events(session, rows)
    rollup.rollup_days(database, settings, DAY, DAY)
    return {
        "mine": mine,
        "my_site": my_site,
        "other_site": other_site,
        "mine_auth": mine_headers["Authorization"],
        "other_auth": other_headers["Authorization"],
        "adv_auth": adv_headers["Authorization"],
    }


def test_webmaster_sees_only_their_sites(
    client: TestClient, database: Database, settings: Settings
) -> None:
    n = _network(database, settings)
    mine = {"Authorization": n["mine_auth"]}
    body = client.get("/api/v1/reports/webmaster", params=RANGE, headers=mine).json()
    (total,) = body["totals"]
    assert (total["views"], total["clicks"], total["spend_micros"]) == (40, 2, 1_400_000)
    assert total["earnings_micros"] == 980_000
    assert total["ctr_percent"] == "5.00"
    assert total["rpm_micros"] == 980_000 * 1000 // 40
    assert [r["key"] for r in body["rows"]] == ["2026-11-20T00:00:00Z"]
    by_site = client.get(
        "/api/v1/reports/webmaster", params={**RANGE, "by": "site"}, headers=mine
    ).json()
    assert [(r["key"], r["label"]) for r in by_site["rows"]] == [(n["my_site"], "mine.example")]
    # Another webmaster's site: 404, not an empty report that confirms it exists.
    other = client.get(
        "/api/v1/reports/webmaster", params={**RANGE, "site_id": n["other_site"]}, headers=mine
    )
    assert other.status_code == 404
    # The advertiser sees both sites' rows of their campaign; the webmaster API is not theirs.
    adv = {"Authorization": n["adv_auth"]}
    assert client.get("/api/v1/reports/webmaster", params=RANGE, headers=adv).status_code == 403
    body = client.get("/api/v1/reports/advertiser", params=RANGE, headers=adv).json()
    assert body["totals"][0]["views"] == 47
    assert body["totals"][0]["cpc_micros"] == 1_470_000 // 2
    assert body["total_reach"] == 41  # visitor-1 plus v0..v39
    assert client.get("/api/v1/reports/network", params=RANGE, headers=adv).status_code == 403


def test_network_report_and_csv(client: TestClient, database: Database, settings: Settings) -> None:
    _network(database, settings)
    _id, headers = _user(database, (Role.ADMIN,), "ops@example.org")
    body = client.get("/api/v1/reports/network", params=RANGE, headers=headers).json()
    (total,) = body["totals"]
    assert total["views"] == 47 and total["invalid"] == 1 and total["events"] == 50
    assert total["invalid_percent"] == "2.00"
    assert (body["active_webmasters"], body["active_advertisers"]) == (2, 1)
    assert body["invalid_by_reason"] == [{"reason": "bot", "events": 1}]
    web_login(client, "ops@example.org")
    page = client.get("/reports", params={**RANGE, "view": "network"}).text
    assert '<tr data-reason="bot"><td>Bot or crawler (by its user agent)</td>' in page
    assert body["fill_rate"] == "no slot views yet"
    response = client.get(
        "/api/v1/reports/network.csv", params={**RANGE, "by": "site"}, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 3 and all(len(r) == len(CSV_COLUMNS) for r in rows)
    by_label = {r[1]: r for r in rows[1:]}
    assert by_label["mine.example"][CSV_COLUMNS.index("spend")] == "1.40"
    assert by_label["other.example"][CSV_COLUMNS.index("views")] == "7"


def test_bad_queries_are_clear_4xx(client: TestClient, database: Database) -> None:
    _id, headers = _user(database, (Role.WEBMASTER,), "w@example.org")
    bad = client.get(
        "/api/v1/reports/webmaster",
        params={"from": "2026-11-20", "to": "2026-11-01"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "to"
    too_long = client.get(
        "/api/v1/reports/webmaster",
        params={"grain": "hour", "from": "2026-01-01", "to": "2026-11-01"},
        headers=headers,
    )
    assert too_long.status_code == 422
    assert client.get("/api/v1/reports/webmaster").status_code == 401


def test_pages_render_svg_and_escape(
    client: TestClient, database: Database, settings: Settings
) -> None:
    n = _network(database, settings)
    with database.transaction() as session:
        site = session.get(Site, n["my_site"])
        assert site is not None
        site.domain = "<script>alert(1)</script>.example"
    with database.transaction() as session:
        make_user(session, roles=(Role.WEBMASTER, Role.ADVERTISER), email="both@example.org")
    web_login(client, "mine@example.org")
    page = client.get("/reports", params={**RANGE, "by": "site"})
    assert page.status_code == 200
    assert "<svg" in page.text and "Earnings (USD)" in page.text
    assert 'href="/reports"' in page.text  # the navigation link
    assert "0.98 USD" in page.text
    csv_page = client.get("/reports/webmaster.csv", params={**RANGE, "by": "site"})
    assert (
        "&lt;script&gt;" not in csv_page.text
        and "<script>alert(1)</script>.example" in csv_page.text
    )
    top = client.get("/reports", params={**RANGE, "view": "webmaster"})
    assert "<script>alert(1)" not in top.text
    assert client.get("/reports", params={"view": "network"}).status_code == 403


def test_health_shows_lag(client: TestClient, database: Database, settings: Settings) -> None:
    _id, headers = _user(database, (Role.ADMIN,), "ops@example.org")
    now = datetime.now(UTC)
    with database.transaction() as session:
        insert_billed_events(
            session,
            [event(now - timedelta(hours=3), billable=1000), event(now - timedelta(minutes=1))],
        )
    body = client.get("/api/v1/reports/health", headers=headers).json()
    assert body["stale"] is True
    assert body["rollup_lag_seconds"] >= 3 * 3600 - 5
    assert body["billing_lag_seconds"] >= 3 * 3600 - 5  # nothing billed yet in this test
    assert any("rollups" in w for w in body["warnings"])
    web_login(client, "ops@example.org")
    page = client.get("/reports")
    assert 'data-testid="stale-warning"' in page.text and "Pipeline health" in page.text
    # Rolling up the recent hours covers the newest event: the rollup lag is gone.
    rollup.rollup_recent(database, settings)
    rollup.rollup_days(database, settings, (now - timedelta(hours=3)).date(), now.date())
    body = client.get("/api/v1/reports/health", headers=headers).json()
    assert body["rollup_lag_seconds"] == 0
    metrics = client.get("/metrics").text
    assert "adunion_rollup_lag_seconds" in metrics


def test_totals_cover_the_whole_range_when_rows_are_limited(
    client: TestClient, database: Database, settings: Settings
) -> None:
    n = _network(database, settings)
    mine = {"Authorization": n["mine_auth"]}
    hourly = {**RANGE, "from": "2026-11-20", "grain": "hour"}
    full = client.get("/api/v1/reports/webmaster", params=hourly, headers=mine).json()
    assert len(full["rows"]) == 1  # all 40 views and 2 clicks in the 10:00 hour
    both_days = {"from": "2026-11-19", "to": "2026-11-20"}
    with database.transaction() as session:
        insert_billed_events(
            session,
            [
                event(
                    START - timedelta(days=1),
                    site=n["my_site"],
                    publisher=n["mine"],
                    slot="slot-m",
                    billable=10_000,
                )
            ],
        )
    rollup.rollup_days(database, settings, DAY - timedelta(days=1), DAY)
    one_row = client.get(
        "/api/v1/reports/webmaster", params={**both_days, "limit": 1}, headers=mine
    ).json()
    every_row = client.get("/api/v1/reports/webmaster", params=both_days, headers=mine).json()
    assert len(one_row["rows"]) == 1 and len(every_row["rows"]) == 2
    assert one_row["totals"] == every_row["totals"]
    assert every_row["totals"][0]["views"] == 41

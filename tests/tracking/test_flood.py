"""A flood of events with bad tokens cannot fill the disk: each address's requests count against
its limit before the token is read, the first few bad-token events per address and minute are
stored (risk sees them with their reason) and the rest are only counted — per day in
``tracking_unstored``, in the process's metrics and in the network report. Valid events are
never dropped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.kernel.ratelimit import MemoryCounter
from adunion.tracking.models import TrackingEvent, UnstoredEvents
from tests.factories import drain_events, make_token, make_user, web_login

from .conftest import UA

NOW = 1_796_000_000.0  # the rate counters' one fixed minute: no window rolls over mid-test


def _today() -> date:
    return datetime.now(UTC).date()  # the events' own UTC day (they are stamped with real time)


def _rows(database: Database) -> list[TrackingEvent]:
    with database.transaction(write=False) as session:
        return list(session.scalars(select(TrackingEvent).order_by(TrackingEvent.id)))


def _unstored(database: Database) -> dict[tuple[date, str], int]:
    with database.transaction(write=False) as session:
        return {(u.day, u.reason): u.events for u in session.scalars(select(UnstoredEvents))}


@pytest.fixture
def behind_proxy(settings: Settings) -> None:
    """X-Forwarded-For names the sender (the test client is the trusted proxy)."""
    settings.trusted_proxies = "testclient"


@pytest.fixture
def tight_ip_limit(settings: Settings) -> None:
    settings.fraud_ip_events_per_minute = 10


def _in_one_minute(app: FastAPI) -> None:
    app.state.intake.rate_counter = MemoryCounter(clock=lambda: NOW)


def _view_path(client: TestClient, visitor: str, **headers: str) -> str:
    ad: dict[str, Any] = client.get(
        "/api/v1/decision", params={"slot": "slot-1", "visitor": visitor}, headers=headers
    ).json()
    return urlsplit(ad["view_url"]).path


def test_a_bad_token_flood_is_sampled_per_address_and_counted(
    behind_proxy: None, app: FastAPI, database: Database
) -> None:
    _in_one_minute(app)
    flood, other = {"x-forwarded-for": "198.51.100.7"}, {"x-forwarded-for": "203.0.113.8"}
    with TestClient(app, headers={"user-agent": UA}) as client:
        for i in range(300):
            answer = client.post(f"/t/v/garbage{i}.x", headers=flood)
            assert answer.status_code == 204  # answered alike: the sender learns nothing
        for i in range(3):
            assert client.get(f"/t/c/garbage{i}.x", headers=other).status_code == 400
        # A valid view from the flooding address is stored as ever (300 < 600 a minute).
        assert client.post(_view_path(client, "v-1"), headers=flood).status_code == 204
        drain_events(client)
        metrics = client.get("/metrics").text
        assert 'adunion_tracking_unstored_events_total{reason="tampered_token"} 280.0' in metrics
    rows = _rows(database)
    tampered = [r for r in rows if r.invalid_reason == "tampered_token"]
    flood_hash = app.state.intake.ip_hash("198.51.100.7")
    assert sum(1 for r in tampered if r.ip_hash == flood_hash) == 20  # the sample
    assert sum(1 for r in tampered if r.ip_hash != flood_hash) == 3  # another address's own
    assert [(r.event_type, r.valid) for r in rows if r.invalid_reason is None] == [("view", True)]
    # Stopping the app flushed the count: 280 more were counted, not stored.
    assert _unstored(database) == {(_today(), "tampered_token"): 280}


def test_bad_tokens_count_against_the_address_limit(
    tight_ip_limit: None, app: FastAPI, database: Database
) -> None:
    """Counted before the token is read: an address that sent garbage has used its allowance,
    and its next real view is stored as rate-limited (kept, never billed), not dropped."""
    _in_one_minute(app)
    with TestClient(app, headers={"user-agent": UA}) as client:
        for i in range(10):
            client.post(f"/t/v/garbage{i}.x")
        assert client.post(_view_path(client, "v-1")).status_code == 204
        drain_events(client)
    views = [r for r in _rows(database) if r.offer_id and r.invalid_reason != "tampered_token"]
    assert [(r.valid, r.invalid_reason, r.billable_micros) for r in views] == [
        (False, "ip_rate_limit", 0)
    ]


def test_an_ipv6_sender_is_counted_by_its_64_prefix(
    behind_proxy: None, app: FastAPI, database: Database
) -> None:
    """A host picks any address in its /64 at will: the sample is per /64, not per address."""
    _in_one_minute(app)
    with TestClient(app, headers={"user-agent": UA}) as client:
        for i in range(40):
            client.post(
                f"/t/v/garbage{i}.x", headers={"x-forwarded-for": f"2001:db8:5:7::{i + 1:x}"}
            )
        client.post("/t/v/garbage.x", headers={"x-forwarded-for": "2001:db8:5:8::1"})
        drain_events(client)
    assert len(_rows(database)) == 20 + 1  # one /64's sample, and another /64's first
    assert _unstored(database) == {(_today(), "tampered_token"): 20}


def test_the_network_report_shows_what_was_counted_and_not_stored(
    client: TestClient, database: Database
) -> None:
    with database.transaction() as session:
        session.add(UnstoredEvents(day=_today(), reason="tampered_token", events=4_321))
        admin = make_user(session, roles=(Role.ADMIN,), email="ops@example.org")
        _token, plaintext = make_token(session, admin, ("reports:read",))
    day = _today().isoformat()
    body = client.get(
        "/api/v1/reports/network",
        params={"from": day, "to": day},
        headers={"Authorization": f"Bearer {plaintext}"},
    ).json()
    assert body["unstored_invalid_by_reason"] == [{"reason": "tampered_token", "events": 4321}]
    web_login(client, "ops@example.org")
    page = client.get("/reports", params={"from": day, "to": day, "view": "network"}).text
    assert '<tr data-unstored-reason="tampered_token"><td>Tracking link altered' in page
    assert "4,321" in page

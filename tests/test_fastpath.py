"""The fast path answers decisions exactly as the FastAPI route does, and fails as the app does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.serving import endpoints
from adunion.serving.index import build_index
from tests.tracking.conftest import CPC, SLOT, UA


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings, database=database)
    holder = app.state.serving.holder
    holder.loader = None
    holder.current = build_index("test", [SLOT], [CPC])
    with TestClient(app, raise_server_exceptions=False, headers={"user-agent": UA}) as c:
        yield c


def _without_offer(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if not k.endswith("_url") and k != "offer"}


def test_fast_path_answers_as_the_route_does(client: TestClient) -> None:
    fast = client.get("/api/v1/decision", params={"slot": "slot-1", "visitor": "v-1"})
    routed = client.get("/serve/slot-1/decision.json", params={"visitor": "v-2"})
    assert fast.status_code == routed.status_code == 200
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert fast.headers["access-control-allow-origin"] == "*"
    assert fast.headers["cache-control"] == "no-store"
    assert int(fast.headers["content-length"]) == len(fast.content)
    assert _without_offer(fast.json()) == _without_offer(routed.json())
    assert fast.json()["view_url"].startswith("http://127.0.0.1:8000/t/v/")  # ADUNION_BASE_URL


def test_tracking_links_point_to_the_configured_base_url_whatever_the_host_header(
    client: TestClient,
) -> None:
    """A forged Host header cannot point an ad's beacons and click elsewhere: the links are
    built from ``ADUNION_BASE_URL`` (here the default, http://127.0.0.1:8000)."""
    forged = {"host": "evil.example:8080"}
    answers = [
        client.get("/api/v1/decision?slot=slot-1", headers=forged).json(),
        client.get("/serve/slot-1/decision.json", headers=forged).json(),
        client.post("/api/v1/decision", json={"slot": "slot-1"}, headers=forged).json(),
    ]
    for body in answers:
        for link in ("view_url", "click_url", "viewable_url"):
            assert body[link].startswith("http://127.0.0.1:8000/t/"), body
    frame = client.get("/serve/slot-1/frame", headers=forged).text
    assert "evil.example" not in frame
    assert 'src="http://127.0.0.1:8000/t/v/' in frame
    assert 'href="http://127.0.0.1:8000/t/c/' in frame


def test_fast_path_unknown_slot_and_other_requests(client: TestClient) -> None:
    missing = client.get("/api/v1/decision", params={"slot": "nope"})
    assert missing.status_code == 404
    assert missing.json() == {"slot": "nope", "filled": False, "reason": "unknown_slot"}
    posted = client.post("/api/v1/decision", json={"slot": "slot-1", "visitor": "v-3"})
    assert posted.status_code == 200 and posted.json()["filled"]  # left to FastAPI
    assert client.get("/healthz").status_code == 200


def test_fast_path_error_is_logged_and_answered_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("index corrupted")

    monkeypatch.setattr(endpoints, "view_answer", broken)
    response = client.get("/api/v1/decision", params={"slot": "slot-1"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "index corrupted" not in response.text

from __future__ import annotations

from fastapi.testclient import TestClient

from adunion.accounts import repository as accounts_repository
from adunion.accounts import service as accounts
from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.simulate.traffic import Simulator, TrafficConfig, load_slots
from adunion.simulate.world import build_demo
from tests.factories import user_with_token


def test_live_reach_for_advertisers_and_operators(settings: Settings, database: Database) -> None:
    with database.transaction() as session:
        build_demo(session, settings, webmasters=3)
        advertiser = accounts_repository.user_by_email(session, "advertiser1@example.com")
        assert advertiser is not None
        _token, secret = accounts.create_api_token(
            session, advertiser, name="t", scopes=["reports:read"]
        )
    with database.transaction(write=False) as session:
        slots = load_slots(session)
    _, operator = user_with_token(database, roles=(Role.RISK,), scopes=("reports:read",))
    _, webmaster = user_with_token(database, roles=(Role.WEBMASTER,), scopes=("reports:read",))
    settings.trusted_proxies = "testclient"
    with TestClient(create_app(settings, database=database)) as client:
        config = TrafficConfig(
            base_url="http://testserver",
            views_per_second=500,
            max_views=200,
            visitors=50,
            bot_share=0.0,
            fraud_click_share=0.0,
            seed=5,
        )
        simulator = Simulator(config, slots, client=client)
        assert simulator.wait_until_serving()
        simulator.run()
        network = client.get("/api/v1/reports/reach/live", headers=operator)
        mine = client.get(
            "/api/v1/reports/reach/live", headers={"Authorization": f"Bearer {secret}"}
        )
        refused = client.get("/api/v1/reports/reach/live", headers=webmaster)
    assert network.status_code == 200, network.text
    assert 0 < network.json()["visitors"] <= 55  # 50 simulated visitors (+ sketch error)
    assert network.json()["campaigns"] > mine.json()["campaigns"] >= 1
    assert 0 <= mine.json()["visitors"] <= network.json()["visitors"]
    assert refused.status_code == 403

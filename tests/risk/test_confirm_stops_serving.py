"""End to end: a confirmed CTR flag suspends the site, and the next index refresh stops its ads."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from adunion.kernel.db import Database
from adunion.risk import service
from tests.risk.helpers import serving_stat
from tests.serving.network import decide, go_live, runtime, setup_network


def test_confirmed_flag_takes_the_site_out_of_serving(
    client: TestClient, database: Database
) -> None:
    net = setup_network(client, database)
    slot_id, site_id = net["slot"]["id"], net["site"]["id"]
    go_live(client, database, net)
    holder = runtime(client).holder
    holder.refresh()
    assert decide(client, slot_id)["filled"] is True

    with database.transaction() as session:
        session.add_all(
            [
                serving_stat("other-site", 100_000, 200, slot_id="other-slot"),
                serving_stat(site_id, 2_000, 60, slot_id=slot_id),
            ]
        )
        session.flush()
        [flag] = service.scan(session, window_end=date(2026, 11, 25)).new_flags
        flag_id = flag.id
    confirmed = client.post(
        f"/api/v1/risk/site-flags/{flag_id}/resolve",
        json={"action": "confirm"},
        headers=net["risk"],
    )
    assert confirmed.status_code == 200, confirmed.text
    assert decide(client, slot_id)["filled"] is True  # the live index serves until it refreshes
    assert holder.refresh() is True
    gone = client.get("/api/v1/decision", params={"slot": slot_id, "visitor": "v1"})
    assert gone.status_code == 404  # a suspended site's slots are not in the index at all
    assert gone.json() == {"slot": slot_id, "filled": False, "reason": "unknown_slot"}

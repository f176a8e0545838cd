"""Every list that grows with the network is paged: ``limit``, ``offset`` and ``X-Total-Count``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import user_with_token
from tests.inventory.helpers import (
    CAMPAIGN,
    TEXT_AD,
    advertiser,
    create_site,
    operator,
    webmaster,
)

WALLET = ("wallet:read", "wallet:write")


def five_campaigns(client: TestClient, database: Database) -> tuple[str, dict[str, str]]:
    _, adv = advertiser(database)
    for n in range(5):
        made = client.post("/api/v1/campaigns", json={**CAMPAIGN, "name": f"C{n}"}, headers=adv)
        assert made.status_code == 201, made.text
    return "/api/v1/campaigns", adv


def five_sites(client: TestClient, database: Database) -> tuple[str, dict[str, str]]:
    _, wm = webmaster(database)
    for n in range(5):
        create_site(client, wm, f"site{n}.example")
    return "/api/v1/sites", wm


def five_sites_for_operators(client: TestClient, database: Database) -> tuple[str, dict[str, str]]:
    five_sites(client, database)
    _, risk = operator(database)
    return "/api/v1/admin/sites?status=pending", risk


def five_deposits(client: TestClient, database: Database) -> tuple[str, dict[str, str]]:
    _, customer = user_with_token(database, roles=(Role.ADVERTISER,), scopes=WALLET)
    for n in range(5):
        made = client.post(
            "/api/v1/wallet/deposits",
            json={"amount": f"{n + 10}.00", "currency": "USD"},
            headers={**customer, "Idempotency-Key": f"deposit-{n}"},
        )
        assert made.status_code == 201, made.text
    return "/api/v1/wallet/deposits", customer


def five_deposits_for_finance(client: TestClient, database: Database) -> tuple[str, dict[str, str]]:
    five_deposits(client, database)
    _, finance = user_with_token(database, roles=(Role.FINANCE,), scopes=("finance",))
    return "/api/v1/finance/deposits", finance


def five_creatives_to_review(client: TestClient, database: Database) -> tuple[str, dict[str, str]]:
    _, adv = advertiser(database)
    campaign = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=adv).json()
    for n in range(5):
        made = client.post(
            f"/api/v1/campaigns/{campaign['id']}/creatives",
            json={**TEXT_AD, "name": f"Ad {n}"},
            headers=adv,
        )
        assert made.status_code == 201, made.text
    _, risk = operator(database)
    return "/api/v1/moderation/creatives", risk


def five_users(client: TestClient, database: Database) -> tuple[str, dict[str, str]]:
    for _ in range(4):
        user_with_token(database)
    _, admin = user_with_token(database, roles=(Role.ADMIN,), scopes=("users:admin",))
    return "/api/v1/admin/users", admin


LISTS: dict[str, Callable[[TestClient, Database], tuple[str, dict[str, str]]]] = {
    "campaigns": five_campaigns,
    "sites": five_sites,
    "admin sites": five_sites_for_operators,
    "deposits": five_deposits,
    "finance deposits": five_deposits_for_finance,
    "moderation queue": five_creatives_to_review,
    "users": five_users,
}


@pytest.mark.parametrize("kind", LISTS)
def test_a_list_comes_a_page_at_a_time_with_its_total(
    kind: str, client: TestClient, database: Database
) -> None:
    path, headers = LISTS[kind](client, database)
    whole = client.get(path, headers=headers)
    assert whole.status_code == 200, whole.text
    assert whole.headers["X-Total-Count"] == "5" and len(whole.json()) == 5
    ids: list[str] = []
    for offset, expected in ((0, 2), (2, 2), (4, 1), (6, 0)):
        page = client.get(path, params={"limit": 2, "offset": offset}, headers=headers)
        assert page.status_code == 200, page.text
        assert page.headers["X-Total-Count"] == "5"
        assert len(page.json()) == expected
        ids += [row["id"] for row in page.json()]
    assert ids == [row["id"] for row in whole.json()]

    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "ten"}):
        wrong = client.get(path, params=bad, headers=headers)
        assert wrong.status_code == 422, bad
        assert wrong.json()["error"]["fields"][0]["field"] == next(iter(bad))

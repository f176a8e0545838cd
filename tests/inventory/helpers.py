"""Helpers shared by the inventory and campaign tests: users with the right tokens, images."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from PIL import Image

from adunion.inventory.formats import SlotFormat
from adunion.inventory.models import AdSlot, Site, SiteStatus
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import user_with_token

WEBMASTER_SCOPES = ("inventory:read", "inventory:write")
ADVERTISER_SCOPES = ("campaigns:read", "campaigns:write", "inventory:read")
OPERATOR_SCOPES = ("moderation",)
# A valid text creative, as the API takes it.
TEXT_AD = {
    "kind": "text",
    "name": "Text ad",
    "landing_url": "https://shop.example/spring",
    "headline": "Fresh bread",
    "body": "Baked every morning.",
    "display_url": "shop.example",
}


def webmaster(database: Database) -> tuple[str, dict[str, str]]:
    return user_with_token(database, roles=(Role.WEBMASTER,), scopes=WEBMASTER_SCOPES)


def advertiser(database: Database) -> tuple[str, dict[str, str]]:
    return user_with_token(database, roles=(Role.ADVERTISER,), scopes=ADVERTISER_SCOPES)


def operator(database: Database, role: Role = Role.RISK) -> tuple[str, dict[str, str]]:
    return user_with_token(database, roles=(role,), scopes=OPERATOR_SCOPES)


def image_bytes(width: int = 300, height: int = 250, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (36, 84, 214)).save(buffer, format=fmt)
    return buffer.getvalue()


def create_site(
    client: TestClient, headers: dict[str, str], domain: str = "bakery.example"
) -> dict[str, object]:
    response = client.post(
        "/api/v1/sites",
        json={"domain": domain, "category": "IAB8", "description": "Bread"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


SLOT = {
    "name": "Sidebar",
    "format": "300x250",
    "accepts_booking": True,
    "price_per_day_micros": 5_000_000,
    "accepts_auction": True,
    "floor_cpm_micros": 1_500_000,
}

CAMPAIGN = {
    "name": "Spring sale",
    "pricing": "cpc",
    "bid_micros": 250_000,
    "daily_budget_micros": 10_000_000,
    "total_budget_micros": 100_000_000,
    "starts_at": "2030-01-01T00:00:00Z",
    "ends_at": "2030-02-01T00:00:00Z",
}


def fund(database: Database, user_id: str, amount: int = 50_000_000, currency: str = "USD") -> None:
    """Put money in the advertiser's wallet the way a confirmed deposit does (cash -> customer)."""
    from adunion import ledger
    from adunion.kernel.ids import new_id
    from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account

    with database.transaction() as session:
        cash = platform_account(session, PlatformAccount.CASH, currency)
        customer = customer_account(session, user_id, currency)
        ledger.transfer(
            session,
            id=new_id(),
            debit_account_id=cash.id,
            credit_account_id=customer.id,
            amount=amount,
            currency=currency,
            code="deposit",
        )


def verified_site_with_slots(
    database: Database, owner_id: str, count: int, domain: str = "many.example"
) -> list[str]:
    """A verified site with ``count`` auction slots all created in the same instant (so only
    the id orders them), cheapest first by floor; returns their ids."""
    created = datetime(2026, 11, 1, 9, tzinfo=UTC)
    with database.transaction() as session:
        site = Site(
            owner_id=owner_id,
            domain=domain,
            category="IAB8",
            verification_token="t" * 32,
            status=SiteStatus.VERIFIED,
            verified_at=created,
        )
        session.add(site)
        slots = [
            AdSlot(
                owner_id=owner_id,
                site=site,
                name=f"Slot {n:03d}",
                format=SlotFormat.MEDIUM_RECTANGLE,
                currency="EUR",
                accepts_auction=True,
                floor_cpm_micros=1_000_000 + 1_000 * (n // 10),
                created_at=created,
            )
            for n in range(count)
        ]
        session.add_all(slots)
        session.flush()
        return [slot.id for slot in slots]

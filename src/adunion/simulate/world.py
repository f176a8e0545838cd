"""Build the demo network through the real services: webmasters with verified sites and slots,
advertisers with funded wallets and active campaigns whose generated banners were approved by
a risk operator, and one operator per role. Deterministic for a given seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from adunion.accounts import security
from adunion.accounts import service as accounts
from adunion.accounts.models import User
from adunion.campaigns import service as campaigns
from adunion.campaigns.models import CampaignStatus, Pricing
from adunion.campaigns.schemas import CampaignIn, ImageCreativeFields, TargetingIn
from adunion.config import Settings
from adunion.inventory import service as inventory
from adunion.inventory.formats import SlotFormat
from adunion.inventory.models import SiteStatus
from adunion.inventory.schemas import SiteIn, SlotIn
from adunion.kernel.principal import Role
from adunion.simulate.banners import banner_png
from adunion.wallet import service as wallet

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed for the demo's visitors, by design
ADMIN_EMAIL = "admin@example.com"
OPERATORS = {
    ADMIN_EMAIL: ("Ada Admin", Role.ADMIN),
    "finance@example.com": ("Fin Finance", Role.FINANCE),
    "risk@example.com": ("Rex Risk", Role.RISK),
}
SITE_TOPICS = [
    ("IAB8", "recipes"),
    ("IAB20", "travel"),
    ("IAB19", "gadgets"),
    ("IAB17", "football"),
    ("IAB10", "garden"),
    ("IAB16", "pets"),
    ("IAB7", "fitness"),
    ("IAB12", "localnews"),
    ("IAB9", "knitting"),
    ("IAB2", "cars"),
    ("IAB18", "fashion"),
    ("IAB5", "study"),
]
BRANDS = [
    ("Trail Shoes", "IAB17"),
    ("Spice Market", "IAB8"),
    ("Bright Bank", "IAB13"),
    ("Sky Air", "IAB20"),
    ("Pocket Phone", "IAB19"),
    ("Green Thumb", "IAB10"),
    ("Paw Friends", "IAB16"),
    ("Fit Club", "IAB7"),
    ("Yarn Barn", "IAB9"),
    ("Auto Parts Co", "IAB2"),
    ("Style Box", "IAB18"),
    ("Learn Fast", "IAB5"),
]
SLOT_FORMATS = [
    SlotFormat.MEDIUM_RECTANGLE,
    SlotFormat.LEADERBOARD,
    SlotFormat.WIDE_SKYSCRAPER,
    SlotFormat.MOBILE_BANNER,
]
UNIT = 1_000_000


@dataclass
class DemoSummary:
    created: bool
    logins: list[tuple[str, str]] = field(default_factory=list)  # (role, e-mail)
    webmasters: int = 0
    sites: int = 0
    slots: int = 0
    advertisers: int = 0
    campaigns: int = 0
    creatives: int = 0


def demo_exists(session: Session) -> bool:
    return session.scalars(select(User.id).where(User.email == ADMIN_EMAIL)).first() is not None


def _user(session: Session, email: str, name: str, roles: list[Role]) -> User:
    password_hash = security.hash_password(DEMO_PASSWORD)
    return accounts.sign_up(
        session, email=email, password_hash=password_hash, display_name=name, roles=roles
    )


def build_demo(
    session: Session, settings: Settings, *, webmasters: int = 30, seed: int = 7
) -> DemoSummary:
    """Create the demo network in ``session`` (the caller commits). Nothing if it exists."""
    summary = DemoSummary(created=False)
    for email, (_name, role) in OPERATORS.items():
        summary.logins.append((role.value, email))
    summary.logins += [
        ("webmaster", "webmaster1@example.com"),
        ("advertiser", "advertiser1@example.com"),
    ]
    if demo_exists(session):
        return summary
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not a secret
    operators = {
        role: _user(session, email, name, [role]) for email, (name, role) in OPERATORS.items()
    }
    currency = settings.currency

    for n in range(1, webmasters + 1):
        owner = _user(session, f"webmaster{n}@example.com", f"Webmaster {n}", [Role.WEBMASTER])
        summary.webmasters += 1
        for s in range(rng.choice([1, 1, 2])):
            category, topic = SITE_TOPICS[(n + s) % len(SITE_TOPICS)]
            site = inventory.create_site(
                session,
                owner.id,
                SiteIn(
                    domain=f"{topic}-{n}{'abcdefgh'[s]}.example",
                    category=category,
                    description=f"A small {topic} site",
                ),
            )
            inventory.set_site_status(session, site.id, SiteStatus.VERIFIED, "demo network")
            summary.sites += 1
            for position, slot_format in enumerate(rng.sample(SLOT_FORMATS, rng.choice([2, 3]))):
                inventory.create_slot(
                    session,
                    owner.id,
                    site.id,
                    SlotIn(
                        name=f"{slot_format.label} {position + 1}",
                        format=slot_format,
                        accepts_auction=True,
                        floor_cpm_micros=rng.choice([100_000, 250_000, 500_000]),
                        accepts_booking=position == 0,
                        price_per_day_micros=5 * UNIT if position == 0 else None,
                    ),
                    currency=currency,
                )
                summary.slots += 1

    for n, (brand, category) in enumerate(BRANDS, start=1):
        owner = _user(session, f"advertiser{n}@example.com", brand, [Role.ADVERTISER])
        summary.advertisers += 1
        funds = rng.choice([500, 1_000, 2_000, 5_000]) * UNIT
        deposit, _ = wallet.request_deposit(
            session,
            settings,
            owner_id=owner.id,
            amount=funds,
            currency=currency,
            provider="bank_transfer",
        )
        wallet.confirm_bank_deposit(
            session, deposit.id, received=funds, staff_id=operators[Role.FINANCE].id
        )
        for c in range(rng.choice([1, 2])):
            pricing = Pricing.CPM if c == 1 else Pricing.CPC
            bid = (
                rng.choice([2, 3, 4]) * UNIT
                if pricing is Pricing.CPM
                else rng.choice([10, 20, 35, 50, 80]) * 10_000
            )
            campaign = campaigns.create_campaign(
                session,
                owner.id,
                CampaignIn(
                    name=f"{brand} {'awareness' if pricing is Pricing.CPM else 'clicks'}",
                    pricing=pricing,
                    bid_micros=bid,
                    daily_budget_micros=rng.choice([20, 50, 100]) * UNIT,
                    total_budget_micros=funds,
                    targeting=TargetingIn(categories=[category] if c == 0 and n % 3 == 0 else []),
                ),
                currency=currency,
            )
            summary.campaigns += 1
            for k, slot_format in enumerate(SLOT_FORMATS[: rng.choice([2, 3, 4])]):
                data = banner_png(
                    slot_format,
                    brand,
                    rng.choice(["New season", "Free delivery", "-20% today"]),
                    n + k,
                )
                creative = campaigns.add_image_creative(
                    session,
                    owner.id,
                    campaign.id,
                    ImageCreativeFields(
                        name=f"{brand} {slot_format.value}",
                        format=slot_format,
                        landing_url=f"https://{brand.lower().replace(' ', '')}.example/",
                    ),
                    data=data,
                    content_type="image/png",
                )
                campaigns.moderate(
                    session,
                    creative.id,
                    approve=True,
                    reason="",
                    operator_id=operators[Role.RISK].id,
                )
                summary.creatives += 1
            campaigns.set_campaign_status(session, owner.id, campaign.id, CampaignStatus.ACTIVE)
    summary.created = True
    return summary

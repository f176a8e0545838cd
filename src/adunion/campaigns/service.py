"""Campaign and creative operations, moderation, and the rules for going live.

Services never commit. A campaign becomes active only with an approved creative and a funded
wallet; the funding rule is a :data:`FundingCheck` so callers (and tests) can see what it reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from adunion.campaigns import repository
from adunion.campaigns.images import check_image
from adunion.campaigns.models import (
    Campaign,
    CampaignStatus,
    Creative,
    CreativeAsset,
    CreativeKind,
    ModerationStatus,
    Pricing,
)
from adunion.campaigns.schemas import (
    CampaignIn,
    CampaignUpdateIn,
    CreativeUpdateIn,
    HtmlCreativeIn,
    ImageCreativeFields,
    TextCreativeIn,
)
from adunion.inventory import repository as inventory_repository
from adunion.inventory.formats import SlotFormat
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from adunion.kernel.tenancy import get_owned
from adunion.wallet.accounts import customer_account

# (session, owner id, currency) -> may this advertiser's campaigns spend?
FundingCheck = Callable[[Session, str, str], bool]


def wallet_funding_check(session: Session, owner_id: str, currency: str) -> bool:
    """Funded = a positive *available* balance on the wallet's customer ledger account."""
    return customer_account(session, owner_id, currency).balance.available > 0


# --- campaigns ---------------------------------------------------------------------------------


def max_charge_micros(pricing: Pricing, bid_micros: int) -> int:
    """The most one billable event can cost: a click at a CPC bid, one impression (a thousandth,
    rounded down as serving prices it) at a CPM bid."""
    return bid_micros if pricing is Pricing.CPC else bid_micros // 1000


def _check_campaign(session: Session, body: CampaignIn) -> None:
    if body.daily_budget_micros > body.total_budget_micros:
        raise ValidationFailed.on("daily_budget_micros", "must not exceed the total budget")
    # Serving shows a campaign only while one more charge fits its daily budget: a bid whose one
    # charge is over it could never serve, so it is refused here rather than left to idle.
    if max_charge_micros(body.pricing, body.bid_micros) > body.daily_budget_micros:
        unit = "a click" if body.pricing is Pricing.CPC else "one impression (bid / 1,000)"
        raise ValidationFailed.on(
            "bid_micros", f"{unit} at this bid would cost more than the daily budget"
        )
    if body.starts_at and body.ends_at and body.ends_at <= body.starts_at:
        raise ValidationFailed.on("ends_at", "must be after starts_at")
    targeting = body.targeting
    for name in ("include_site_ids", "exclude_site_ids"):
        wanted: list[str] = getattr(targeting, name)
        missing = set(wanted) - inventory_repository.existing_site_ids(session, wanted)
        if missing:
            raise ValidationFailed.on(
                f"targeting.{name}", f"unknown site ids: {', '.join(sorted(missing))}"
            )
    overlap = set(targeting.include_site_ids) & set(targeting.exclude_site_ids)
    if overlap:
        raise ValidationFailed.on(
            "targeting.exclude_site_ids", "a site cannot be both included and excluded"
        )


def _apply(campaign: Campaign, body: CampaignIn) -> None:
    campaign.name = body.name
    campaign.pricing = body.pricing
    campaign.bid_micros = body.bid_micros
    campaign.daily_budget_micros = body.daily_budget_micros
    campaign.total_budget_micros = body.total_budget_micros
    campaign.starts_at = body.starts_at or campaign.starts_at or utcnow()
    campaign.ends_at = body.ends_at
    campaign.days_of_week = list(body.days_of_week)
    campaign.hours = list(body.hours)
    campaign.pacing = body.pacing
    campaign.frequency_cap = body.frequency_cap
    t = body.targeting
    campaign.target_categories = list(t.categories)
    campaign.include_site_ids = list(t.include_site_ids)
    campaign.exclude_site_ids = list(t.exclude_site_ids)
    campaign.target_formats = [str(f) for f in t.formats]
    campaign.target_devices = list(t.devices)
    campaign.target_countries = list(t.countries)
    campaign.keywords = list(t.keywords)


def create_campaign(
    session: Session, owner_id: str, body: CampaignIn, *, currency: str
) -> Campaign:
    _check_campaign(session, body)
    campaign = Campaign(owner_id=owner_id, currency=currency, status=CampaignStatus.DRAFT)
    if body.starts_at is None:
        campaign.starts_at = utcnow()
    _apply(campaign, body)
    session.add(campaign)
    session.flush()
    return campaign


def campaign_as_input(campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "pricing": campaign.pricing,
        "bid_micros": campaign.bid_micros,
        "daily_budget_micros": campaign.daily_budget_micros,
        "total_budget_micros": campaign.total_budget_micros,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "days_of_week": campaign.days_of_week,
        "hours": campaign.hours,
        "pacing": campaign.pacing,
        "frequency_cap": campaign.frequency_cap,
        "targeting": {
            "categories": campaign.target_categories,
            "include_site_ids": campaign.include_site_ids,
            "exclude_site_ids": campaign.exclude_site_ids,
            "formats": campaign.target_formats,
            "devices": campaign.target_devices,
            "countries": campaign.target_countries,
            "keywords": campaign.keywords,
        },
    }


def update_campaign(
    session: Session, owner_id: str, campaign_id: str, body: CampaignUpdateIn
) -> Campaign:
    campaign = get_owned(session, Campaign, campaign_id, owner_id)
    if campaign.status is CampaignStatus.ENDED:
        raise Conflict("an ended campaign cannot be changed")
    merged = campaign_as_input(campaign)
    for name in body.model_fields_set:
        value = getattr(body, name)
        merged[name] = value.model_dump() if hasattr(value, "model_dump") else value
    try:
        full = CampaignIn.model_validate(merged)
    except ValidationError as exc:
        fields = [
            FieldError(".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        raise ValidationFailed(f"{fields[0].field}: {fields[0].message}", fields) from None
    _check_campaign(session, full)
    _apply(campaign, full)
    return campaign


def set_campaign_status(
    session: Session,
    owner_id: str,
    campaign_id: str,
    status: CampaignStatus,
    *,
    funded: FundingCheck = wallet_funding_check,
    now: datetime | None = None,
) -> Campaign:
    campaign = get_owned(session, Campaign, campaign_id, owner_id)
    now = now or utcnow()
    current = campaign.status
    if current is CampaignStatus.ENDED:
        raise Conflict("status: the campaign has ended")
    if status is current:
        return campaign
    if status is CampaignStatus.ACTIVE:
        if campaign.ends_at is not None and campaign.ends_at <= now:
            raise ValidationFailed.on("ends_at", "has passed; move the end date to reactivate")
        if repository.approved_creative_count(session, campaign.id) == 0:
            raise ValidationFailed.on("status", "needs at least one approved creative")
        if not funded(session, campaign.owner_id, campaign.currency):
            raise ValidationFailed.on(
                "status", f"your {campaign.currency} wallet has no available balance; top up"
            )
    elif status is CampaignStatus.PAUSED and current is not CampaignStatus.ACTIVE:
        raise ValidationFailed.on("status", "only an active campaign can be paused")
    campaign.status = status
    return campaign


# --- creatives ---------------------------------------------------------------------------------


def _editable_campaign(session: Session, owner_id: str, campaign_id: str) -> Campaign:
    campaign = get_owned(session, Campaign, campaign_id, owner_id)
    if campaign.status is CampaignStatus.ENDED:
        raise Conflict("an ended campaign cannot take new creatives")
    return campaign


def add_creative(
    session: Session, owner_id: str, campaign_id: str, body: TextCreativeIn | HtmlCreativeIn
) -> Creative:
    campaign = _editable_campaign(session, owner_id, campaign_id)
    creative = Creative(
        owner_id=owner_id,
        campaign=campaign,
        name=body.name,
        landing_url=body.landing_url,
        moderation=ModerationStatus.PENDING,
    )
    if isinstance(body, TextCreativeIn):
        creative.kind = CreativeKind.TEXT
        creative.format = SlotFormat.TEXT
        creative.headline, creative.body, creative.display_url = (
            body.headline,
            body.body,
            body.display_url,
        )
    else:
        creative.kind = CreativeKind.HTML
        creative.format = body.format
        creative.html = body.html
    session.add(creative)
    session.flush()
    return creative


def add_image_creative(
    session: Session,
    owner_id: str,
    campaign_id: str,
    fields: ImageCreativeFields,
    *,
    data: bytes,
    content_type: str,
) -> Creative:
    campaign = _editable_campaign(session, owner_id, campaign_id)
    checked = check_image(data, content_type, fields.format)
    asset = CreativeAsset(
        owner_id=owner_id,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        size=len(data),
        data=data,
    )
    creative = Creative(
        owner_id=owner_id,
        campaign=campaign,
        kind=CreativeKind.IMAGE,
        name=fields.name,
        format=fields.format,
        landing_url=fields.landing_url,
        asset=asset,
        moderation=ModerationStatus.PENDING,
    )
    session.add_all([asset, creative])
    session.flush()
    return creative


_KIND_FIELDS = {
    CreativeKind.TEXT: {"headline", "body", "display_url"},
    CreativeKind.HTML: {"html"},
    CreativeKind.IMAGE: set(),
}


def update_creative(
    session: Session, owner_id: str, creative_id: str, body: CreativeUpdateIn
) -> Creative:
    """Change a creative; any change sends it back to moderation."""
    creative = get_owned(session, Creative, creative_id, owner_id)
    given = {name for name in body.model_fields_set if getattr(body, name) is not None}
    foreign = given - {"name", "landing_url"} - _KIND_FIELDS[creative.kind]
    if foreign:
        first = sorted(foreign)[0]
        raise ValidationFailed.on(first, f"does not apply to {creative.kind.value} creatives")
    changed = False
    for name in sorted(given):
        value = getattr(body, name)
        if getattr(creative, name) != value:
            setattr(creative, name, value)
            changed = True
    if changed:
        creative.moderation = ModerationStatus.PENDING
        creative.rejection_reason = ""
        creative.moderated_by = None
        creative.moderated_at = None
    return creative


def moderate(
    session: Session, creative_id: str, *, approve: bool, reason: str, operator_id: str
) -> Creative:
    creative = repository.creative_by_id(session, creative_id)
    if creative is None:
        raise NotFound("creative not found")
    if not approve and not reason.strip():
        raise ValidationFailed.on("reason", "say why the creative is rejected")
    creative.moderation = ModerationStatus.APPROVED if approve else ModerationStatus.REJECTED
    creative.rejection_reason = "" if approve else reason.strip()
    creative.moderated_by = operator_id
    creative.moderated_at = utcnow()
    return creative

"""Inventory operations: sites, their verification and status, slots, search, sellers.json.

Services never commit; the caller owns the transaction. Ownership checks go through
``kernel.tenancy`` so another webmaster's site or slot answers 404.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adunion.accounts import repository as accounts_repository
from adunion.config import Settings
from adunion.inventory import repository
from adunion.inventory.domains import normalise_subdomains
from adunion.inventory.models import AdSlot, Site, SiteStatus, SlotStatus, VerificationMethod
from adunion.inventory.schemas import SiteIn, SiteUpdateIn, SlotIn, SlotUpdateIn
from adunion.inventory.verification import CheckOutcome, check_ownership
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from adunion.kernel.tenancy import get_owned


def seller_id_of(owner_id: str) -> str:
    """The publisher id in ads.txt and sellers.json: the webmaster's account id."""
    return owner_id


# --- sites -------------------------------------------------------------------------------------


def create_site(session: Session, owner_id: str, body: SiteIn) -> Site:
    taken = Conflict("domain: already registered", [FieldError("domain", "already registered")])
    if repository.site_by_domain(session, body.domain) is not None:
        raise taken
    site = Site(
        owner_id=owner_id,
        domain=body.domain,
        subdomains=normalise_subdomains(body.domain, body.subdomains),
        category=body.category,
        description=body.description,
        status=SiteStatus.PENDING,
        verification_token=secrets.token_urlsafe(24),
    )
    session.add(site)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same domain
        raise taken from exc
    return site


def update_site(session: Session, owner_id: str, site_id: str, body: SiteUpdateIn) -> Site:
    site = get_owned(session, Site, site_id, owner_id)
    if body.category is not None:
        site.category = body.category
    if body.description is not None:
        site.description = body.description
    if body.subdomains is not None:
        site.subdomains = normalise_subdomains(site.domain, body.subdomains)
    return site


def record_check(session: Session, site: Site, outcome: CheckOutcome) -> Site:
    """Store a verification attempt; a success verifies a pending site (never a suspended one)."""
    site.last_check_at = utcnow()
    site.last_check_result = outcome.message[:2000]
    if outcome.method is not None and site.status is SiteStatus.PENDING:
        site.status = SiteStatus.VERIFIED
        site.verified_at = utcnow()
        site.verified_by = outcome.method
    return site


def run_check(settings: Settings, site: Site) -> CheckOutcome:
    """The network part of a check, to run outside any database transaction."""
    if site.status is SiteStatus.SUSPENDED:
        return CheckOutcome(None, "the site is suspended; only an operator can reinstate it")
    return check_ownership(
        settings,
        domain=site.domain,
        seller_id=seller_id_of(site.owner_id),
        token=site.verification_token,
    )


def set_site_status(session: Session, site_id: str, status: SiteStatus, note: str = "") -> Site:
    """Operators: verify by hand, suspend, or send back to pending."""
    site = repository.site_by_id(session, site_id)
    if site is None:
        raise NotFound("site not found")
    site.status = status
    if status is SiteStatus.VERIFIED:
        site.verified_at = utcnow()
        site.verified_by = VerificationMethod.OPERATOR
    elif status is SiteStatus.PENDING:
        site.verified_at = None
        site.verified_by = None
    if note:
        site.last_check_result = f"operator: {note}"[:2000]
        site.last_check_at = utcnow()
    return site


# --- slots -------------------------------------------------------------------------------------


def _check_sale_modes(
    *,
    accepts_booking: bool,
    price_per_day_micros: int | None,
    accepts_auction: bool,
    floor_cpm_micros: int | None,
    accepts_affiliate: bool,
) -> None:
    if not (accepts_booking or accepts_auction or accepts_affiliate):
        raise ValidationFailed.on("sale_modes", "choose at least one sale mode")
    if accepts_booking and price_per_day_micros is None:
        raise ValidationFailed.on("price_per_day_micros", "is required for time booking")
    if accepts_auction and floor_cpm_micros is None:
        raise ValidationFailed.on("floor_cpm_micros", "is required for the auction")


def create_slot(
    session: Session, owner_id: str, site_id: str, body: SlotIn, *, currency: str
) -> AdSlot:
    site = get_owned(session, Site, site_id, owner_id)
    _check_sale_modes(
        accepts_booking=body.accepts_booking,
        price_per_day_micros=body.price_per_day_micros,
        accepts_auction=body.accepts_auction,
        floor_cpm_micros=body.floor_cpm_micros,
        accepts_affiliate=body.accepts_affiliate,
    )
    slot = AdSlot(
        owner_id=owner_id,
        site=site,
        name=body.name,
        format=body.format,
        currency=currency,
        accepts_booking=body.accepts_booking,
        price_per_day_micros=body.price_per_day_micros if body.accepts_booking else None,
        accepts_auction=body.accepts_auction,
        floor_cpm_micros=body.floor_cpm_micros if body.accepts_auction else None,
        accepts_affiliate=body.accepts_affiliate,
        status=SlotStatus.ACTIVE,
    )
    session.add(slot)
    session.flush()
    return slot


def update_slot(session: Session, owner_id: str, slot_id: str, body: SlotUpdateIn) -> AdSlot:
    slot = get_owned(session, AdSlot, slot_id, owner_id)
    given = body.model_fields_set

    def pick(name: str, current: int | None) -> int | None:
        value: int | None = getattr(body, name)
        return value if name in given else current

    booking = slot.accepts_booking if body.accepts_booking is None else body.accepts_booking
    auction = slot.accepts_auction if body.accepts_auction is None else body.accepts_auction
    affiliate = slot.accepts_affiliate if body.accepts_affiliate is None else body.accepts_affiliate
    price = pick("price_per_day_micros", slot.price_per_day_micros)
    floor = pick("floor_cpm_micros", slot.floor_cpm_micros)
    _check_sale_modes(
        accepts_booking=booking,
        price_per_day_micros=price,
        accepts_auction=auction,
        floor_cpm_micros=floor,
        accepts_affiliate=affiliate,
    )
    if body.name is not None:
        slot.name = body.name
    if body.status is not None:
        slot.status = SlotStatus(body.status)
    slot.accepts_booking, slot.price_per_day_micros = booking, price if booking else None
    slot.accepts_auction, slot.floor_cpm_micros = auction, floor if auction else None
    slot.accepts_affiliate = affiliate
    return slot


# --- sellers.json ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seller:
    seller_id: str
    name: str
    domain: str


def sellers(session: Session) -> list[Seller]:
    """One entry per webmaster with at least one verified site (IAB sellers.json, PUBLISHER)."""
    found: dict[str, Seller] = {}
    for site in repository.verified_sites(session):
        if site.owner_id in found:
            continue
        user = accounts_repository.user_by_id(session, site.owner_id)
        if user is None or not user.is_active:
            continue
        found[site.owner_id] = Seller(seller_id_of(site.owner_id), user.display_name, site.domain)
    return list(found.values())

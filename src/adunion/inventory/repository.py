"""Inventory queries; the service decides, this only reads."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from adunion.inventory.formats import SlotFormat
from adunion.inventory.models import AdSlot, Site, SiteStatus, SlotStatus
from adunion.kernel.paging import Page, PageRequest, fetch_page
from adunion.kernel.tenancy import owned_by


def site_by_domain(session: Session, domain: str) -> Site | None:
    return session.scalars(select(Site).where(Site.domain == domain)).one_or_none()


def site_by_id(session: Session, site_id: str) -> Site | None:
    return session.get(Site, site_id)


def owned_sites_query(owner_id: str) -> Select[Site]:
    """The owner's sites, newest first."""
    return owned_by(Site, owner_id).order_by(Site.created_at.desc(), Site.id.desc())


def all_sites_query(status: SiteStatus | None = None) -> Select[Site]:
    """Every site (or those with ``status``), newest first."""
    query = select(Site).order_by(Site.created_at.desc(), Site.id.desc())
    return query if status is None else query.where(Site.status == status)


def existing_site_ids(session: Session, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.scalars(select(Site.id).where(Site.id.in_(ids))))


def verified_sites(session: Session) -> list[Site]:
    return list(
        session.scalars(
            select(Site).where(Site.status == SiteStatus.VERIFIED).order_by(Site.created_at)
        )
    )


@dataclass(frozen=True)
class SlotSearch:
    """What an advertiser looks for; every given filter must match."""

    category: str | None = None
    slot_format: SlotFormat | None = None
    sale_mode: str | None = None
    max_price_micros: int | None = None


def _search_query(search: SlotSearch) -> Select[AdSlot]:
    """Active slots on verified sites matching ``search``, in its order (cheapest first for a
    booking or auction search, else oldest first; the id breaks ties so pages never overlap).

    ``max_price_micros`` bounds the price of the chosen sale mode (price per day for booking,
    floor CPM for auction); without a mode, a slot matches when either price is within it.
    """
    query = (
        select(AdSlot)
        .join(Site, AdSlot.site_id == Site.id)
        .where(Site.status == SiteStatus.VERIFIED, AdSlot.status == SlotStatus.ACTIVE)
    )
    if search.category:
        query = query.where(Site.category == search.category)
    if search.slot_format is not None:
        query = query.where(AdSlot.format == search.slot_format)
    booking_ok: ColumnElement[bool] = AdSlot.accepts_booking.is_(True)
    auction_ok: ColumnElement[bool] = AdSlot.accepts_auction.is_(True)
    max_price = search.max_price_micros
    if max_price is not None:
        booking_ok = booking_ok & (AdSlot.price_per_day_micros <= max_price)
        auction_ok = auction_ok & (AdSlot.floor_cpm_micros <= max_price)
    if search.sale_mode == "booking":
        query = query.where(booking_ok).order_by(AdSlot.price_per_day_micros)
    elif search.sale_mode == "auction":
        query = query.where(auction_ok).order_by(AdSlot.floor_cpm_micros)
    elif search.sale_mode == "affiliate":
        query = query.where(AdSlot.accepts_affiliate.is_(True))
    elif max_price is not None:
        query = query.where(or_(booking_ok, auction_ok))
    return query.order_by(AdSlot.created_at, AdSlot.id)


def search_slots(session: Session, search: SlotSearch, page: PageRequest) -> Page[AdSlot]:
    """One page of the slots matching ``search``, and how many match in all."""
    return fetch_page(session, _search_query(search), page)


def domains_by_id(session: Session, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Site.id, Site.domain).where(Site.id.in_(ids)))
    return {row.id: row.domain for row in rows}

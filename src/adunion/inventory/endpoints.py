"""REST endpoints for inventory: sites, verification, slots, search, operators, sellers.json."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from adunion.accounts.auth import api_requires
from adunion.config import Settings
from adunion.http.deps import Context, DbSession
from adunion.http.paging import Paging, paged
from adunion.inventory import repository, service
from adunion.inventory.categories import CATEGORIES, category_name
from adunion.inventory.embed import embed_tag
from adunion.inventory.formats import SlotFormat
from adunion.inventory.models import AdSlot, Site, SiteStatus
from adunion.inventory.schemas import (
    CategoryOut,
    ListingOut,
    SaleMode,
    SellerOut,
    SellersJson,
    SiteIn,
    SiteOut,
    SiteStatusIn,
    SiteUpdateIn,
    SlotIn,
    SlotOut,
    SlotUpdateIn,
)
from adunion.inventory.verification import ads_txt_line, meta_tag
from adunion.kernel.errors import ValidationFailed
from adunion.kernel.paging import fetch_page
from adunion.kernel.principal import Principal, Role
from adunion.kernel.tenancy import get_owned

router = APIRouter(prefix="/api/v1", tags=["inventory"])
public_router = APIRouter(tags=["inventory"])

CanReadInventory = Annotated[Principal, Depends(api_requires("inventory:read", Role.WEBMASTER))]
CanWriteInventory = Annotated[Principal, Depends(api_requires("inventory:write", Role.WEBMASTER))]
CanSearch = Annotated[
    Principal, Depends(api_requires("inventory:read", Role.ADVERTISER, Role.WEBMASTER))
]
Moderator = Annotated[Principal, Depends(api_requires("moderation", Role.RISK, Role.ADMIN))]


def site_out(site: Site, settings: Settings) -> SiteOut:
    return SiteOut(
        id=site.id,
        domain=site.domain,
        subdomains=list(site.subdomains),
        category=site.category,
        category_name=category_name(site.category),
        description=site.description,
        status=site.status.value,
        verified_at=site.verified_at,
        verified_by=site.verified_by.value if site.verified_by else None,
        last_check_at=site.last_check_at,
        last_check_result=site.last_check_result,
        ads_txt_line=ads_txt_line(settings, service.seller_id_of(site.owner_id)),
        meta_tag=meta_tag(site.verification_token),
        created_at=site.created_at,
    )


def slot_out(slot: AdSlot, settings: Settings) -> SlotOut:
    size = slot.format.size
    return SlotOut(
        id=slot.id,
        site_id=slot.site_id,
        site_domain=slot.site.domain,
        name=slot.name,
        format=slot.format.value,
        width=size[0] if size else None,
        height=size[1] if size else None,
        currency=slot.currency,
        accepts_booking=slot.accepts_booking,
        price_per_day_micros=slot.price_per_day_micros,
        accepts_auction=slot.accepts_auction,
        floor_cpm_micros=slot.floor_cpm_micros,
        accepts_affiliate=slot.accepts_affiliate,
        status=slot.status.value,
        embed_tag=embed_tag(slot.id, slot.format, settings.base_url),
        created_at=slot.created_at,
    )


def listing_out(slot: AdSlot) -> ListingOut:
    return ListingOut(
        id=slot.id,
        site_id=slot.site_id,
        site_domain=slot.site.domain,
        site_category=slot.site.category,
        name=slot.name,
        format=slot.format.value,
        currency=slot.currency,
        accepts_booking=slot.accepts_booking,
        price_per_day_micros=slot.price_per_day_micros,
        accepts_auction=slot.accepts_auction,
        floor_cpm_micros=slot.floor_cpm_micros,
        accepts_affiliate=slot.accepts_affiliate,
    )


@router.get("/categories", operation_id="list_categories")
def list_categories() -> list[CategoryOut]:
    """The IAB content categories a site can declare and a campaign can target."""
    return [CategoryOut(id=key, name=name) for key, name in CATEGORIES.items()]


@router.get("/sites", operation_id="list_sites")
def list_sites(
    session: DbSession,
    ctx: Context,
    principal: CanReadInventory,
    page: Paging,
    response: Response,
) -> list[SiteOut]:
    """Your sites, newest first, a page at a time (``X-Total-Count``: how many in all)."""
    query = repository.owned_sites_query(principal.user_id)
    return [site_out(s, ctx.settings) for s in paged(response, fetch_page(session, query, page))]


@router.post("/sites", status_code=status.HTTP_201_CREATED, operation_id="create_site")
def create_site(
    body: SiteIn, session: DbSession, ctx: Context, principal: CanWriteInventory
) -> SiteOut:
    """Register a site (pending until verified by ads.txt, meta tag or an operator)."""
    return site_out(service.create_site(session, principal.user_id, body), ctx.settings)


@router.get("/sites/{site_id}", operation_id="get_site")
def get_site(
    site_id: str, session: DbSession, ctx: Context, principal: CanReadInventory
) -> SiteOut:
    return site_out(get_owned(session, Site, site_id, principal.user_id), ctx.settings)


@router.patch("/sites/{site_id}", operation_id="update_site")
def update_site(
    site_id: str,
    body: SiteUpdateIn,
    session: DbSession,
    ctx: Context,
    principal: CanWriteInventory,
) -> SiteOut:
    return site_out(service.update_site(session, principal.user_id, site_id, body), ctx.settings)


def check_site_now(ctx: Context, owner_id: str, site_id: str) -> Site:
    """Read, fetch with no transaction open (it can take seconds), then record the outcome."""
    with ctx.database.transaction(write=False) as session:
        site = get_owned(session, Site, site_id, owner_id)
        session.expunge(site)
    outcome = service.run_check(ctx.settings, site)
    with ctx.database.transaction() as session:
        fresh = get_owned(session, Site, site_id, owner_id)
        service.record_check(session, fresh, outcome)
        session.flush()
        session.refresh(fresh)
        session.expunge(fresh)
    return fresh


@router.post("/sites/{site_id}/verify", operation_id="verify_site")
def verify_site(site_id: str, ctx: Context, principal: CanWriteInventory) -> SiteOut:
    """Fetch the site's ads.txt and home page now; the answer says what was found."""
    return site_out(check_site_now(ctx, principal.user_id, site_id), ctx.settings)


@router.get("/sites/{site_id}/slots", operation_id="list_site_slots")
def list_site_slots(
    site_id: str, session: DbSession, ctx: Context, principal: CanReadInventory
) -> list[SlotOut]:
    site = get_owned(session, Site, site_id, principal.user_id)
    return [slot_out(slot, ctx.settings) for slot in site.slots]


@router.post(
    "/sites/{site_id}/slots", status_code=status.HTTP_201_CREATED, operation_id="create_slot"
)
def create_slot(
    site_id: str, body: SlotIn, session: DbSession, ctx: Context, principal: CanWriteInventory
) -> SlotOut:
    slot = service.create_slot(
        session, principal.user_id, site_id, body, currency=ctx.settings.currency
    )
    return slot_out(slot, ctx.settings)


@router.get("/slots/{slot_id}", operation_id="get_slot")
def get_slot(
    slot_id: str, session: DbSession, ctx: Context, principal: CanReadInventory
) -> SlotOut:
    """A slot with its embed tag."""
    return slot_out(get_owned(session, AdSlot, slot_id, principal.user_id), ctx.settings)


@router.patch("/slots/{slot_id}", operation_id="update_slot")
def update_slot(
    slot_id: str,
    body: SlotUpdateIn,
    session: DbSession,
    ctx: Context,
    principal: CanWriteInventory,
) -> SlotOut:
    return slot_out(service.update_slot(session, principal.user_id, slot_id, body), ctx.settings)


@router.get("/inventory/search", operation_id="search_slots")
def search_slots(
    session: DbSession,
    _principal: CanSearch,
    response: Response,
    page: Paging,
    category: Annotated[str | None, Query(max_length=10)] = None,
    format: Annotated[SlotFormat | None, Query()] = None,
    sale_mode: Annotated[SaleMode | None, Query()] = None,
    max_price_micros: Annotated[int | None, Query(gt=0)] = None,
) -> list[ListingOut]:
    """Active slots on verified sites, by category, format, sale mode and maximum price.

    One page of at most ``limit`` after the first ``offset``; ``X-Total-Count`` says how many
    match in all."""
    if category and category not in CATEGORIES:
        raise ValidationFailed.on("category", "is not a known IAB content category")
    search = repository.SlotSearch(
        category=category or None,
        slot_format=format,
        sale_mode=sale_mode,
        max_price_micros=max_price_micros,
    )
    found = paged(response, repository.search_slots(session, search, page))
    return [listing_out(slot) for slot in found]


@router.get("/admin/sites", operation_id="list_all_sites", tags=["operators"])
def list_all_sites(
    session: DbSession,
    ctx: Context,
    _operator: Moderator,
    page: Paging,
    response: Response,
    status: Annotated[SiteStatus | None, Query()] = None,
) -> list[SiteOut]:
    """Every site (or those with ``status``), newest first, a page at a time."""
    query = repository.all_sites_query(status)
    return [site_out(s, ctx.settings) for s in paged(response, fetch_page(session, query, page))]


@router.put("/admin/sites/{site_id}/status", operation_id="set_site_status", tags=["operators"])
def set_site_status(
    site_id: str, body: SiteStatusIn, session: DbSession, ctx: Context, _operator: Moderator
) -> SiteOut:
    """Verify a site by hand, suspend it, or send it back to pending."""
    site = service.set_site_status(session, site_id, SiteStatus(body.status), body.note)
    return site_out(site, ctx.settings)


@public_router.get("/sellers.json", operation_id="sellers_json")
def sellers_json(session: DbSession, ctx: Context) -> SellersJson:
    """IAB sellers.json: every webmaster with a verified site, as a PUBLISHER."""
    return SellersJson(
        contact_email=ctx.settings.contact_email,
        version="1.0",
        sellers=[
            SellerOut(seller_id=s.seller_id, name=s.name, domain=s.domain)
            for s in service.sellers(session)
        ],
    )

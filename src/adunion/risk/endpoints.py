"""Risk review over the API: per-site CTR flags, listed and resolved (risk or admin role,
``moderation`` scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from adunion.accounts.auth import api_requires
from adunion.http.deps import DbSession
from adunion.http.paging import Paging, paged
from adunion.kernel.principal import Principal, Role
from adunion.risk import service
from adunion.risk.models import FlagStatus, SiteFlag
from adunion.risk.schemas import ResolveFlagIn, SiteFlagOut

router = APIRouter(prefix="/api/v1", tags=["operators"])
RiskReviewer = Annotated[Principal, Depends(api_requires("moderation", Role.RISK, Role.ADMIN))]


def flag_out(flag: SiteFlag, domains: dict[str, str]) -> SiteFlagOut:
    return SiteFlagOut(
        id=flag.id,
        site_id=flag.site_id,
        site_domain=domains.get(flag.site_id),
        window_start=flag.window_start,
        window_end=flag.window_end,
        impressions=flag.impressions,
        clicks=flag.clicks,
        site_ctr_ppm=flag.site_ctr_ppm,
        network_ctr_ppm=flag.network_ctr_ppm,
        status=flag.status,
        resolved_by=flag.resolved_by,
        resolved_at=flag.resolved_at,
        resolution_note=flag.resolution_note,
    )


@router.get("/risk/site-flags", operation_id="list_site_flags")
def list_site_flags(
    session: DbSession,
    _reviewer: RiskReviewer,
    page: Paging,
    response: Response,
    status: FlagStatus = FlagStatus.OPEN,
) -> list[SiteFlagOut]:
    """Flags from ``adunion fraud scan`` with one status: open ones newest window first,
    resolved ones most recently resolved first; a page at a time (``X-Total-Count``)."""
    found = paged(response, service.flags(session, status, page))
    domains = service.site_domains(session, found)
    return [flag_out(f, domains) for f in found]


@router.post("/risk/site-flags/{flag_id}/resolve", operation_id="resolve_site_flag")
def resolve_site_flag(
    flag_id: str, body: ResolveFlagIn, session: DbSession, reviewer: RiskReviewer
) -> SiteFlagOut:
    """Dismiss (traffic fine) or confirm (invalid traffic: the site is suspended). Once only."""
    flag = service.resolve(
        session, flag_id, action=body.action, reviewer_id=reviewer.user_id, note=body.note
    )
    return flag_out(flag, service.site_domains(session, [flag]))

"""Risk review over the API: the open per-site CTR flags (risk or admin role, ``moderation``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from adunion.accounts.models import Role
from adunion.accounts.principal import Principal
from adunion.fraud import service
from adunion.http.deps import DbSession, api_requires

router = APIRouter(prefix="/api/v1", tags=["operators"])
RiskReviewer = Annotated[Principal, Depends(api_requires("moderation", Role.RISK, Role.ADMIN))]


@router.get("/risk/site-flags", operation_id="list_site_flags")
def list_site_flags(session: DbSession, _reviewer: RiskReviewer) -> list[dict[str, Any]]:
    """Sites whose CTR was far above the network's (``adunion fraud scan``), newest first."""
    return [
        {
            "id": f.id,
            "site_id": f.site_id,
            "window_start": f.window_start.isoformat(),
            "window_end": f.window_end.isoformat(),
            "impressions": f.impressions,
            "clicks": f.clicks,
            "site_ctr_ppm": f.site_ctr_ppm,
            "network_ctr_ppm": f.network_ctr_ppm,
            "status": f.status,
        }
        for f in service.open_flags(session)
    ]

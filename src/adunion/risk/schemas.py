"""Risk review input and output over the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ResolveFlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["dismiss", "confirm"]
    note: str = Field(default="", max_length=500)


class SiteFlagOut(BaseModel):
    id: str
    site_id: str
    site_domain: str | None
    window_start: date
    window_end: date
    impressions: int
    clicks: int
    site_ctr_ppm: int
    network_ctr_ppm: int
    status: str
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str

"""Report shapes for the API. Money is integer micros; ratios are display strings."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class TotalsOut(BaseModel):
    currency: str
    events: int
    views: int
    viewable: int
    clicks: int
    conversions: int
    invalid: int
    spend_micros: int
    earnings_micros: int
    conversion_value_micros: int
    ctr_percent: str | None
    invalid_percent: str | None
    rpm_micros: int | None
    ecpm_micros: int | None
    vcpm_micros: int | None
    cpc_micros: int | None


class RowOut(TotalsOut):
    key: str
    label: str


class ReasonOut(BaseModel):
    reason: str
    events: int


class ReachOut(BaseModel):
    campaign_id: str
    label: str
    visitors: int


class ReportOut(BaseModel):
    audience: str
    grain: str
    from_day: date
    to_day: date
    by: str
    rows: list[RowOut]
    totals: list[TotalsOut]
    invalid_by_reason: list[ReasonOut]
    reach: list[ReachOut]
    total_reach: int | None
    billed_micros: dict[str, int]


class HealthOut(BaseModel):
    newest_event_at: datetime | None
    rolled_up_until: datetime | None
    rollup_lag_seconds: float
    billing_lag_seconds: float
    stale: bool
    warnings: list[str]


class FloatOut(BaseModel):
    day: date
    currency: str
    float_micros: int
    interest_micros: int


class NetworkOut(ReportOut):
    commission_micros: dict[str, int]
    interest_micros: dict[str, int]
    floats: list[FloatOut]
    active_webmasters: int
    active_advertisers: int
    fill_rate: str
    # Invalid events counted but not stored (a bad-token flood beyond its sample), by reason.
    unstored_invalid_by_reason: list[ReasonOut]
    health: HealthOut

"""Reports, read from rollups only (never from raw events): webmaster, advertiser, operator.

Money stays integer micros. Ratios are display values computed with integers or ``Decimal``:
CTR and invalid share are percentages, RPM / eCPM / vCPM are micros per 1,000 views (rounded
down), CPC is micros per click. None of them is ever used as money.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy.orm import Session

from adunion.billing import service as billing
from adunion.campaigns.models import Campaign, Creative
from adunion.config import Settings
from adunion.inventory.models import AdSlot, Site
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import ValidationFailed
from adunion.kernel.hll import HyperLogLog, merged
from adunion.kernel.tenancy import get_owned
from adunion.reporting import repository
from adunion.reporting.models import (
    DAY,
    HOUR,
    DailyFacts,
    DailyInvalid,
    DailyNetwork,
    DailyReach,
    HourlyFacts,
    HourlyInvalid,
    HourlyNetwork,
    HourlyReach,
    SlotDailyFacts,
)
from adunion.reporting.repository import DIMENSIONS, Audience
from adunion.tracking import repository as tracking
from adunion.wallet import interest

MAX_DAYS = {DAY: 366, HOUR: 31}
DEFAULT_DAYS = {DAY: 30, HOUR: 2}
STALE_AFTER_SECONDS = 300.0  # lag beyond this shows a warning on every report page
MAX_ROWS = 10_000
_PERCENT = Decimal("0.01")
FILTERS = {
    "webmaster": ("site_id", "slot_id"),
    "advertiser": ("campaign_id", "creative_id"),
    "network": ("site_id", "slot_id", "campaign_id", "creative_id"),
}


@dataclass
class Totals:
    currency: str
    events: int = 0
    views: int = 0
    viewable: int = 0
    clicks: int = 0
    conversions: int = 0
    invalid: int = 0
    spend_micros: int = 0
    earnings_micros: int = 0
    conversion_value_micros: int = 0

    @classmethod
    def of(cls, row: dict[str, Any]) -> Totals:
        totals = cls(str(row["currency"]))
        totals.add(row)
        return totals

    def add(self, row: dict[str, Any] | Totals) -> None:
        for name in repository.SUMS:
            value = row[name] if isinstance(row, dict) else getattr(row, name)
            setattr(self, name, getattr(self, name) + int(value or 0))

    @staticmethod
    def _per_mille(amount: int, count: int) -> int | None:
        return amount * 1000 // count if count else None

    @property
    def ctr(self) -> Decimal | None:
        """Clicks per 100 views."""
        return percent(self.clicks, self.views)

    @property
    def invalid_share(self) -> Decimal | None:
        return percent(self.invalid, self.events)

    @property
    def rpm_micros(self) -> int | None:
        """Webmaster earnings per 1,000 views."""
        return self._per_mille(self.earnings_micros, self.views)

    @property
    def ecpm_micros(self) -> int | None:
        """Advertiser spend per 1,000 views."""
        return self._per_mille(self.spend_micros, self.views)

    @property
    def vcpm_micros(self) -> int | None:
        """Spend per 1,000 viewable views."""
        return self._per_mille(self.spend_micros, self.viewable)

    @property
    def cpc_micros(self) -> int | None:
        return self.spend_micros // self.clicks if self.clicks else None


def percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_PERCENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class ReportQuery:
    grain: str
    start: datetime
    end: datetime  # exclusive
    by: str = "period"
    filters: dict[str, str] = field(default_factory=dict)
    limit: int = 1000

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).date()

    def periods(self) -> list[datetime]:
        step = timedelta(hours=1) if self.grain == HOUR else timedelta(days=1)
        moments, moment = [], self.start
        while moment < self.end:
            moments.append(moment)
            moment += step
        return moments


def make_query(
    *,
    grain: str = DAY,
    first: date | None = None,
    last: date | None = None,
    by: str = "period",
    filters: dict[str, str | None] | None = None,
    limit: int = 1000,
    audience: str = "webmaster",
    today: date | None = None,
) -> ReportQuery:
    if grain not in (DAY, HOUR):
        raise ValidationFailed.on("grain", "must be day or hour")
    if by not in DIMENSIONS:
        raise ValidationFailed.on("by", f"must be one of {', '.join(DIMENSIONS)}")
    if not 1 <= limit <= MAX_ROWS:
        raise ValidationFailed.on("limit", f"must be between 1 and {MAX_ROWS}")
    last = last or today or utcnow().date()
    first = first or last - timedelta(days=DEFAULT_DAYS[grain] - 1)
    if last < first:
        raise ValidationFailed.on("to", "must not be before from")
    if (last - first).days + 1 > MAX_DAYS[grain]:
        raise ValidationFailed.on(
            "from", f"a {grain}ly report covers at most {MAX_DAYS[grain]} days"
        )
    allowed = FILTERS[audience]
    chosen: dict[str, str] = {}
    for name, value in (filters or {}).items():
        if value is None or value == "":
            continue
        if name not in allowed:
            raise ValidationFailed.on(name, f"is not a filter of the {audience} report")
        chosen[name] = value
    return ReportQuery(
        grain=grain,
        start=datetime.combine(first, time(0), tzinfo=UTC),
        end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
        by=by,
        filters=chosen,
        limit=limit,
    )


@dataclass(frozen=True)
class ReportRow:
    key: str
    label: str
    totals: Totals


@dataclass(frozen=True)
class ReachRow:
    campaign_id: str
    label: str
    visitors: int


@dataclass
class Report:
    audience: str
    query: ReportQuery
    rows: list[ReportRow]
    totals: list[Totals]
    invalid_by_reason: list[tuple[str, int]] = field(default_factory=list)
    reach: list[ReachRow] = field(default_factory=list)
    total_reach: int | None = None
    billed: dict[str, int] = field(default_factory=dict)  # currency -> what billing charged


def _facts(q: ReportQuery, audience: Audience) -> repository.FactsModel:
    if q.grain == HOUR:
        return HourlyFacts
    per_slot = q.by in ("period", "site", "slot") and set(q.filters) <= {"site_id", "slot_id"}
    return SlotDailyFacts if per_slot and audience.kind != "advertiser" else DailyFacts


def _key_text(key: Any) -> str:
    if isinstance(key, datetime):
        moment = key if key.tzinfo else key.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(key)


def _rows(session: Session, audience: Audience, q: ReportQuery) -> list[ReportRow]:
    found = repository.facts_rows(
        session, _facts(q, audience), audience, q.start, q.end, q.by, q.filters, q.limit
    )
    names = repository.labels(session, q.by, [str(r["key"]) for r in found])
    rows = []
    for r in found:
        key = _key_text(r["key"])
        label = names.get(key, key if key else "(unknown)")
        if q.by == "period":
            label = key[:10] if q.grain == DAY else key[:13].replace("T", " ") + ":00"
        rows.append(ReportRow(key, label, Totals.of(r)))
    return rows


def _totals(
    session: Session, audience: Audience, q: ReportQuery, rows: list[ReportRow]
) -> list[Totals]:
    if len(rows) < q.limit:  # every row is here: their sum is the total
        by_currency: dict[str, Totals] = {}
        for row in rows:
            by_currency.setdefault(row.totals.currency, Totals(row.totals.currency)).add(row.totals)
        return sorted(by_currency.values(), key=lambda t: t.currency)
    found = repository.facts_rows(
        session, _facts(q, audience), audience, q.start, q.end, "total", q.filters
    )
    return sorted((Totals.of(r) for r in found), key=lambda t: t.currency)


def webmaster_report(session: Session, user_id: str, q: ReportQuery) -> Report:
    if "site_id" in q.filters:
        get_owned(session, Site, q.filters["site_id"], user_id)
    if "slot_id" in q.filters:
        get_owned(session, AdSlot, q.filters["slot_id"], user_id)
    audience = Audience("webmaster", user_id)
    rows = _rows(session, audience, q)
    invalid_model = HourlyInvalid if q.grain == HOUR else DailyInvalid
    return Report(
        "webmaster",
        q,
        rows,
        _totals(session, audience, q, rows),
        invalid_by_reason=repository.invalid_by_reason(
            session, invalid_model, audience, q.start, q.end, q.filters.get("site_id")
        ),
    )


def advertiser_report(session: Session, user_id: str, q: ReportQuery) -> Report:
    if "campaign_id" in q.filters:
        get_owned(session, Campaign, q.filters["campaign_id"], user_id)
    if "creative_id" in q.filters:
        get_owned(session, Creative, q.filters["creative_id"], user_id)
    audience = Audience("advertiser", user_id)
    rows = _rows(session, audience, q)
    report = Report("advertiser", q, rows, _totals(session, audience, q, rows))
    _add_reach(session, audience, q, report)
    for _day, currency, billed, _commission in repository.commission_by_day(
        session, q.first_day, q.last_day, audience
    ):
        report.billed[currency] = report.billed.get(currency, 0) + billed
    return report


def _add_reach(session: Session, audience: Audience, q: ReportQuery, report: Report) -> None:
    """Unique visitors per campaign over the range, and across all of them: merged sketches."""
    model = HourlyReach if q.grain == HOUR else DailyReach
    stored = repository.sketches(
        session, model, audience, q.start, q.end, q.filters.get("campaign_id")
    )
    by_campaign: dict[str, list[bytes]] = {}
    for campaign_id, data in stored:
        by_campaign.setdefault(campaign_id, []).append(data)
    names = repository.labels(session, "campaign", list(by_campaign))
    union: HyperLogLog | None = None
    for campaign_id, parts in by_campaign.items():
        one = merged(parts)
        report.reach.append(
            ReachRow(campaign_id, names.get(campaign_id, campaign_id), one.estimate())
        )
        union = HyperLogLog(one.registers) if union is None else union.merge(one)
    report.reach.sort(key=lambda r: (-r.visitors, r.label))
    report.total_reach = union.estimate() if union is not None else 0


@dataclass(frozen=True)
class FloatPoint:
    day: date
    currency: str
    float_micros: int
    interest_micros: int


@dataclass
class NetworkReport:
    report: Report
    series: list[ReportRow]  # by period and currency, from the network table
    commission: dict[str, int]  # currency -> billed minus webmaster share (billing)
    commission_series: list[tuple[date, str, int]]
    floats: list[FloatPoint]
    interest: dict[str, int]
    active: dict[str, int]
    fill_rate: str = "no slot views yet"  # filled / requested decisions (serving_fill)
    # Invalid events counted but not stored (tracking_unstored): (reason, events), most first.
    unstored_invalid_by_reason: list[tuple[str, int]] = field(default_factory=list)


def network_report(session: Session, settings: Settings, q: ReportQuery) -> NetworkReport:
    audience = Audience("network")
    network_model = HourlyNetwork if q.grain == HOUR else DailyNetwork
    series = []
    totals: dict[str, Totals] = {}
    for n in repository.network_rows(session, network_model, q.start, q.end):
        row: dict[str, Any] = {f.name: getattr(n, f.name, 0) for f in fields(Totals)}
        row["conversion_value_micros"] = 0
        t = Totals.of(row)
        key = _key_text(n.period_start)
        label = key[:10] if q.grain == DAY else key[:13].replace("T", " ") + ":00"
        series.append(ReportRow(key, label, t))
        totals.setdefault(t.currency, Totals(t.currency)).add(t)
    if q.by == "period" and not q.filters:
        rows = series
        total_list = sorted(totals.values(), key=lambda t: t.currency)
    else:
        rows = _rows(session, audience, q)
        total_list = _totals(session, audience, q, rows)
    invalid_model = HourlyInvalid if q.grain == HOUR else DailyInvalid
    report = Report(
        "network",
        q,
        rows,
        total_list,
        invalid_by_reason=repository.invalid_by_reason(
            session, invalid_model, audience, q.start, q.end, q.filters.get("site_id")
        ),
    )
    commission: dict[str, int] = {}
    commission_series = []
    for day, currency, _billed, earned in repository.commission_by_day(
        session, q.first_day, q.last_day, audience
    ):
        commission[currency] = commission.get(currency, 0) + earned
        commission_series.append((day, currency, earned))
    floats = []
    interest_totals: dict[str, int] = {}
    for currency in settings.currencies:
        for accrual in interest.history(session, currency, limit=MAX_DAYS[DAY] + 400):
            if q.first_day <= accrual.day <= q.last_day:
                floats.append(
                    FloatPoint(accrual.day, currency, accrual.float_micros, accrual.interest_micros)
                )
                interest_totals[currency] = (
                    interest_totals.get(currency, 0) + accrual.interest_micros
                )
    day_start = datetime.combine(q.first_day, time(0), tzinfo=UTC)
    active = repository.active_users(session, day_start, q.end)
    return NetworkReport(
        report,
        series,
        commission,
        commission_series,
        floats,
        interest_totals,
        active,
        fill_rate=_fill_rate(*repository.fill_counts(session, q.first_day, q.last_day)),
        unstored_invalid_by_reason=tracking.unstored_by_reason(session, q.first_day, q.last_day),
    )


def _fill_rate(requests: int, filled: int) -> str:
    if not requests:
        return "no slot views yet"
    share = (Decimal(filled) * 100 / Decimal(requests)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)
    return f"{share} % ({filled:,} of {requests:,} slot views)"


# --- health -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    newest_event_at: datetime | None
    rolled_up_until: datetime | None
    rollup_lag_seconds: float
    billing_lag_seconds: float

    @property
    def stale(self) -> bool:
        return max(self.rollup_lag_seconds, self.billing_lag_seconds) > STALE_AFTER_SECONDS

    @property
    def warnings(self) -> list[str]:
        found = []
        if self.rollup_lag_seconds > STALE_AFTER_SECONDS:
            found.append(
                f"Report rollups are {duration(self.rollup_lag_seconds)} behind the newest event."
            )
        if self.billing_lag_seconds > STALE_AFTER_SECONDS:
            found.append(
                f"Billing is {duration(self.billing_lag_seconds)} behind the newest event."
            )
        return found


def duration(seconds: float) -> str:
    whole = int(seconds)
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole // 60} min"
    if whole < 172800:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400} days"


def health(session: Session, now: datetime | None = None) -> Health:
    """How far rollups and billing are behind the newest event. Rollups: the newest event time
    minus the moment up to which the newest hourly rollup saw events (or, never rolled up, the age
    of the oldest event). Billing: the age of the oldest event still waiting to be billed."""
    now = now or utcnow()
    newest = repository.newest_event_at(session)
    covered = repository.newest_covered(session, HOUR)
    if newest is None:
        rollup_lag = 0.0
    elif covered is None:
        oldest = repository.oldest_event_at(session) or newest
        rollup_lag = max(0.0, (now - oldest).total_seconds())
    else:
        rollup_lag = max(0.0, (newest - covered).total_seconds())
    return Health(newest, covered, rollup_lag, billing.lag_seconds(session, now))

"""Reporting queries: raw events -> rollup rows (rollups only), rollup rows -> report rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    distinct,
    false,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session

from adunion.billing.models import CampaignSpend
from adunion.campaigns.models import Campaign, Creative
from adunion.inventory.models import AdSlot, Site
from adunion.kernel.models import UTCDateTime
from adunion.reporting.models import (
    DailyActive,
    DailyFacts,
    DailyInvalid,
    DailyNetwork,
    DailyReach,
    HourlyFacts,
    HourlyInvalid,
    HourlyNetwork,
    HourlyReach,
    NetworkColumns,
    RollupRun,
    SlotDailyFacts,
)
from adunion.serving.models import ServingFill
from adunion.tracking.models import TrackingEvent

E = TrackingEvent
KEYS = ("site_id", "slot_id", "campaign_id", "creative_id", "publisher_id", "advertiser_id")
SUMS = (
    "events",
    "views",
    "viewable",
    "clicks",
    "conversions",
    "invalid",
    "spend_micros",
    "earnings_micros",
    "conversion_value_micros",
)
FactsModel = type[HourlyFacts] | type[DailyFacts] | type[SlotDailyFacts]
InvalidModel = type[HourlyInvalid] | type[DailyInvalid]
NetworkModel = type[HourlyNetwork] | type[DailyNetwork]
ReachModel = type[HourlyReach] | type[DailyReach]


# --- raw events -> hourly rows ------------------------------------------------------------------


def _valid_of(event_type: str) -> ColumnElement[Any]:
    return func.sum(case((and_(E.valid == true(), E.event_type == event_type), 1), else_=0))


def _in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(E.occurred_at >= start, E.occurred_at < end)


def event_facts(
    session: Session, start: datetime, end: datetime, default_currency: str
) -> list[dict[str, Any]]:
    """Per site, slot, campaign, creative (and their owners): counts and spend of [start, end)."""
    keys = [func.coalesce(getattr(E, name), "").label(name) for name in KEYS]
    currency = func.coalesce(Campaign.currency, default_currency)
    statement = (
        select(
            *keys,
            func.max(currency).label("currency"),
            func.count().label("events"),
            _valid_of("view").label("views"),
            _valid_of("viewable").label("viewable"),
            _valid_of("click").label("clicks"),
            _valid_of("conversion").label("conversions"),
            func.sum(case((E.valid == true(), 0), else_=1)).label("invalid"),
            func.sum(case((E.valid == true(), E.billable_micros), else_=0)).label("spend_micros"),
            func.sum(
                case(
                    (and_(E.valid == true(), E.event_type == "conversion"), E.value_micros),
                    else_=0,
                )
            ).label("conversion_value_micros"),
        )
        .select_from(E)
        .outerjoin(Campaign, Campaign.id == E.campaign_id)
        .where(_in(start, end))
        .group_by(*keys)
    )
    return [
        {**row._asdict(), "conversion_value_micros": int(row.conversion_value_micros or 0)}
        for row in session.execute(statement)
    ]


def event_invalid(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    site = func.coalesce(E.site_id, "").label("site_id")
    publisher = func.coalesce(E.publisher_id, "").label("publisher_id")
    reason = func.coalesce(E.invalid_reason, "unknown").label("reason")
    statement = (
        select(site, publisher, reason, func.count().label("events"))
        .where(_in(start, end), E.valid == false())
        .group_by(site, publisher, reason)
    )
    return [row._asdict() for row in session.execute(statement)]


def event_visitors(
    session: Session, start: datetime, end: datetime
) -> Iterator[tuple[str, str, str]]:
    """(campaign, advertiser, visitor) for each distinct visitor with a valid view, by campaign."""
    statement = (
        select(E.campaign_id, func.coalesce(E.advertiser_id, ""), E.visitor_id)
        .where(
            _in(start, end),
            E.valid == true(),
            E.event_type == "view",
            E.campaign_id.is_not(None),
            E.visitor_id.is_not(None),
        )
        .distinct()
        .order_by(E.campaign_id)
    )
    for campaign_id, advertiser_id, visitor_id in session.execute(statement).yield_per(5000):
        yield str(campaign_id), str(advertiser_id), str(visitor_id)


def newest_event_at(session: Session) -> datetime | None:
    return session.scalar(select(func.max(E.occurred_at)))


def oldest_event_at(session: Session) -> datetime | None:
    return session.scalar(select(func.min(E.occurred_at)))


# --- writing periods ----------------------------------------------------------------------------


def clear_period(session: Session, models: Sequence[type[Any]], period_start: datetime) -> None:
    for model in models:
        session.execute(delete(model).where(model.period_start == period_start))


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(model), rows)


def record_run(
    session: Session,
    grain: str,
    period_start: datetime,
    rolled_at: datetime,
    covered_until: datetime,
    source_events: int,
) -> None:
    session.execute(
        delete(RollupRun).where(RollupRun.grain == grain, RollupRun.period_start == period_start)
    )
    session.add(
        RollupRun(
            grain=grain,
            period_start=period_start,
            rolled_at=rolled_at,
            covered_until=covered_until,
            source_events=source_events,
        )
    )
    session.flush()


def run_of(session: Session, grain: str, period_start: datetime) -> RollupRun | None:
    return session.get(RollupRun, (grain, period_start))


def newest_covered(session: Session, grain: str) -> datetime | None:
    return session.scalar(select(func.max(RollupRun.covered_until)).where(RollupRun.grain == grain))


def facts_from_hours(session: Session, day_start: datetime, day_end: datetime) -> int:
    """Daily facts for one day as the sum of its hourly rows; returns the events counted."""
    h = HourlyFacts
    keys = [getattr(h, name) for name in KEYS]
    sums = [func.sum(getattr(h, name)) for name in SUMS]
    source = (
        select(literal(day_start, UTCDateTime()), *keys, func.max(h.currency), *sums)
        .where(h.period_start >= day_start, h.period_start < day_end)
        .group_by(*keys)
    )
    columns = ["period_start", *KEYS, "currency", *SUMS]
    session.execute(insert(DailyFacts).from_select(columns, source))
    total = session.scalar(
        select(func.coalesce(func.sum(DailyFacts.events), 0)).where(
            DailyFacts.period_start == day_start
        )
    )
    return int(total or 0)


def slots_from_day(session: Session, day_start: datetime) -> None:
    d = DailyFacts
    keys = [d.site_id, d.slot_id, d.publisher_id]
    sums = [func.sum(getattr(d, name)) for name in SUMS]
    source = (
        select(
            literal(day_start, UTCDateTime()),
            *keys,
            literal(""),
            literal(""),
            literal(""),
            func.max(d.currency),
            *sums,
        )
        .where(d.period_start == day_start)
        .group_by(*keys)
    )
    columns = [
        "period_start",
        "site_id",
        "slot_id",
        "publisher_id",
        "campaign_id",
        "creative_id",
        "advertiser_id",
        "currency",
        *SUMS,
    ]
    session.execute(insert(SlotDailyFacts).from_select(columns, source))


def invalid_from_hours(session: Session, day_start: datetime, day_end: datetime) -> None:
    h = HourlyInvalid
    source = (
        select(
            literal(day_start, UTCDateTime()),
            h.site_id,
            h.publisher_id,
            h.reason,
            func.sum(h.events),
        )
        .where(h.period_start >= day_start, h.period_start < day_end)
        .group_by(h.site_id, h.publisher_id, h.reason)
    )
    session.execute(
        insert(DailyInvalid).from_select(
            ["period_start", "site_id", "publisher_id", "reason", "events"], source
        )
    )


def _active(model: FactsModel) -> ColumnElement[bool]:
    return (model.views + model.viewable + model.clicks + model.conversions) > 0


def active_from_day(session: Session, day_start: datetime) -> None:
    d = DailyFacts
    for role, column in (("publisher", d.publisher_id), ("advertiser", d.advertiser_id)):
        source = (
            select(literal(day_start, UTCDateTime()), literal(role), column)
            .where(d.period_start == day_start, column != "", _active(d))
            .distinct()
        )
        session.execute(
            insert(DailyActive).from_select(["period_start", "role", "user_id"], source)
        )


def network_from_facts(
    session: Session, facts: FactsModel, network: NetworkModel, period_start: datetime
) -> None:
    sums = [func.sum(getattr(facts, name)) for name in SUMS if name != "conversion_value_micros"]
    names = [name for name in SUMS if name != "conversion_value_micros"]
    active = _active(facts)
    source = (
        select(
            literal(period_start, UTCDateTime()),
            facts.currency,
            *sums,
            func.count(
                distinct(case((and_(active, facts.publisher_id != ""), facts.publisher_id)))
            ),
            func.count(
                distinct(case((and_(active, facts.advertiser_id != ""), facts.advertiser_id)))
            ),
        )
        .where(facts.period_start == period_start)
        .group_by(facts.currency)
    )
    session.execute(
        insert(network).from_select(
            ["period_start", "currency", *names, "publishers", "advertisers"], source
        )
    )


def hourly_sketches(
    session: Session, day_start: datetime, day_end: datetime
) -> list[tuple[str, str, bytes]]:
    rows = session.execute(
        select(HourlyReach.campaign_id, HourlyReach.advertiser_id, HourlyReach.sketch)
        .where(HourlyReach.period_start >= day_start, HourlyReach.period_start < day_end)
        .order_by(HourlyReach.campaign_id)
    )
    return [(c, a, s) for c, a, s in rows]


# --- reading reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Whose rows a report reads: one webmaster's sites, one advertiser's campaigns, or all."""

    kind: str  # webmaster / advertiser / network
    user_id: str | None = None


def _scoped(model: Any, audience: Audience) -> ColumnElement[bool]:
    if audience.kind == "webmaster":
        return model.publisher_id == audience.user_id  # type: ignore[no-any-return]
    if audience.kind == "advertiser":
        return model.advertiser_id == audience.user_id  # type: ignore[no-any-return]
    return true()


DIMENSIONS = ("period", "site", "slot", "campaign", "creative")


def facts_rows(
    session: Session,
    model: FactsModel,
    audience: Audience,
    start: datetime,
    end: datetime,
    by: str,
    filters: dict[str, str],
    limit: int | None = None,
) -> list[dict[str, Any]]:
    sums = [func.sum(getattr(model, name)).label(name) for name in SUMS]
    if by == "total":
        statement = (
            select(literal("").label("key"), model.currency, *sums)
            .where(model.period_start >= start, model.period_start < end, _scoped(model, audience))
            .group_by(model.currency)
        )
        for name, value in filters.items():
            statement = statement.where(getattr(model, name) == value)
        return [dict(row._asdict()) for row in session.execute(statement)]
    key = model.period_start if by == "period" else getattr(model, f"{by}_id")
    statement = (
        select(key.label("key"), model.currency, *sums)
        .where(model.period_start >= start, model.period_start < end, _scoped(model, audience))
        .group_by(key, model.currency)
    )
    for name, value in filters.items():
        statement = statement.where(getattr(model, name) == value)
    if by == "period":
        statement = statement.order_by(key, model.currency)
    else:
        order = "earnings_micros" if audience.kind == "webmaster" else "spend_micros"
        statement = statement.order_by(func.sum(getattr(model, order)).desc(), key)
    if limit is not None:
        statement = statement.limit(limit)
    return [dict(row._asdict()) for row in session.execute(statement)]


def network_rows(
    session: Session, model: NetworkModel, start: datetime, end: datetime
) -> list[NetworkColumns]:
    return list(
        session.scalars(
            select(model)
            .where(model.period_start >= start, model.period_start < end)
            .order_by(model.period_start, model.currency)
        )
    )


def invalid_by_reason(
    session: Session,
    model: InvalidModel,
    audience: Audience,
    start: datetime,
    end: datetime,
    site_id: str | None = None,
) -> list[tuple[str, int]]:
    statement = (
        select(model.reason, func.sum(model.events))
        .where(model.period_start >= start, model.period_start < end)
        .group_by(model.reason)
        .order_by(func.sum(model.events).desc(), model.reason)
    )
    if audience.kind == "webmaster":
        statement = statement.where(model.publisher_id == audience.user_id)
    elif audience.kind == "advertiser":
        return []  # invalid traffic is reported per site, to its webmaster and the operators
    if site_id is not None:
        statement = statement.where(model.site_id == site_id)
    return [(str(reason), int(count)) for reason, count in session.execute(statement)]


def active_users(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    rows = session.execute(
        select(DailyActive.role, func.count(distinct(DailyActive.user_id)))
        .where(DailyActive.period_start >= start, DailyActive.period_start < end)
        .group_by(DailyActive.role)
    )
    return {str(role): int(count) for role, count in rows}


def sketches(
    session: Session,
    model: ReachModel,
    audience: Audience,
    start: datetime,
    end: datetime,
    campaign_id: str | None = None,
) -> list[tuple[str, bytes]]:
    statement = select(model.campaign_id, model.sketch).where(
        model.period_start >= start, model.period_start < end
    )
    if audience.kind == "advertiser":
        statement = statement.where(model.advertiser_id == audience.user_id)
    if campaign_id is not None:
        statement = statement.where(model.campaign_id == campaign_id)
    return [(str(c), bytes(s)) for c, s in session.execute(statement.order_by(model.campaign_id))]


def commission_by_day(
    session: Session, first: date, last: date, audience: Audience
) -> list[tuple[date, str, int, int]]:
    """(day, currency, billed, commission) from what billing actually charged."""
    statement = (
        select(
            CampaignSpend.day,
            CampaignSpend.currency,
            func.sum(CampaignSpend.billed_micros),
            func.sum(CampaignSpend.billed_micros - CampaignSpend.publisher_micros),
        )
        .where(CampaignSpend.day >= first, CampaignSpend.day <= last)
        .group_by(CampaignSpend.day, CampaignSpend.currency)
        .order_by(CampaignSpend.day, CampaignSpend.currency)
    )
    if audience.kind == "advertiser":
        statement = statement.join(Campaign, Campaign.id == CampaignSpend.campaign_id).where(
            Campaign.owner_id == audience.user_id
        )
    return [(d, str(c), int(b), int(m)) for d, c, b, m in session.execute(statement)]


def labels(session: Session, by: str, ids: Sequence[str]) -> dict[str, str]:
    wanted = [i for i in ids if i]
    if not wanted or by == "period":
        return {}
    ident, column = {
        "site": (Site.id, Site.domain),
        "slot": (AdSlot.id, AdSlot.name),
        "campaign": (Campaign.id, Campaign.name),
        "creative": (Creative.id, Creative.name),
    }[by]
    found: dict[str, str] = {}
    for chunk in range(0, len(wanted), 500):
        part = wanted[chunk : chunk + 500]
        found.update(
            {
                str(i): str(n)
                for i, n in session.execute(select(ident, column).where(ident.in_(part)))
            }
        )
    return found


def fill_counts(session: Session, first_day: date, last_day: date) -> tuple[int, int]:
    """(slot views that asked for an ad, views that got one) over the days, from serving_fill."""
    requests, filled = session.execute(
        select(
            func.coalesce(func.sum(ServingFill.requests), 0),
            func.coalesce(func.sum(ServingFill.filled), 0),
        ).where(ServingFill.day >= first_day, ServingFill.day <= last_day)
    ).one()
    return int(requests), int(filled)

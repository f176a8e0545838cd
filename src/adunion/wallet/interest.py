"""Daily interest on the float: the sum of customer balances the platform holds.

interest(day) = float(end of day) x annual rate / day count (360 or 365), in Decimal. Only whole
micros are posted (interest receivable -> interest income); the sub-micro remainder is carried
into the next day, so over time nothing is dropped and nothing is invented. Each day posts under
the id ``interest:<currency>:<day>`` and is recorded once, so re-running a day posts nothing.
Days are UTC days.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from adunion import ledger
from adunion.config import Settings
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import ValidationFailed
from adunion.wallet import repository
from adunion.wallet.accounts import CUSTOMER, PlatformAccount, platform_account
from adunion.wallet.models import InterestAccrual


def daily_interest(
    float_micros: int, annual_rate: Decimal, day_count: int, carry: Decimal = Decimal(0)
) -> tuple[int, Decimal]:
    """(whole micros to post, sub-micro remainder to carry) for one day."""
    exact = Decimal(float_micros) * annual_rate / Decimal(day_count) + carry
    whole = exact.to_integral_value(rounding=ROUND_FLOOR)
    return int(whole), exact - whole


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def float_at(session: Session, currency: str, moment: datetime) -> int:
    """Sum of customer balances (posted, held money included) just before ``moment``."""
    debits, credits = repository.posted_totals_by_code(session, currency, None, moment).get(
        CUSTOMER, (0, 0)
    )
    return credits - debits


@dataclass(frozen=True)
class AccrualOutcome:
    currency: str
    day: date
    float_micros: int
    interest_micros: int
    carry: Decimal
    created: bool  # False: the day was accrued before and nothing was posted now


def _one_accrual_at_a_time(session: Session, currency: str) -> None:
    """Serialise accruals of one currency (the interest job runs in every ``adunion serve``
    worker): on PostgreSQL a transaction-scoped advisory lock, so the second accrual of a day
    waits and then finds the first's record instead of failing on its unique key. SQLite write
    transactions already take the database's write lock first."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(
        hashlib.sha256(f"adunion.interest|{currency}".encode()).digest()[:8], "big"
    )
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - (1 << 63)})


def accrue_day(session: Session, settings: Settings, day: date, currency: str) -> AccrualOutcome:
    if end_of_day(day) > utcnow():
        raise ValidationFailed.on("date", f"{day} is not over yet (days are UTC)")
    _one_accrual_at_a_time(session, currency)
    existing = session.scalars(
        select(InterestAccrual).where(
            InterestAccrual.currency == currency, InterestAccrual.day == day
        )
    ).one_or_none()
    if existing is not None:
        return AccrualOutcome(
            currency,
            day,
            existing.float_micros,
            existing.interest_micros,
            Decimal(existing.carry),
            False,
        )
    previous = session.scalars(
        select(InterestAccrual)
        .where(InterestAccrual.currency == currency, InterestAccrual.day < day)
        .order_by(InterestAccrual.day.desc())
        .limit(1)
    ).one_or_none()
    carry_in = Decimal(previous.carry) if previous is not None else Decimal(0)
    float_micros = float_at(session, currency, end_of_day(day))
    interest, carry = daily_interest(
        max(float_micros, 0), settings.interest_rate, settings.interest_day_count, carry_in
    )
    transfer_id = None
    if interest > 0:
        transfer_id = f"interest:{currency}:{day.isoformat()}"
        ledger.transfer(
            session,
            id=transfer_id,
            debit_account_id=platform_account(
                session, PlatformAccount.INTEREST_RECEIVABLE, currency
            ).id,
            credit_account_id=platform_account(
                session, PlatformAccount.INTEREST_INCOME, currency
            ).id,
            amount=interest,
            currency=currency,
            code="interest",
            reference=f"float interest {day.isoformat()}",
            metadata={"float_micros": float_micros, "rate": str(settings.interest_rate)},
        )
    session.add(
        InterestAccrual(
            currency=currency,
            day=day,
            float_micros=float_micros,
            annual_rate=str(settings.interest_rate),
            day_count=settings.interest_day_count,
            interest_micros=interest,
            carry=str(carry),
            transfer_id=transfer_id,
        )
    )
    session.flush()
    return AccrualOutcome(currency, day, float_micros, interest, carry, True)


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ValidationFailed.on("to", "must not be before from")
    if (last - first).days > 3660:
        raise ValidationFailed.on("to", "a back-fill covers at most 10 years")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def history(session: Session, currency: str, limit: int = 90) -> list[InterestAccrual]:
    rows = session.scalars(
        select(InterestAccrual)
        .where(InterestAccrual.currency == currency)
        .order_by(InterestAccrual.day.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))

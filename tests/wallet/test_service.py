from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from adunion import ledger
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.errors import Conflict, NotFound, ValidationFailed
from adunion.ledger.models import LedgerTransfer
from adunion.wallet import books, interest, service
from adunion.wallet.accounts import PlatformAccount, customer_account, platform_account
from adunion.wallet.models import DepositStatus, WithdrawalStatus
from tests.factories import funded_user, make_user

UNIT = 1_000_000


@pytest.fixture
def wallet_settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        data_dir=tmp_path, withdrawal_minimum=Decimal("100"), withdrawal_fee=Decimal("1.50")
    )


def balance_of(database: Database, settings: Settings, user_id: str) -> service.WalletBalance:
    with database.transaction(write=False) as session:
        return next(b for b in service.balances(session, settings, user_id) if b.currency == "USD")


def test_bank_deposit_credits_what_arrived_once(
    database: Database, wallet_settings: Settings
) -> None:
    with database.transaction() as session:
        user = make_user(session)
        deposit, instructions = service.request_deposit(
            session,
            wallet_settings,
            owner_id=user.id,
            amount=500 * UNIT,
            currency="USD",
            provider="bank_transfer",
        )
        assert deposit.reference in instructions
        assert "500.00 USD" in instructions
    assert balance_of(database, wallet_settings, user.id).available == 0
    with database.transaction() as session:
        service.confirm_bank_deposit(session, deposit.id, received=498 * UNIT, staff_id="finance")
    assert balance_of(database, wallet_settings, user.id).available == 498 * UNIT
    with pytest.raises(Conflict), database.transaction() as session:
        service.confirm_bank_deposit(session, deposit.id, received=498 * UNIT, staff_id="finance")
    assert balance_of(database, wallet_settings, user.id).available == 498 * UNIT
    with database.transaction(write=False) as session:
        assert ledger.verify(session) == []


def test_bad_deposit_input(database: Database, wallet_settings: Settings) -> None:
    with database.transaction() as session:
        user = make_user(session)
        with pytest.raises(ValidationFailed, match="currency"):
            service.request_deposit(
                session,
                wallet_settings,
                owner_id=user.id,
                amount=UNIT,
                currency="EUR",
                provider="bank_transfer",
            )
        with pytest.raises(ValidationFailed, match="provider"):
            service.request_deposit(
                session,
                wallet_settings,
                owner_id=user.id,
                amount=UNIT,
                currency="USD",
                provider="cash",
            )
        with pytest.raises(NotFound):
            service.confirm_bank_deposit(session, "missing", received=UNIT, staff_id="x")


def test_withdrawal_hold_then_payout(database: Database, wallet_settings: Settings) -> None:
    user_id = funded_user(database, wallet_settings, 300 * UNIT)
    with database.transaction() as session:
        withdrawal = service.request_withdrawal(
            session,
            wallet_settings,
            owner_id=user_id,
            amount=200 * UNIT,
            currency="USD",
            destination="IBAN DE00 1234",
        )
    held = balance_of(database, wallet_settings, user_id)
    assert (held.available, held.held) == (100 * UNIT, 200 * UNIT)
    with database.transaction() as session:
        service.approve_withdrawal(session, withdrawal.id, staff_id="finance")
    paid = balance_of(database, wallet_settings, user_id)
    assert (paid.available, paid.held, paid.balance) == (100 * UNIT, 0, 100 * UNIT)
    with database.transaction(write=False) as session:
        fees = books.income_statement(
            session, "USD", datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )
        assert fees.revenue["platform_fee_revenue"] == 1_500_000
        assert ledger.verify(session) == []
    with pytest.raises(Conflict), database.transaction() as session:
        service.reject_withdrawal(session, withdrawal.id, staff_id="finance", reason="late")


def test_withdrawal_rejection_releases_the_hold(
    database: Database, wallet_settings: Settings
) -> None:
    user_id = funded_user(database, wallet_settings, 300 * UNIT)
    with database.transaction() as session:
        withdrawal = service.request_withdrawal(
            session,
            wallet_settings,
            owner_id=user_id,
            amount=300 * UNIT,
            currency="USD",
            destination="IBAN DE00 1234",
        )
    with database.transaction() as session:
        rejected = service.reject_withdrawal(
            session, withdrawal.id, staff_id="finance", reason="name mismatch"
        )
        assert rejected.status is WithdrawalStatus.REJECTED
    after = balance_of(database, wallet_settings, user_id)
    assert (after.available, after.held) == (300 * UNIT, 0)


@pytest.mark.parametrize(
    ("amount", "field"),
    [(50 * UNIT, "amount"), (400 * UNIT, "amount")],
)
def test_withdrawal_below_minimum_or_above_balance_changes_nothing(
    database: Database, wallet_settings: Settings, amount: int, field: str
) -> None:
    user_id = funded_user(database, wallet_settings, 300 * UNIT)
    with pytest.raises(ValidationFailed) as excinfo, database.transaction() as session:
        service.request_withdrawal(
            session,
            wallet_settings,
            owner_id=user_id,
            amount=amount,
            currency="USD",
            destination="IBAN DE00 1234",
        )
    assert excinfo.value.fields[0].field == field
    assert balance_of(database, wallet_settings, user_id).available == 300 * UNIT


def test_statement_has_running_balance(database: Database, wallet_settings: Settings) -> None:
    user_id = funded_user(database, wallet_settings, 300 * UNIT)
    with database.transaction() as session:
        service.grant_promotion(
            session,
            wallet_settings,
            user_id=user_id,
            amount=20 * UNIT,
            currency="USD",
            reason="welcome",
            granted_by="x",
        )
    now = datetime.now(UTC)
    with database.transaction(write=False) as session:
        result = service.statement(
            session, user_id, "USD", now - timedelta(days=1), now + timedelta(seconds=1)
        )
    assert result.opening == 0
    assert [line.code for line in result.lines] == ["deposit", "promotion"]
    assert [line.balance for line in result.lines] == [300 * UNIT, 320 * UNIT]
    assert result.closing == 320 * UNIT
    with database.transaction(write=False) as session:
        later = service.statement(
            session, user_id, "USD", now + timedelta(seconds=1), now + timedelta(days=1)
        )
    assert (later.opening, later.lines) == (320 * UNIT, [])


def test_golden_interest_on_an_80_million_float() -> None:
    """The seed's example: 80,000,000.00 held at 2% a year, 365-day count."""
    micros, carry = interest.daily_interest(80_000_000 * UNIT, Decimal("0.02"), 365)
    # 80,000,000 x 0.02 / 365 = 4,383.561643835616438... units
    assert micros == 4_383_561_643
    assert carry == Decimal("80000000000000") * Decimal("0.02") / 365 - 4_383_561_643
    micros360, _ = interest.daily_interest(80_000_000 * UNIT, Decimal("0.02"), 360)
    assert micros360 == 4_444_444_444


def test_carry_is_never_dropped() -> None:
    total, carry = 0, Decimal(0)
    for _ in range(365):
        micros, carry = interest.daily_interest(1 * UNIT, Decimal("0.05"), 365, carry)
        total += micros
    assert total + carry == Decimal(50_000)  # 5% of one unit over a year, to the sub-micro
    assert total == 49_999 or total == 50_000


def test_accrual_posts_once_per_day_and_carries(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, interest_rate=Decimal("0.02"), interest_day_count=365)
    today = datetime.now(UTC).date()
    three_days_ago = datetime.combine(
        today - timedelta(days=3), datetime.min.time(), UTC
    ) + timedelta(hours=12)
    with database.transaction() as session:
        user = make_user(session)
        customer = customer_account(session, user.id, "USD")
        cash = platform_account(session, PlatformAccount.CASH, "USD")
        ledger.transfer(
            session,
            id="seed-float",
            debit_account_id=cash.id,
            credit_account_id=customer.id,
            amount=80_000_000 * UNIT,
            currency="USD",
            code="deposit",
            now=three_days_ago,
        )
    day1, day2 = today - timedelta(days=2), today - timedelta(days=1)
    with database.transaction() as session:
        first = interest.accrue_day(session, settings, day1, "USD")
    assert (first.float_micros, first.interest_micros, first.created) == (
        80_000_000 * UNIT,
        4_383_561_643,
        True,
    )
    with database.transaction() as session:
        again = interest.accrue_day(session, settings, day1, "USD")
        second = interest.accrue_day(session, settings, day2, "USD")
    assert (again.created, again.interest_micros) == (False, 4_383_561_643)
    exact_two_days = Decimal(80_000_000 * UNIT) * Decimal("0.02") / 365 * 2
    assert first.interest_micros + second.interest_micros == int(exact_two_days)  # carry used
    assert second.carry == exact_two_days - int(exact_two_days)
    with database.transaction(write=False) as session:
        posted = session.scalars(
            select(LedgerTransfer).where(LedgerTransfer.code == "interest")
        ).all()
        assert sorted(t.id for t in posted) == [f"interest:USD:{day1}", f"interest:USD:{day2}"]
        assert ledger.verify(session) == []
        income = books.income_statement(
            session, "USD", three_days_ago, datetime.now(UTC) + timedelta(seconds=1)
        )
        assert (
            income.revenue["platform_interest_income"]
            == first.interest_micros + second.interest_micros
        )
        assert books.balance_sheet(
            session, "USD", datetime.now(UTC) + timedelta(seconds=1)
        ).balanced
    with database.transaction() as session, pytest.raises(ValidationFailed):
        interest.accrue_day(session, settings, today, "USD")


def test_books_balance(database: Database, wallet_settings: Settings) -> None:
    user_id = funded_user(database, wallet_settings, 300 * UNIT)
    with database.transaction() as session:
        service.grant_promotion(
            session,
            wallet_settings,
            user_id=user_id,
            amount=20 * UNIT,
            currency="USD",
            reason="welcome",
            granted_by="x",
        )
        withdrawal = service.request_withdrawal(
            session,
            wallet_settings,
            owner_id=user_id,
            amount=150 * UNIT,
            currency="USD",
            destination="IBAN 1234",
        )
    with database.transaction() as session:
        service.approve_withdrawal(session, withdrawal.id, staff_id="f")
    end = datetime.now(UTC) + timedelta(seconds=1)
    with database.transaction(write=False) as session:
        sheet = books.balance_sheet(session, "USD", end)
        income = books.income_statement(session, "USD", end - timedelta(days=1), end)
    assert sheet.balanced
    assert sheet.assets["platform_cash"] == 300 * UNIT - 148_500_000
    assert sheet.liabilities["customer_balances"] == 170 * UNIT
    assert income.net_income == 1_500_000 - 20 * UNIT
    assert sheet.equity["retained_earnings"] == income.net_income
    with database.transaction(write=False) as session:
        ids = session.scalars(select(LedgerTransfer.id)).all()
    assert f"withdrawal:{withdrawal.id}:payout:post" in ids


def test_deposit_status_after_confirmation(database: Database, wallet_settings: Settings) -> None:
    with database.transaction() as session:
        user = make_user(session)
        deposit, _ = service.request_deposit(
            session,
            wallet_settings,
            owner_id=user.id,
            amount=UNIT,
            currency="USD",
            provider="bank_transfer",
        )
        service.cancel_deposit(session, deposit)
        assert deposit.status is DepositStatus.CANCELLED
        with pytest.raises(Conflict):
            service.confirm_bank_deposit(session, deposit.id, received=UNIT, staff_id="f")


def test_two_workers_accruing_one_day_record_it_once(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The interest job runs in every serving worker: the second accrual of a day waits for the
    first and finds its record, instead of failing on the unique day (PostgreSQL; SQLite's write
    transactions never interleave)."""
    if database.is_sqlite:
        pytest.skip("SQLite write transactions take the write lock first: no interleaving")
    settings = Settings(data_dir=tmp_path, interest_rate=Decimal("0.02"))
    day = datetime.now(UTC).date() - timedelta(days=1)
    accrued = threading.Event()
    outcomes: list[interest.AccrualOutcome] = []
    errors: list[BaseException] = []

    def first() -> None:
        with database.transaction() as session:
            outcomes.append(interest.accrue_day(session, settings, day, "USD"))
            accrued.set()
            time.sleep(0.5)  # the second worker arrives while this one is uncommitted

    def second() -> None:
        accrued.wait(5)
        try:
            with database.transaction() as session:
                outcomes.append(interest.accrue_day(session, settings, day, "USD"))
        except BaseException as exc:  # noqa: BLE001 - the failure is the test's finding
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [o.created for o in outcomes] == [True, False]

"""The platform's books, from the journal alone: an income statement for a period and a balance
sheet at a moment. Assets = liabilities + equity holds because every transfer is double-entry;
``balanced`` is checked, not assumed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from adunion.wallet import repository
from adunion.wallet.accounts import ASSETS, CUSTOMER, EXPENSES, REVENUES, PlatformAccount


@dataclass(frozen=True)
class IncomeStatement:
    currency: str
    start: datetime
    end: datetime
    revenue: dict[str, int]
    expenses: dict[str, int]

    @property
    def total_revenue(self) -> int:
        return sum(self.revenue.values())

    @property
    def total_expenses(self) -> int:
        return sum(self.expenses.values())

    @property
    def net_income(self) -> int:
        return self.total_revenue - self.total_expenses


@dataclass(frozen=True)
class BalanceSheet:
    currency: str
    at: datetime
    assets: dict[str, int]
    liabilities: dict[str, int]
    equity: dict[str, int]
    unclassified: dict[str, int] = field(default_factory=dict)

    @property
    def total_assets(self) -> int:
        return sum(self.assets.values())

    @property
    def total_liabilities_and_equity(self) -> int:
        return sum(self.liabilities.values()) + sum(self.equity.values())

    @property
    def balanced(self) -> bool:
        return not self.unclassified and self.total_assets == self.total_liabilities_and_equity


def _credit(totals: dict[str, tuple[int, int]], code: str) -> int:
    debits, credits = totals.get(code, (0, 0))
    return credits - debits


def income_statement(
    session: Session, currency: str, start: datetime, end: datetime
) -> IncomeStatement:
    totals = repository.posted_totals_by_code(session, currency, start, end)
    return IncomeStatement(
        currency,
        start,
        end,
        revenue={code.value: _credit(totals, code.value) for code in REVENUES},
        expenses={code.value: -_credit(totals, code.value) for code in EXPENSES},
    )


def balance_sheet(session: Session, currency: str, at: datetime) -> BalanceSheet:
    totals = repository.posted_totals_by_code(session, currency, None, at)
    known = {c.value for c in PlatformAccount} | {CUSTOMER}
    retained = sum(_credit(totals, c.value) for c in REVENUES) + sum(
        _credit(totals, c.value) for c in EXPENSES
    )
    return BalanceSheet(
        currency,
        at,
        assets={code.value: -_credit(totals, code.value) for code in ASSETS},
        liabilities={"customer_balances": _credit(totals, CUSTOMER)},
        equity={"retained_earnings": retained},
        unclassified={
            c: _credit(totals, c) for c in totals if c not in known and _credit(totals, c)
        },
    )

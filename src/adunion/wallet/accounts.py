"""Which ledger accounts the wallet uses, and the one place they are created.

Customer money lives in one no-overdraft liability account per user and currency
(``customer_available``). Holds (escrow, withdrawals) are its pending debits, so "held" money is
still the customer's and still counts in the float; earnings that are not final yet (affiliate
commission in its return window) are its pending credits.
"""

from __future__ import annotations

import enum

from sqlalchemy.orm import Session

from adunion import ledger
from adunion.ledger import AccountFlags


class PlatformAccount(enum.StrEnum):
    CASH = "platform_cash"  # asset: money in the platform's bank (deposits in, payouts out)
    COMMISSION = "platform_commission"  # revenue: the platform's share of ad spend
    INTEREST_INCOME = "platform_interest_income"  # revenue: interest earned on the float
    INTEREST_RECEIVABLE = "platform_interest_receivable"  # asset: interest earned, not yet paid
    FEES = "platform_fee_revenue"  # revenue: withdrawal fees
    PROMOTION = "platform_promotion_expense"  # expense: sign-up bonuses and promotion credits


CUSTOMER = "customer_available"

ASSETS = (PlatformAccount.CASH, PlatformAccount.INTEREST_RECEIVABLE)
REVENUES = (PlatformAccount.COMMISSION, PlatformAccount.INTEREST_INCOME, PlatformAccount.FEES)
EXPENSES = (PlatformAccount.PROMOTION,)


def customer_account(session: Session, user_id: str, currency: str) -> ledger.Account:
    return ledger.get_or_create_account(
        session,
        owner_id=user_id,
        currency=currency,
        code=CUSTOMER,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )


def platform_account(session: Session, which: PlatformAccount, currency: str) -> ledger.Account:
    return ledger.get_or_create_account(session, owner_id=None, currency=currency, code=which.value)

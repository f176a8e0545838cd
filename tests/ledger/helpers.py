"""Small builders shared by the ledger tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger.models import FAILED, TRANSFERS

CUSTOMER = ledger.AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


@dataclass(frozen=True)
class Books:
    cash: str  # platform cash (asset): may go negative in the customer sense
    alice: str  # customer wallets: no overdraft
    bob: str
    carol: str
    eur_alice: str


def open_books(database: Database) -> Books:
    with database.transaction() as session:

        def account(owner: str | None, code: str, currency: str = "USD") -> str:
            flags = ledger.AccountFlags.NONE if owner is None else CUSTOMER
            return ledger.get_or_create_account(
                session, owner_id=owner, currency=currency, code=code, flags=flags
            ).id

        return Books(
            cash=account(None, "platform_cash"),
            alice=account("alice", "customer_available"),
            bob=account("bob", "customer_available"),
            carol=account("carol", "customer_available"),
            eur_alice=account("alice", "customer_available", "EUR"),
        )


def deposit(session: Session, books: Books, account_id: str, amount: int, id: str) -> None:
    ledger.transfer(
        session,
        id=id,
        debit_account_id=books.cash,
        credit_account_id=account_id,
        amount=amount,
        currency="USD",
        code="deposit",
    )


def journal_size(database: Database) -> tuple[int, int]:
    with database.transaction(write=False) as session:
        transfers = session.execute(select(func.count()).select_from(TRANSFERS)).scalar_one()
        failed = session.execute(select(func.count()).select_from(FAILED)).scalar_one()
    return int(transfers), int(failed)


def balances(database: Database, *account_ids: str) -> list[ledger.Balance]:
    with database.transaction(write=False) as session:
        return [ledger.balance(session, account_id) for account_id in account_ids]


def assert_clean(database: Database) -> None:
    with database.transaction(write=False) as session:
        assert ledger.verify(session) == []

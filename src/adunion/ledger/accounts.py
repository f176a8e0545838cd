"""Ledger accounts: get-or-create by natural key (owner, currency, code), read balances."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from adunion.kernel.ids import new_id
from adunion.ledger.models import ACCOUNTS
from adunion.ledger.schemas import Account, AccountFlags, Balance
from adunion.ledger.validation import ACCOUNT_CODE_RE, ACCOUNT_ID_MAX, CURRENCY_RE

_BOTH = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


def get_or_create_account(
    session: Session,
    *,
    owner_id: str | None,
    currency: str,
    code: str,
    flags: AccountFlags = AccountFlags.NONE,
) -> Account:
    """The account for (owner, currency, code), created if missing; safe under concurrency.

    ``owner_id`` is None for platform accounts. Creation is ``INSERT ... ON CONFLICT DO
    NOTHING`` followed by a select, so two racing callers get the same account and the account
    exists (and can be locked) before any transfer touches it. Asking again with different
    ``flags`` is a :class:`Conflict`: an account's rules never change.
    """
    if owner_id is not None and (
        not isinstance(owner_id, str) or not 1 <= len(owner_id) <= ACCOUNT_ID_MAX
    ):
        raise ValidationFailed.on("owner_id", f"must be None or 1-{ACCOUNT_ID_MAX} characters")
    if not isinstance(currency, str) or not CURRENCY_RE.fullmatch(currency):
        raise ValidationFailed.on("currency", "must be a 3-letter upper-case currency code")
    if not isinstance(code, str) or not ACCOUNT_CODE_RE.fullmatch(code):
        raise ValidationFailed.on("code", "must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    if not isinstance(flags, AccountFlags) or int(flags) & ~int(_BOTH) or flags == _BOTH:
        raise ValidationFailed.on("flags", "must be at most one AccountFlags rule")

    key = and_(
        ACCOUNTS.c.owner_id.is_(None) if owner_id is None else ACCOUNTS.c.owner_id == owner_id,
        ACCOUNTS.c.currency == currency,
        ACCOUNTS.c.code == code,
    )
    connection = session.connection()
    row = connection.execute(select(ACCOUNTS).where(key)).mappings().first()
    if row is None:
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        values = {
            "id": new_id(),
            "owner_id": owner_id,
            "currency": currency,
            "code": code,
            "debits_must_not_exceed_credits": bool(
                flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            ),
            "credits_must_not_exceed_debits": bool(
                flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
            ),
            "debits_pending": 0,
            "debits_posted": 0,
            "credits_pending": 0,
            "credits_posted": 0,
            "created_at": utcnow(),
        }
        connection.execute(insert(ACCOUNTS).values(values).on_conflict_do_nothing())
        row = connection.execute(select(ACCOUNTS).where(key)).mappings().one()
    account = _to_account(row)
    if account.flags != flags:
        raise Conflict(
            f"account {owner_id}/{currency}/{code} exists with flags {account.flags!r}",
            [FieldError("flags", "differs from the existing account's flags")],
        )
    return account


def get_account(session: Session, account_id: str) -> Account:
    row = (
        session.connection()
        .execute(select(ACCOUNTS).where(ACCOUNTS.c.id == account_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"ledger account {account_id!r} not found")
    return _to_account(row)


def balance(session: Session, account_id: str) -> Balance:
    """The account's cached balances (kept equal to the journal in every transaction)."""
    return get_account(session, account_id).balance


def _to_account(row: Any) -> Account:
    flags = AccountFlags.NONE
    if row["debits_must_not_exceed_credits"]:
        flags |= AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    if row["credits_must_not_exceed_debits"]:
        flags |= AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    return Account(
        id=row["id"],
        owner_id=row["owner_id"],
        currency=row["currency"],
        code=row["code"],
        flags=flags,
        balance=Balance(
            debits_pending=row["debits_pending"],
            debits_posted=row["debits_posted"],
            credits_pending=row["credits_pending"],
            credits_posted=row["credits_posted"],
        ),
        created_at=row["created_at"],
    )

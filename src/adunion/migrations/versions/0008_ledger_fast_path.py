"""ledger fast path: one PostgreSQL function for a single plain transfer that will succeed

``ledger_fast_transfer`` locks both accounts in id order, checks (after the lock) that the id is
not taken, that both accounts exist, that the currencies agree, the no-overdraft rules and the
overflow limits, then appends the journal row and updates both balances. It returns true when it
wrote the transfer; in every other case it writes nothing and returns false, and the ledger's
Python path decides the request (replays, refusals, lasting failures). So it only ever takes the
decision "ok", under exactly the checks the Python path makes for that decision. SQLite has no
stored functions: nothing to do there.

Revision ID: 0008_ledger_fast_path
Revises: 0007_reporting
Create Date: 2026-11-25 18:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_ledger_fast_path"
down_revision: str | None = "0007_reporting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each statement of a VOLATILE plpgsql function takes a fresh snapshot (READ COMMITTED), so the
# id probe after the lock sees a concurrent writer of the same id that committed meanwhile.
# Sums are compared as numeric: the limit is BIGINT's maximum, which bigint arithmetic would
# overflow (an error) instead of comparing.
_FUNCTION = """
CREATE FUNCTION ledger_fast_transfer(
    p_id varchar, p_debit varchar, p_credit varchar, p_amount bigint, p_currency varchar,
    p_code varchar, p_reference varchar, p_metadata json, p_timestamp timestamptz
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    a record;
    d record;
    c record;
    has_d boolean := false;
    has_c boolean := false;
BEGIN
    FOR a IN
        SELECT id, currency, debits_must_not_exceed_credits AS dmnec,
               credits_must_not_exceed_debits AS cmned,
               debits_pending, debits_posted, credits_pending, credits_posted
        FROM ledger_accounts WHERE id IN (p_debit, p_credit)
        ORDER BY id FOR NO KEY UPDATE
    LOOP
        IF a.id = p_debit THEN d := a; has_d := true; ELSE c := a; has_c := true; END IF;
    END LOOP;
    IF NOT (has_d AND has_c) THEN
        RETURN false;
    END IF;
    PERFORM 1 FROM ledger_transfers WHERE id = p_id;
    IF FOUND THEN
        RETURN false;
    END IF;
    PERFORM 1 FROM ledger_failed_transfers WHERE id = p_id;
    IF FOUND THEN
        RETURN false;
    END IF;
    IF d.currency <> c.currency OR p_currency <> d.currency THEN
        RETURN false;
    END IF;
    IF d.dmnec AND d.debits_pending::numeric + d.debits_posted + p_amount > d.credits_posted THEN
        RETURN false;
    END IF;
    IF c.cmned AND c.credits_pending::numeric + c.credits_posted + p_amount > c.debits_posted THEN
        RETURN false;
    END IF;
    IF d.debits_pending::numeric + d.debits_posted + p_amount > 9223372036854775807
       OR c.credits_pending::numeric + c.credits_posted + p_amount > 9223372036854775807 THEN
        RETURN false;
    END IF;
    INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,
        code, reference, metadata, flags, pending_id, timeout_seconds, expires_at, timestamp)
    VALUES (p_id, p_debit, p_credit, p_amount, p_currency, p_code, p_reference, p_metadata, 0,
        NULL, NULL, NULL, p_timestamp);
    UPDATE ledger_accounts
       SET debits_posted = debits_posted + CASE WHEN id = p_debit THEN p_amount ELSE 0 END,
           credits_posted = credits_posted + CASE WHEN id = p_credit THEN p_amount ELSE 0 END
     WHERE id IN (p_debit, p_credit);
    RETURN true;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS ledger_fast_transfer("
            "varchar, varchar, varchar, bigint, varchar, varchar, varchar, json, timestamptz)"
        )

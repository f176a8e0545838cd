"""The journal: creating transfers (single, batched, linked, two-phase) and expiring holds.

How one call works, whatever its size:

1. Validate every request (no database access; bad input raises and writes nothing).
2. Load the holds that post/void requests name (immutable rows, so before any lock).
3. Lock the touched accounts in sorted id order (PostgreSQL ``FOR NO KEY UPDATE``; SQLite write
   transactions already hold the database write lock from ``BEGIN IMMEDIATE``), then read which
   ids already exist and which holds are already resolved. After the lock nobody else can change
   these accounts, so the in-memory decisions below are authoritative.
4. Decide every request in order against in-memory balances: a linked chain is undone in memory
   if any member fails, so no savepoint is needed.
5. Write with ``executemany``: the new journal rows, the lasting failures, one balance delta per
   touched account. The database re-checks the no-overdraft rule (CHECK constraints), the
   "a hold resolves once" rule (unique ``pending_id``) and append-only (triggers).

The caller owns the transaction and commits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from adunion.kernel.clock import utcnow
from adunion.kernel.db import Database
from adunion.ledger.errors import TransferRefused
from adunion.ledger.models import LedgerAccount, LedgerFailedTransfer, LedgerTransfer
from adunion.ledger.schemas import (
    LASTING_FAILURES,
    HoldStatus,
    ResultCode,
    Transfer,
    TransferFlags,
    TransferRequest,
    TransferResult,
    new_transfer,
    new_transfer_result,
)
from adunion.ledger.store import Store
from adunion.ledger.validation import Req, validate_now, validate_transfers

ACCOUNTS = cast(Table, LedgerAccount.__table__)
TRANSFERS = cast(Table, LedgerTransfer.__table__)
FAILED = cast(Table, LedgerFailedTransfer.__table__)

BIGINT_MAX = 2**63 - 1
EXPIRY_ID_PREFIX = "~expired/"  # "~" is not allowed in client ids, so these never collide
_NO_BALANCE_EFFECT = TransferFlags.PENDING | TransferFlags.VOID_PENDING
# Plain ints for the hot path: IntFlag operators run Python code, int & int does not.
_LINKED = int(TransferFlags.LINKED)
_PENDING = int(TransferFlags.PENDING)
_POST_PENDING = int(TransferFlags.POST_PENDING)
_VOID_PENDING = int(TransferFlags.VOID_PENDING)
_EXPIRED = int(TransferFlags.EXPIRED)
_NO_FLAGS = TransferFlags(0)
_OK = ResultCode.OK

# A single plain transfer goes through ``Store.fast_transfer`` first (PostgreSQL: the function
# ``ledger_fast_transfer``; SQLite: two statements); it writes only when the request succeeds,
# otherwise the general path decides it.
# ADUNION_LEDGER_FAST_PATH=0 switches it off (the tests run the suite both ways with it).
FAST_PATH = os.environ.get("ADUNION_LEDGER_FAST_PATH", "1") != "0"

_select_transfers = select(TRANSFERS).where(TRANSFERS.c.id.in_(bindparam("ids", expanding=True)))
_select_resolutions = select(TRANSFERS.c.pending_id, TRANSFERS.c.flags).where(
    TRANSFERS.c.pending_id.in_(bindparam("ids", expanding=True))
)

# --- public API ----------------------------------------------------------------------------


def create_transfers(
    session: Session, requests: Sequence[TransferRequest], *, now: datetime | None = None
) -> list[TransferResult]:
    """Create transfers in order; one result per request, in the same order.

    Requests flagged ``LINKED`` form a chain with the next request; a chain succeeds or fails as
    a whole (the failing member gets its own code, the others ``linked_event_failed``). Bad input
    raises :class:`~adunion.kernel.errors.ValidationFailed` before anything is written.
    """
    checked = validate_transfers(requests)
    when = utcnow() if now is None else now
    validate_now(when)
    if not checked:
        return []
    store = Store.of(session.connection())
    if FAST_PATH and _fast_eligible(checked):
        fast = _fast(store, checked[0], when)
        if fast is not None:
            return [fast]
    return _Journal(store, when).run(checked)


def submit(
    database: Database, requests: Sequence[TransferRequest], *, now: datetime | None = None
) -> list[TransferResult]:
    """:func:`create_transfers` in a transaction of its own, committed before it returns.

    For callers with nothing else to write in the same transaction. Same validation, locking,
    decisions and durability (a spare driver connection opened through the same pool, so the
    same SQLite PRAGMAs; SQLite write transactions begin ``IMMEDIATE`` as
    :meth:`Database.transaction` does), but without the ORM session around it. Bad input raises
    before the database is touched; on any error the transaction is rolled back and nothing is
    written.

    The spare connection is not checked before use (on PostgreSQL that would be a round trip
    per call). If it turns out dead (the server restarted, the backend was terminated), it is
    discarded and the call is made once more on a fresh connection. Transfer ids make the second
    attempt safe even when the lost answer was a commit: it then finds the stored transfers
    (``exists``) and nothing is applied twice.
    """
    checked = validate_transfers(requests)
    when = utcnow() if now is None else now
    validate_now(when)
    if not checked:
        return []
    try:
        return _submit(database, checked, when)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return _submit(database, checked, when)


def transfer(
    session: Session,
    *,
    id: str,
    debit_account_id: str,
    credit_account_id: str,
    amount: int,
    currency: str,
    code: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Move ``amount`` at once; returns the stored transfer (also on an identical replay)."""
    request = TransferRequest(
        id=id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=amount,
        currency=currency,
        code=code,
        reference=reference,
        metadata=metadata,
    )
    return _one(session, request, now)


def hold(
    session: Session,
    *,
    id: str,
    debit_account_id: str,
    credit_account_id: str,
    amount: int,
    currency: str,
    code: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    timeout_seconds: int | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Reserve ``amount`` (a pending transfer) until posted, voided or expired."""
    request = TransferRequest(
        id=id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=amount,
        currency=currency,
        code=code,
        reference=reference,
        metadata=metadata,
        flags=TransferFlags.PENDING,
        timeout_seconds=timeout_seconds,
    )
    return _one(session, request, now)


def post_pending(
    session: Session,
    *,
    id: str,
    pending_id: str,
    amount: int | None = None,
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Post a hold: all of it (``amount=None``) or part of it; the rest is released."""
    request = TransferRequest(
        id=id,
        pending_id=pending_id,
        amount=amount,
        reference=reference,
        metadata=metadata,
        flags=TransferFlags.POST_PENDING,
    )
    return _one(session, request, now)


def void_pending(
    session: Session,
    *,
    id: str,
    pending_id: str,
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Release a hold."""
    request = TransferRequest(
        id=id,
        pending_id=pending_id,
        reference=reference,
        metadata=metadata,
        flags=TransferFlags.VOID_PENDING,
    )
    return _one(session, request, now)


def expire_pending(session: Session, now: datetime | None = None, *, limit: int = 1000) -> int:
    """Void up to ``limit`` holds whose timeout has passed; returns how many it expired.

    Each expiry is a journal row ``~expired/<hold id>`` flagged void + expired, so re-running
    (or two jobs racing) cannot expire a hold twice. Call it again while it returns ``limit``.
    """
    when = utcnow() if now is None else now
    validate_now(when)
    resolution = TRANSFERS.alias("resolution")
    due = (
        select(TRANSFERS.c.id)
        .select_from(TRANSFERS.outerjoin(resolution, resolution.c.pending_id == TRANSFERS.c.id))
        .where(TRANSFERS.c.expires_at <= when, resolution.c.id.is_(None))
        .order_by(TRANSFERS.c.expires_at, TRANSFERS.c.id)
        .limit(limit)
    )
    connection = session.connection()
    hold_ids = list(connection.execute(due).scalars())
    if not hold_ids:
        return 0
    requests = [
        TransferRequest(
            id=EXPIRY_ID_PREFIX + hold_id,
            pending_id=hold_id,
            flags=TransferFlags.VOID_PENDING | TransferFlags.EXPIRED,
        )
        for hold_id in hold_ids
    ]
    checked = validate_transfers(requests, internal=True)
    results = _Journal(Store.of(connection), when).run(checked)
    return sum(1 for result in results if result.code is ResultCode.OK)


def get_transfer(session: Session, transfer_id: str) -> Transfer | None:
    row = session.connection().execute(_select_transfers, {"ids": [transfer_id]}).first()
    return None if row is None else _to_transfer(row._mapping)


def hold_status(session: Session, pending_id: str) -> HoldStatus | None:
    """The state of a hold, or None when ``pending_id`` is not a pending transfer."""
    connection = session.connection()
    found = connection.execute(_select_transfers, {"ids": [pending_id]}).first()
    if found is None or not found.flags & TransferFlags.PENDING:
        return None
    resolved = connection.execute(_select_resolutions, {"ids": [pending_id]}).first()
    return HoldStatus.PENDING if resolved is None else _status_of(resolved.flags)


# --- internals -----------------------------------------------------------------------------


def _submit(database: Database, checked: list[Req], when: datetime) -> list[TransferResult]:
    """One attempt of :func:`submit` on a spare driver connection. A driver error that shows the
    connection is dead discards it and is raised with ``connection_invalidated`` set."""
    if not database.has_driver_spares:  # SQLite :memory:: the pool's one connection
        raw = database.engine.raw_connection()
        try:
            return _submit_on(Store(raw.dbapi_connection, sqlite=True), checked, when)
        finally:
            raw.close()
    dbapi = database.take_driver_connection()
    store = Store(dbapi, sqlite=database.is_sqlite)
    try:
        results = _submit_on(store, checked, when)
    except DBAPIError as exc:
        orig: Any = exc.orig
        dead = orig is not None and database.engine.dialect.is_disconnect(orig, dbapi, None)
        exc.connection_invalidated = dead
        database.give_back_driver_connection(dbapi, broken=dead or not _idle(store))
        raise
    except BaseException:
        database.give_back_driver_connection(dbapi, broken=not _idle(store))
        raise
    database.give_back_driver_connection(dbapi)
    return results


def _submit_on(store: Store, checked: list[Req], when: datetime) -> list[TransferResult]:
    """The calls in a transaction of their own on an idle driver connection in autocommit
    mode, which is left idle and in autocommit again; on an error the transaction is rolled
    back (while the connection still can be) and the error raised."""
    dbapi: Any = store.dbapi
    try:
        if store.sqlite:
            return _sqlite_unit(store, checked, when)
        if FAST_PATH and _fast_eligible(checked):
            # The function call is the whole transaction: in autocommit it is sent and
            # committed in one round trip. It writes nothing unless the transfer succeeds.
            fast = _fast(store, checked[0], when)
            if fast is not None:
                return [fast]
        dbapi.autocommit = False
        results = _Journal(store, when).run(checked)
        store.commit()
        dbapi.autocommit = True
        return results
    except BaseException:
        if store.sqlite:
            dbapi.rollback()
        elif not dbapi.closed:
            dbapi.rollback()
            dbapi.autocommit = True
        raise


def _idle(store: Store) -> bool:
    """Whether the connection can be used again: open, no transaction, autocommit mode."""
    dbapi: Any = store.dbapi
    if store.sqlite:
        return not dbapi.in_transaction
    import psycopg

    return bool(
        not dbapi.closed
        and dbapi.autocommit
        and dbapi.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    )


def _sqlite_unit(store: Store, checked: list[Req], when: datetime) -> list[TransferResult]:
    """SQLite: BEGIN IMMEDIATE, the calls, COMMIT; the caller rolls back if this raises."""
    store.begin_immediate()
    if FAST_PATH and _fast_eligible(checked):
        # No savepoint: this transaction holds nothing else, so when the fast path declines,
        # all of it is rolled back and the general path starts afresh.
        fast = _fast(store, checked[0], when, own_transaction=True)
        if fast is not None:
            store.commit()
            return [fast]
        store.dbapi.rollback()
        store.begin_immediate()
    results = _Journal(store, when).run(checked)
    store.commit()
    return results


def _fast_eligible(checked: list[Req]) -> bool:
    """One plain transfer (validation guarantees accounts, amount and currency are set, and no
    pending_id or timeout without the matching flag)."""
    return len(checked) == 1 and checked[0].flags == 0


def _fast(
    store: Store, r: Req, now: datetime, *, own_transaction: bool = False
) -> TransferResult | None:
    """The fast path: the result "ok" if the store wrote the transfer, else None (nothing
    written). The transfer is built exactly as the general path builds it."""
    assert r.debit_account_id is not None
    assert r.credit_account_id is not None
    assert r.amount is not None
    assert r.currency is not None
    if not store.fast_transfer(
        r.id,
        r.debit_account_id,
        r.credit_account_id,
        r.amount,
        r.currency,
        r.code,
        r.reference,
        r.metadata,
        now,
        own_transaction=own_transaction,
    ):
        return None
    transfer = new_transfer(
        r.id,
        r.debit_account_id,
        r.credit_account_id,
        r.amount,
        r.currency,
        r.code,
        r.reference,
        r.metadata,
        _NO_FLAGS,
        None,
        None,
        None,
        now,
    )
    return new_transfer_result(0, r.id, _OK, transfer, None)


def _one(session: Session, request: TransferRequest, now: datetime | None) -> Transfer:
    [result] = create_transfers(session, [request], now=now)
    if not result.ok or result.transfer is None:
        raise TransferRefused.from_result(result)
    return result.transfer


def _status_of(flags: int) -> HoldStatus:
    if flags & _EXPIRED:
        return HoldStatus.EXPIRED
    if flags & _POST_PENDING:
        return HoldStatus.POSTED
    return HoldStatus.VOIDED


_FLAGS: dict[int, TransferFlags] = {}


def _flags_of(value: int) -> TransferFlags:
    """TransferFlags(value), memoised (the enum constructor is slow on the hot path)."""
    flags = _FLAGS.get(value)
    if flags is None:
        flags = _FLAGS[value] = TransferFlags(value)
    return flags


def _to_transfer(row: Any) -> Transfer:
    return Transfer(
        id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount=row["amount"],
        currency=row["currency"],
        code=row["code"],
        reference=row["reference"],
        metadata=row["metadata"],
        flags=_flags_of(row["flags"]),
        pending_id=row["pending_id"],
        timeout_seconds=row["timeout_seconds"],
        expires_at=row["expires_at"],
        timestamp=row["timestamp"],
    )


class _Account:
    __slots__ = (
        "cmned",
        "cp",
        "cp0",
        "cpo",
        "cpo0",
        "currency",
        "dmnec",
        "dp",
        "dp0",
        "dpo",
        "dpo0",
        "id",
    )

    def __init__(self, row: Any) -> None:
        self.id: str = row[0]
        self.currency: str = row[1]
        self.dmnec: bool = bool(row[2])
        self.cmned: bool = bool(row[3])
        self.dp: int = row[4]
        self.dpo: int = row[5]
        self.cp: int = row[6]
        self.cpo: int = row[7]
        self.dp0, self.dpo0, self.cp0, self.cpo0 = self.dp, self.dpo, self.cp, self.cpo


@dataclass(slots=True)
class _Decision:
    code: ResultCode
    field: str | None = None
    row: dict[str, Any] | None = None  # journal row to insert (ok) or the one replayed (exists)
    failure: dict[str, Any] | None = None  # lasting failure to store


# Fields compared on replay, in this order; the first difference names the result.
_REPLAY_FIELDS: tuple[tuple[str, ResultCode], ...] = (
    ("flags", ResultCode.EXISTS_WITH_DIFFERENT_FLAGS),
    ("pending_id", ResultCode.EXISTS_WITH_DIFFERENT_PENDING_ID),
    ("debit_account_id", ResultCode.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID),
    ("credit_account_id", ResultCode.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID),
    ("amount", ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT),
    ("currency", ResultCode.EXISTS_WITH_DIFFERENT_CURRENCY),
    ("code", ResultCode.EXISTS_WITH_DIFFERENT_CODE),
    ("reference", ResultCode.EXISTS_WITH_DIFFERENT_REFERENCE),
    ("metadata", ResultCode.EXISTS_WITH_DIFFERENT_METADATA),
    ("timeout_seconds", ResultCode.EXISTS_WITH_DIFFERENT_TIMEOUT),
)
_FIELD_OF_CODE = {
    ResultCode.DEBIT_ACCOUNT_NOT_FOUND: "debit_account_id",
    ResultCode.CREDIT_ACCOUNT_NOT_FOUND: "credit_account_id",
    ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY: "credit_account_id",
    ResultCode.TRANSFER_MUST_HAVE_THE_SAME_CURRENCY_AS_ACCOUNTS: "currency",
    ResultCode.EXCEEDS_CREDITS: "amount",
    ResultCode.EXCEEDS_DEBITS: "amount",
    ResultCode.OVERFLOWS_DEBITS: "amount",
    ResultCode.OVERFLOWS_CREDITS: "amount",
    ResultCode.PENDING_TRANSFER_NOT_FOUND: "pending_id",
    ResultCode.PENDING_TRANSFER_NOT_PENDING: "pending_id",
    ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID: "debit_account_id",
    ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID: "credit_account_id",
    ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY: "currency",
    ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT: "amount",
    ResultCode.EXCEEDS_PENDING_TRANSFER_AMOUNT: "amount",
    ResultCode.PENDING_TRANSFER_ALREADY_POSTED: "pending_id",
    ResultCode.PENDING_TRANSFER_ALREADY_VOIDED: "pending_id",
    ResultCode.PENDING_TRANSFER_EXPIRED: "pending_id",
}


class _Journal:
    def __init__(self, store: Store, now: datetime) -> None:
        self.store = store
        self.now = now
        self.accounts: dict[str, _Account] = {}
        self.holds: dict[str, dict[str, Any]] = {}  # pending transfers by id (stored or new)
        self.resolved: dict[str, HoldStatus] = {}  # hold id -> how it was resolved
        self.existing: dict[str, dict[str, Any]] = {}  # stored or created in this call
        self.failed: dict[str, dict[str, Any]] = {}  # lasting failures, stored or new
        self.new_rows: list[dict[str, Any]] = []
        self.new_failures: list[dict[str, Any]] = []

    # -- loading --

    def _load(self, requests: list[Req]) -> None:
        store = self.store
        pending_ids = sorted({r.pending_id for r in requests if r.pending_id is not None})
        if pending_ids:
            for row in store.transfers(pending_ids):
                if row["flags"] & _PENDING:
                    self.holds[row["id"]] = row
                else:
                    # Kept so a post/void naming a non-hold gets pending_transfer_not_pending.
                    self.existing[row["id"]] = row
        account_ids: set[str | None] = {r.debit_account_id for r in requests}
        account_ids.update([r.credit_account_id for r in requests])
        account_ids.discard(None)
        for found in self.holds.values():
            account_ids.add(found["debit_account_id"])
            account_ids.add(found["credit_account_id"])
        ids = [requests[0].id] if len(requests) == 1 else sorted({r.id for r in requests})
        # Lock (sorted), then -- after the lock, so a concurrent writer of the same id or hold
        # has committed and is seen -- which ids are taken and which holds are resolved.
        accounts, existing, failed, resolutions = store.lock_and_probe(
            sorted(cast(set[str], account_ids)), ids, sorted(self.holds)
        )
        for account_row in accounts:
            self.accounts[account_row[0]] = _Account(account_row)
        for row in existing:
            self.existing[row["id"]] = row
        for row in failed:
            self.failed[row["id"]] = row
        for pending_id, flags in resolutions:
            self.resolved[pending_id] = _status_of(flags)

    # -- deciding --

    def run(self, requests: list[Req]) -> list[TransferResult]:
        self._load(requests)
        results: list[TransferResult] = []
        chain: list[Req] = []
        plain = self._plain
        for request in requests:
            if not chain and request.flags == 0:
                results.append(plain(request, len(results)))
                continue
            chain.append(request)
            if not request.flags & _LINKED:
                self._decide_chain(chain, len(results), results)
                chain = []
        self._write()
        return results

    def _decide_chain(self, chain: list[Req], start: int, results: list[TransferResult]) -> None:
        if len(chain) == 1:
            decision = self._decide(chain[0], [])
            self._commit_decision(chain[0], decision)
            results.append(self._result(start, chain[0], decision))
            return
        # A chain replayed whole (every id taken by this very chain) answers like single replays.
        if all(r.id in self.existing or r.id in self.failed for r in chain):
            for offset, r in enumerate(chain):
                results.append(self._result(start + offset, r, self._decide(r, [])))
            return
        undo: list[tuple[_Account, int, int, int, int]] = []
        decisions: list[_Decision] = []
        mark = len(self.new_rows)
        failed_at: int | None = None
        for offset, r in enumerate(chain):
            decision = self._decide(r, undo)
            decisions.append(decision)
            if decision.code is not ResultCode.OK:
                failed_at = offset
                break
            self._commit_decision(r, decision)
        if failed_at is None:
            for offset, r in enumerate(chain):
                results.append(self._result(start + offset, r, decisions[offset]))
            return
        # Undo the chain in memory: balances, new rows, resolutions.
        for account, dp, dpo, cp, cpo in reversed(undo):
            account.dp, account.dpo, account.cp, account.cpo = dp, dpo, cp, cpo
        for row in self.new_rows[mark:]:
            self.existing.pop(row["id"], None)
            self.holds.pop(row["id"], None)
            if row["pending_id"] is not None:
                # It was unresolved before this chain, or the member would have failed.
                self.resolved.pop(row["pending_id"], None)
        del self.new_rows[mark:]
        failure = decisions[failed_at]
        if failure.failure is not None and failure.code in LASTING_FAILURES:
            self._store_failure(failure.failure)
        for offset, r in enumerate(chain):
            if offset == failed_at:
                results.append(self._result(start + offset, r, failure))
            else:
                skipped = _Decision(ResultCode.LINKED_EVENT_FAILED)
                results.append(self._result(start + offset, r, skipped))

    def _plain(self, r: Req, index: int) -> TransferResult:
        """A plain transfer outside a chain: the decision of :meth:`_decide` for it, with the
        successful case inline (no normalised copy, no decision object, no dict-to-Transfer);
        every other case goes through the general code."""
        id_ = r.id
        debit = self.accounts.get(r.debit_account_id)  # type: ignore[arg-type]
        credit = self.accounts.get(r.credit_account_id)  # type: ignore[arg-type]
        amount: int = r.amount  # type: ignore[assignment]
        if (
            debit is None
            or credit is None
            or id_ in self.existing
            or id_ in self.failed
            or debit.currency != credit.currency
            or r.currency != debit.currency
            or (debit.dmnec and debit.dp + debit.dpo + amount > debit.cpo)
            or (credit.cmned and credit.cp + credit.cpo + amount > credit.dpo)
            or debit.dp + debit.dpo + amount > BIGINT_MAX
            or credit.cp + credit.cpo + amount > BIGINT_MAX
        ):
            decision = self._decide(r, [])
            self._commit_decision(r, decision)
            return self._result(index, r, decision)
        debit.dpo += amount
        credit.cpo += amount
        now = self.now
        row = {
            "id": id_,
            "debit_account_id": r.debit_account_id,
            "credit_account_id": r.credit_account_id,
            "amount": amount,
            "currency": r.currency,
            "code": r.code,
            "reference": r.reference,
            "metadata": r.metadata,
            "flags": 0,
            "pending_id": None,
            "timeout_seconds": None,
            "timestamp": now,
            "expires_at": None,
        }
        self.new_rows.append(row)
        self.existing[id_] = row
        transfer = new_transfer(
            id_,
            r.debit_account_id,
            r.credit_account_id,
            amount,
            r.currency,
            r.code,
            r.reference,
            r.metadata,
            _NO_FLAGS,
            None,
            None,
            None,
            now,
        )
        return new_transfer_result(index, id_, _OK, transfer, None)

    def _commit_decision(self, request: Req, decision: _Decision) -> None:
        if decision.code is ResultCode.OK and decision.row is not None:
            row = decision.row
            self.new_rows.append(row)
            self.existing[row["id"]] = row
            if row["flags"] & _PENDING:
                self.holds[row["id"]] = row
            if row["pending_id"] is not None:
                self.resolved[row["pending_id"]] = _status_of(row["flags"])
        elif decision.failure is not None and decision.code in LASTING_FAILURES:
            self._store_failure(decision.failure)

    def _store_failure(self, failure: dict[str, Any]) -> None:
        self.new_failures.append(failure)
        self.failed[failure["id"]] = failure

    def _result(self, index: int, request: Req, decision: _Decision) -> TransferResult:
        transfer = None
        if decision.code in (ResultCode.OK, ResultCode.EXISTS) and decision.row is not None:
            transfer = _to_transfer(decision.row)
        field = decision.field or _FIELD_OF_CODE.get(decision.code)
        return new_transfer_result(index, request.id, decision.code, transfer, field)

    def _normalise(self, r: Req) -> dict[str, Any]:
        """The request as it would be stored: post/void take missing values from the hold."""
        row: dict[str, Any] = {
            "id": r.id,
            "debit_account_id": r.debit_account_id,
            "credit_account_id": r.credit_account_id,
            "amount": r.amount,
            "currency": r.currency,
            "code": r.code,
            "reference": r.reference,
            "metadata": r.metadata,
            "flags": r.flags,
            "pending_id": r.pending_id,
            "timeout_seconds": r.timeout_seconds,
        }
        if r.resolves and r.pending_id is not None:
            found = self.holds.get(r.pending_id) or self.existing.get(r.pending_id)
            if found is not None:
                for key in ("debit_account_id", "credit_account_id", "currency", "amount"):
                    if row[key] is None:
                        row[key] = found[key]
                if not row["code"]:
                    row["code"] = found["code"]
        return row

    def _replay(self, wanted: dict[str, Any], stored: dict[str, Any], failed: bool) -> _Decision:
        for key, code in _REPLAY_FIELDS:
            if wanted[key] != stored[key]:
                if failed:
                    return _Decision(ResultCode.ID_ALREADY_FAILED, field=key)
                return _Decision(code, field=key)
        if failed:
            return _Decision(ResultCode(stored["result"]))
        return _Decision(ResultCode.EXISTS, row=stored)

    def _decide(self, r: Req, undo: list[tuple[_Account, int, int, int, int]]) -> _Decision:
        row = self._normalise(r)
        stored = self.existing.get(r.id)
        if stored is not None:
            return self._replay(row, stored, failed=False)
        stored_failure = self.failed.get(r.id)
        if stored_failure is not None:
            return self._replay(row, stored_failure, failed=True)

        def lasting(code: ResultCode) -> _Decision:
            failure = dict(row, result=code.value, timestamp=self.now)
            return _Decision(code, failure=failure)

        amount: int
        if r.resolves:
            assert r.pending_id is not None
            found = self.holds.get(r.pending_id)
            if found is None:
                if r.pending_id in self.existing:
                    return lasting(ResultCode.PENDING_TRANSFER_NOT_PENDING)
                return _Decision(ResultCode.PENDING_TRANSFER_NOT_FOUND)
            if row["debit_account_id"] != found["debit_account_id"]:
                return lasting(ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID)
            if row["credit_account_id"] != found["credit_account_id"]:
                return lasting(ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID)
            if row["currency"] != found["currency"]:
                return lasting(ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY)
            status = self.resolved.get(r.pending_id)
            if status is HoldStatus.POSTED:
                return lasting(ResultCode.PENDING_TRANSFER_ALREADY_POSTED)
            if status is HoldStatus.VOIDED:
                return lasting(ResultCode.PENDING_TRANSFER_ALREADY_VOIDED)
            if status is HoldStatus.EXPIRED:
                return lasting(ResultCode.PENDING_TRANSFER_EXPIRED)
            expires_at = found["expires_at"]
            if expires_at is not None and expires_at <= self.now and not r.flags & _EXPIRED:
                return lasting(ResultCode.PENDING_TRANSFER_EXPIRED)
            held: int = found["amount"]
            amount = row["amount"]
            if r.flags & _VOID_PENDING and amount != held:
                return lasting(ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT)
            if amount > held:
                return lasting(ResultCode.EXCEEDS_PENDING_TRANSFER_AMOUNT)
            debit = self.accounts[found["debit_account_id"]]
            credit = self.accounts[found["credit_account_id"]]
            undo.append((debit, debit.dp, debit.dpo, debit.cp, debit.cpo))
            undo.append((credit, credit.dp, credit.dpo, credit.cp, credit.cpo))
            debit.dp -= held
            credit.cp -= held
            if r.flags & _POST_PENDING:
                # Posting at most the held amount cannot break a balance rule or overflow.
                debit.dpo += amount
                credit.cpo += amount
        else:
            maybe_debit = self.accounts.get(row["debit_account_id"])
            if maybe_debit is None:
                return _Decision(ResultCode.DEBIT_ACCOUNT_NOT_FOUND)
            maybe_credit = self.accounts.get(row["credit_account_id"])
            if maybe_credit is None:
                return _Decision(ResultCode.CREDIT_ACCOUNT_NOT_FOUND)
            debit, credit = maybe_debit, maybe_credit
            if debit.currency != credit.currency:
                return lasting(ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY)
            if row["currency"] != debit.currency:
                return lasting(ResultCode.TRANSFER_MUST_HAVE_THE_SAME_CURRENCY_AS_ACCOUNTS)
            amount = row["amount"]
            if debit.dmnec and debit.dp + debit.dpo + amount > debit.cpo:
                return _Decision(ResultCode.EXCEEDS_CREDITS)
            if credit.cmned and credit.cp + credit.cpo + amount > credit.dpo:
                return _Decision(ResultCode.EXCEEDS_DEBITS)
            if debit.dp + debit.dpo + amount > BIGINT_MAX:
                return _Decision(ResultCode.OVERFLOWS_DEBITS)
            if credit.cp + credit.cpo + amount > BIGINT_MAX:
                return _Decision(ResultCode.OVERFLOWS_CREDITS)
            undo.append((debit, debit.dp, debit.dpo, debit.cp, debit.cpo))
            undo.append((credit, credit.dp, credit.dpo, credit.cp, credit.cpo))
            if r.flags & _PENDING:
                debit.dp += amount
                credit.cp += amount
            else:
                debit.dpo += amount
                credit.cpo += amount

        row["amount"] = amount
        row["timestamp"] = self.now
        timeout = row["timeout_seconds"]
        row["expires_at"] = None if timeout is None else self.now + timedelta(seconds=timeout)
        return _Decision(ResultCode.OK, row=row)

    # -- writing --

    def _write(self) -> None:
        deltas = [
            (a.id, a.dp - a.dp0, a.dpo - a.dpo0, a.cp - a.cp0, a.cpo - a.cpo0)
            for a in sorted(self.accounts.values(), key=lambda a: a.id)
            if (a.dp, a.dpo, a.cp, a.cpo) != (a.dp0, a.dpo0, a.cp0, a.cpo0)
        ]
        if self.new_rows or self.new_failures or deltas:
            self.store.write(self.new_rows, self.new_failures, deltas)

"""How ``create_transfers`` decides a call, whatever its size (the caller has validated it):

1. Load the holds that post/void requests name (immutable rows, so before any lock).
2. Lock the touched accounts in sorted id order (PostgreSQL ``FOR NO KEY UPDATE``; SQLite write
   transactions already hold the database write lock from ``BEGIN IMMEDIATE``), then read which
   ids already exist and which holds are already resolved. After the lock nobody else can change
   these accounts, so the in-memory decisions below are authoritative.
3. Decide every request in order against in-memory balances: a linked chain is undone in memory
   if any member fails, so no savepoint is needed.
4. Write with ``executemany``: the new journal rows, the lasting failures, one balance delta per
   touched account. The database re-checks the no-overdraft rule (CHECK constraints), the
   "a hold resolves once" rule (unique ``pending_id``) and append-only (triggers).

The SQL is in :mod:`adunion.ledger.repository`; the caller owns the transaction and commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from adunion.ledger.repository import Repository
from adunion.ledger.schemas import (
    LASTING_FAILURES,
    HoldStatus,
    ResultCode,
    TransferFlags,
    TransferResult,
    new_transfer,
    new_transfer_result,
    status_of,
    to_transfer,
)
from adunion.ledger.validation import Req

BIGINT_MAX = 2**63 - 1
# Plain ints for the hot path: IntFlag operators run Python code, int & int does not.
_LINKED = int(TransferFlags.LINKED)
_PENDING = int(TransferFlags.PENDING)
_POST_PENDING = int(TransferFlags.POST_PENDING)
_VOID_PENDING = int(TransferFlags.VOID_PENDING)
_EXPIRED = int(TransferFlags.EXPIRED)
_NO_FLAGS = TransferFlags(0)
_OK = ResultCode.OK


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


class Decider:
    """One call of ``create_transfers``: load, decide in memory, write (steps 1-4 above)."""

    def __init__(self, repository: Repository, now: datetime) -> None:
        self.repository = repository
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
        repository = self.repository
        pending_ids = sorted({r.pending_id for r in requests if r.pending_id is not None})
        if pending_ids:
            for row in repository.transfers(pending_ids):
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
        accounts, existing, failed, resolutions = repository.lock_and_probe(
            sorted(cast(set[str], account_ids)), ids, sorted(self.holds)
        )
        for account_row in accounts:
            self.accounts[account_row[0]] = _Account(account_row)
        for row in existing:
            self.existing[row["id"]] = row
        for row in failed:
            self.failed[row["id"]] = row
        for pending_id, flags in resolutions:
            self.resolved[pending_id] = status_of(flags)

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
                self.resolved[row["pending_id"]] = status_of(row["flags"])
        elif decision.failure is not None and decision.code in LASTING_FAILURES:
            self._store_failure(decision.failure)

    def _store_failure(self, failure: dict[str, Any]) -> None:
        self.new_failures.append(failure)
        self.failed[failure["id"]] = failure

    def _result(self, index: int, request: Req, decision: _Decision) -> TransferResult:
        transfer = None
        if decision.code in (ResultCode.OK, ResultCode.EXISTS) and decision.row is not None:
            transfer = to_transfer(decision.row)
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
            self.repository.write(self.new_rows, self.new_failures, deltas)

"""Random sequences of ledger operations against a small in-memory model.

After every step: total debits = total credits (posted and pending), no customer below zero,
each hold resolved at most once, cached balances = journal (``verify`` is empty), the database
matches the model, and every result (including replays) is the one the model predicts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from adunion import ledger
from adunion.kernel.db import Database
from adunion.ledger import (
    LASTING_FAILURES,
    HoldStatus,
    ResultCode,
    TransferFlags,
    TransferRequest,
)
from adunion.ledger.models import TRANSFERS

CUSTOMER = ledger.AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
PENDING, POST, VOID = TransferFlags.PENDING, TransferFlags.POST_PENDING, TransferFlags.VOID_PENDING
_machines = itertools.count()

amounts = st.integers(min_value=1, max_value=120)


@dataclass
class ModelHold:
    debit: str
    credit: str
    amount: int
    expires_at: datetime | None
    status: HoldStatus = HoldStatus.PENDING


class LedgerMachine(RuleBasedStateMachine):
    done = Bundle("done")  # requests that succeeded or failed for good: replayable
    holds = Bundle("holds")

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database
        number = next(_machines)
        self.prefix = f"m{number}-"
        # Each machine lives in its own stretch of time, earlier than the previous machine's,
        # so expiring here never touches holds left behind by earlier examples.
        self.now = datetime(2100, 1, 1, tzinfo=UTC) - timedelta(days=30 * number)
        self.ids = itertools.count()
        self.balances: dict[str, list[int]] = {}  # dp, dpo, cp, cpo
        self.model_holds: dict[str, ModelHold] = {}
        self.outcomes: dict[str, tuple[TransferRequest, ResultCode, int | None]] = {}
        self.retryable: list[list[TransferRequest]] = []  # transient failures (whole chains)

    # -- setup --

    @initialize()
    def open_accounts(self) -> None:
        with self.database.transaction() as session:
            self.cash = ledger.get_or_create_account(
                session, owner_id=None, currency="USD", code=f"{self.prefix}cash"
            ).id
            self.customers = [
                ledger.get_or_create_account(
                    session,
                    owner_id=f"{self.prefix}{n}",
                    currency="USD",
                    code="customer_available",
                    flags=CUSTOMER,
                ).id
                for n in range(3)
            ]
        for account_id in (self.cash, *self.customers):
            self.balances[account_id] = [0, 0, 0, 0]

    def new_id(self) -> str:
        return f"{self.prefix}{next(self.ids)}"

    # -- the model's rules --

    def predict(self, r: TransferRequest) -> tuple[ResultCode, int | None]:
        """Expected code and amount for ``r``; applies it to the model when it succeeds."""
        known = self.outcomes.get(r.id)
        if known is not None:
            original, code, stored_amount = known
            same = replace(r, amount=self.full_amount(r)) == replace(
                original, amount=self.full_amount(original)
            )
            if code is ResultCode.OK:
                return (
                    (ResultCode.EXISTS, stored_amount)
                    if same
                    else (
                        ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT,
                        None,
                    )
                )
            return (code, None) if same else (ResultCode.ID_ALREADY_FAILED, None)
        if r.flags & (POST | VOID):
            assert r.pending_id is not None
            found = self.model_holds.get(r.pending_id)
            if found is None:
                return ResultCode.PENDING_TRANSFER_NOT_FOUND, None
            status_codes = {
                HoldStatus.POSTED: ResultCode.PENDING_TRANSFER_ALREADY_POSTED,
                HoldStatus.VOIDED: ResultCode.PENDING_TRANSFER_ALREADY_VOIDED,
                HoldStatus.EXPIRED: ResultCode.PENDING_TRANSFER_EXPIRED,
            }
            if found.status in status_codes:
                return status_codes[found.status], None
            if found.expires_at is not None and found.expires_at <= self.now:
                return ResultCode.PENDING_TRANSFER_EXPIRED, None
            amount = found.amount if r.amount is None else r.amount
            # A void's explicit amount must be the hold's (docs/ledger.md), larger or smaller:
            # that rule comes first, "exceeds" is the post's.
            if r.flags & VOID and amount != found.amount:
                return ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT, None
            if amount > found.amount:
                return ResultCode.EXCEEDS_PENDING_TRANSFER_AMOUNT, None
            self.balances[found.debit][0] -= found.amount
            self.balances[found.credit][2] -= found.amount
            if r.flags & POST:
                self.balances[found.debit][1] += amount
                self.balances[found.credit][3] += amount
                found.status = HoldStatus.POSTED
            else:
                found.status = HoldStatus.VOIDED
            return ResultCode.OK, amount
        assert r.debit_account_id is not None and r.credit_account_id is not None
        assert r.amount is not None
        debit = self.balances[r.debit_account_id]
        credit = self.balances[r.credit_account_id]
        if r.debit_account_id != self.cash and debit[0] + debit[1] + r.amount > debit[3]:
            return ResultCode.EXCEEDS_CREDITS, None
        if r.flags & PENDING:
            debit[0] += r.amount
            credit[2] += r.amount
            expires = (
                None
                if r.timeout_seconds is None
                else self.now + timedelta(seconds=r.timeout_seconds)
            )
            self.model_holds[r.id] = ModelHold(
                r.debit_account_id, r.credit_account_id, r.amount, expires
            )
        else:
            debit[1] += r.amount
            credit[3] += r.amount
        return ResultCode.OK, r.amount

    def full_amount(self, r: TransferRequest) -> int | None:
        if r.amount is None and r.pending_id in self.model_holds:
            return self.model_holds[r.pending_id].amount
        return r.amount

    def record(self, r: TransferRequest, code: ResultCode, amount: int | None) -> bool:
        """Remember a final outcome; False when the request failed transiently."""
        if r.id in self.outcomes:
            return True
        if code is ResultCode.OK or code in LASTING_FAILURES:
            self.outcomes[r.id] = (r, code, amount)
            return True
        return False

    def run(self, requests: list[TransferRequest]) -> list[ResultCode]:
        """Run one transfer or one linked chain through the ledger and through the model."""
        snapshot = (
            {k: list(v) for k, v in self.balances.items()},
            {k: replace(v) for k, v in self.model_holds.items()},
        )
        expected: list[tuple[ResultCode, int | None]] = []
        for r in requests:
            expected.append(self.predict(r))
            if expected[-1][0] is not ResultCode.OK and len(requests) > 1:
                break
        failed = [i for i, (code, _) in enumerate(expected) if code is not ResultCode.OK]
        if len(requests) > 1 and failed:
            self.balances, self.model_holds = snapshot
            culprit = failed[0]
            expected = [
                expected[culprit] if i == culprit else (ResultCode.LINKED_EVENT_FAILED, None)
                for i in range(len(requests))
            ]
        with self.database.transaction() as session:
            results = ledger.create_transfers(session, requests, now=self.now)
        got = [r.code for r in results]
        assert got == [code for code, _ in expected], (requests, got, expected)
        for r, result, (code, amount) in zip(requests, results, expected, strict=True):
            if code in (ResultCode.OK, ResultCode.EXISTS):
                assert result.transfer is not None
                assert result.transfer.amount == amount
            if not self.record(r, code, amount) and requests not in self.retryable:
                self.retryable.append(requests)
        return got

    # -- rules --

    @rule(target=done, customer=st.integers(0, 2), amount=amounts)
    def deposit(self, customer: int, amount: int) -> TransferRequest:
        r = TransferRequest(
            id=self.new_id(),
            debit_account_id=self.cash,
            credit_account_id=self.customers[customer],
            amount=amount,
            currency="USD",
            code="deposit",
        )
        self.run([r])
        return r

    @rule(target=done, source=st.integers(0, 2), to=st.integers(0, 3), amount=amounts)
    def transfer(self, source: int, to: int, amount: int) -> TransferRequest:
        """To another customer, or (to == 3) a withdrawal back to platform cash."""
        destination = self.cash if to == 3 else self.customers[to]
        if destination == self.customers[source]:
            destination = self.cash
        r = TransferRequest(
            id=self.new_id(),
            debit_account_id=self.customers[source],
            credit_account_id=destination,
            amount=amount,
            currency="USD",
            metadata={"step": "transfer"},
        )
        self.run([r])
        return r

    @rule(
        target=holds,
        source=st.integers(0, 2),
        amount=amounts,
        timeout=st.none() | st.integers(1, 7200),
    )
    def hold(self, source: int, amount: int, timeout: int | None) -> str:
        r = TransferRequest(
            id=self.new_id(),
            debit_account_id=self.customers[source],
            credit_account_id=self.cash,
            amount=amount,
            currency="USD",
            flags=PENDING,
            timeout_seconds=timeout,
        )
        self.run([r])
        return r.id

    @rule(target=done, pending_id=holds, amount=st.none() | amounts)
    def post(self, pending_id: str, amount: int | None) -> TransferRequest:
        r = TransferRequest(id=self.new_id(), pending_id=pending_id, amount=amount, flags=POST)
        self.run([r])
        return r

    @rule(target=done, pending_id=holds)
    def void(self, pending_id: str) -> TransferRequest:
        r = TransferRequest(id=self.new_id(), pending_id=pending_id, flags=VOID)
        self.run([r])
        return r

    @rule(
        target=done,
        payer=st.integers(0, 2),
        payee=st.integers(0, 2),
        share=amounts,
        commission=amounts,
    )
    def linked_spend(self, payer: int, payee: int, share: int, commission: int) -> TransferRequest:
        source = self.customers[payer]
        destination = self.customers[payee] if payee != payer else self.cash
        chain = [
            TransferRequest(
                id=self.new_id(),
                debit_account_id=source,
                credit_account_id=destination,
                amount=share,
                currency="USD",
                flags=TransferFlags.LINKED,
            ),
            TransferRequest(
                id=self.new_id(),
                debit_account_id=source,
                credit_account_id=self.cash,
                amount=commission,
                currency="USD",
            ),
        ]
        self.run(chain)
        return chain[1]

    @rule(seconds=st.integers(1, 3600))
    def advance_time(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule()
    def expire(self) -> None:
        due = [
            h
            for h in self.model_holds.values()
            if h.status is HoldStatus.PENDING
            and h.expires_at is not None
            and h.expires_at <= self.now
        ]
        for h in due:
            self.balances[h.debit][0] -= h.amount
            self.balances[h.credit][2] -= h.amount
            h.status = HoldStatus.EXPIRED
        with self.database.transaction() as session:
            assert ledger.expire_pending(session, self.now) == len(due)

    @rule(r=done)
    def replay_same(self, r: TransferRequest) -> None:
        self.run([r])

    @rule(r=done)
    def replay_changed(self, r: TransferRequest) -> None:
        self.run([replace(r, amount=(self.full_amount(r) or 0) + 1)])

    @rule(data=st.data())
    def retry_transient(self, data: st.DataObject) -> None:
        if self.retryable:
            requests = data.draw(st.sampled_from(self.retryable))
            self.retryable.remove(requests)
            self.run(requests)

    # -- invariants --

    @invariant()
    def books_balance(self) -> None:
        if not self.balances:
            return
        with self.database.transaction(write=False) as session:
            assert ledger.verify(session) == []
            for account_id, model in self.balances.items():
                b = ledger.balance(session, account_id)
                actual = [b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted]
                assert actual == model, account_id
                if account_id != self.cash:
                    assert b.available >= 0
            totals = [sum(v[i] for v in self.balances.values()) for i in range(4)]
            assert totals[0] == totals[2] and totals[1] == totals[3]
            resolutions = session.execute(
                select(TRANSFERS.c.pending_id, func.count())
                .where(TRANSFERS.c.pending_id.is_not(None))
                .group_by(TRANSFERS.c.pending_id)
                .having(func.count() > 1)
            ).all()
            assert resolutions == []
            if self.model_holds:
                stored = dict(
                    session.execute(
                        select(TRANSFERS.c.pending_id, TRANSFERS.c.flags).where(
                            TRANSFERS.c.pending_id.in_(list(self.model_holds))
                        )
                    ).all()
                )
                for hold_id, h in self.model_holds.items():
                    flags = stored.get(hold_id)
                    if h.status is HoldStatus.PENDING:
                        assert flags is None, hold_id
                    else:
                        assert flags is not None, hold_id
                        assert (flags & POST != 0) == (h.status is HoldStatus.POSTED)
                        assert (flags & TransferFlags.EXPIRED != 0) == (
                            h.status is HoldStatus.EXPIRED
                        )


def test_ledger_matches_the_model(database: Database) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(database),
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

"""Bad input raises ValidationFailed naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adunion import ledger
from adunion.kernel.db import Database
from adunion.kernel.errors import ValidationFailed
from adunion.ledger import TransferFlags, TransferRequest, validation
from tests.ledger.helpers import assert_clean, balances, deposit, journal_size, open_books

GOOD: dict[str, Any] = {"id": "t-1", "amount": 10, "currency": "USD"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": 10.0}, "amount"),
        ({"amount": "10"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 2**62 + 1}, "amount"),
        ({"amount": 2**70}, "amount"),
        ({"amount": None}, "amount"),
        ({"id": ""}, "id"),
        ({"id": "x" * 65}, "id"),
        ({"id": "has space"}, "id"),
        ({"id": "semi;colon"}, "id"),
        ({"id": "café"}, "id"),
        ({"id": "~expired/x"}, "id"),
        ({"id": 12}, "id"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": None}, "currency"),
        ({"debit_account_id": None}, "debit_account_id"),
        ({"debit_account_id": "x" * 37}, "debit_account_id"),
        ({"credit_account_id": None}, "credit_account_id"),
        ({"debit_account_id": "\x00"}, "debit_account_id"),
        ({"credit_account_id": "acct\x00other"}, "credit_account_id"),
        ({"code": "x" * 65}, "code"),
        ({"code": "bad code"}, "code"),
        ({"reference": "r" * 256}, "reference"),
        ({"reference": "invoice\x00 7"}, "reference"),
        ({"metadata": ["not", "a", "dict"]}, "metadata"),
        ({"metadata": {1: "int key"}}, "metadata"),
        ({"metadata": {"x": object()}}, "metadata"),
        ({"metadata": {"x": float("nan")}}, "metadata"),
        ({"metadata": {"x": "y" * 5000}}, "metadata"),
        ({"flags": TransferFlags.EXPIRED}, "flags"),
        ({"flags": 64}, "flags"),
        ({"flags": -1}, "flags"),
        ({"flags": True}, "flags"),
        ({"flags": TransferFlags.PENDING | TransferFlags.POST_PENDING}, "flags"),
        ({"flags": TransferFlags.LINKED}, "flags"),  # the last transfer cannot be linked
        ({"pending_id": "h-1"}, "pending_id"),
        ({"timeout_seconds": 10}, "timeout_seconds"),
        ({"flags": TransferFlags.PENDING, "timeout_seconds": 0}, "timeout_seconds"),
        ({"flags": TransferFlags.PENDING, "timeout_seconds": 1.0}, "timeout_seconds"),
        ({"flags": TransferFlags.POST_PENDING, "pending_id": None}, "pending_id"),
        ({"flags": TransferFlags.POST_PENDING, "pending_id": "t-1"}, "pending_id"),
        ({"flags": TransferFlags.VOID_PENDING, "pending_id": "bad id"}, "pending_id"),
    ],
)
def test_bad_transfer_input_raises_and_writes_nothing(
    database: Database, changes: dict[str, Any], field: str
) -> None:
    books = open_books(database)
    with database.transaction() as session:
        deposit(session, books, books.alice, 100, "dep")
    before = (journal_size(database), balances(database, books.cash, books.alice, books.bob))
    fields = {**GOOD, "debit_account_id": books.alice, "credit_account_id": books.bob, **changes}
    with pytest.raises(ValidationFailed) as caught, database.transaction() as session:
        ledger.create_transfers(session, [TransferRequest(**fields)])
    assert caught.value.status_code == 422
    assert [f.field for f in caught.value.fields] == [field]
    after = (journal_size(database), balances(database, books.cash, books.alice, books.bob))
    assert after == before
    assert_clean(database)


def test_same_debit_and_credit_account_is_refused(database: Database) -> None:
    books = open_books(database)
    with pytest.raises(ValidationFailed) as caught, database.transaction() as session:
        ledger.transfer(
            session,
            id="same",
            debit_account_id=books.alice,
            credit_account_id=books.alice,
            amount=1,
            currency="USD",
        )
    assert caught.value.fields[0].field == "credit_account_id"
    assert journal_size(database) == (0, 0)


def test_one_bad_request_in_a_batch_writes_nothing_and_names_its_index(
    database: Database,
) -> None:
    books = open_books(database)
    good = TransferRequest(
        id="ok-1",
        debit_account_id=books.cash,
        credit_account_id=books.alice,
        amount=5,
        currency="USD",
    )
    bad = TransferRequest(
        id="bad-1",
        debit_account_id=books.cash,
        credit_account_id=books.alice,
        amount=-5,
        currency="USD",
    )
    with pytest.raises(ValidationFailed) as caught, database.transaction() as session:
        ledger.create_transfers(session, [good, bad])
    assert caught.value.fields[0].field == "transfers[1].amount"
    assert journal_size(database) == (0, 0)


def test_naive_now_is_refused(database: Database) -> None:
    from datetime import datetime

    books = open_books(database)
    request = TransferRequest(
        id="t",
        debit_account_id=books.cash,
        credit_account_id=books.alice,
        amount=5,
        currency="USD",
    )
    with pytest.raises(ValidationFailed), database.transaction() as session:
        ledger.create_transfers(session, [request], now=datetime(2026, 1, 1))  # noqa: DTZ001
    assert journal_size(database) == (0, 0)


# The one-pass check for plain transfers (validation._plain) accepts only what the field-by-field
# check accepts, and yields the same validated request.
_VALUES: dict[str, list[Any]] = {
    "id": ["t1", "a.b:c-d_e", "", "bad id", "x" * 64, "x" * 65, 7, None, "~exp"],
    "debit_account_id": ["acc-a", "", "a" * 36, "a" * 37, None, 3],
    "credit_account_id": ["acc-b", "acc-a", "b" * 36, "", None],
    "amount": [1, 5, 0, -1, ledger.MAX_AMOUNT, ledger.MAX_AMOUNT + 1, True, 1.0, "1", None],
    "currency": ["USD", "EUR", "usd", "US", "USDX", "", None, 840],
    "code": ["", "spend", "bad code", "c" * 64, "c" * 65, None],
    "reference": ["", "ref", "r" * 255, "r" * 256, None],
    "metadata": [None, {}, {"a": 1}, {"b": [1, 2], "a": "x"}, {1: 2}, {"f": float("nan")}],
    "flags": [
        TransferFlags.NONE,
        0,
        False,
        TransferFlags.LINKED,
        TransferFlags.PENDING,
        TransferFlags.POST_PENDING,
        32,
        -1,
    ],
    "pending_id": [None, "h1"],
    "timeout_seconds": [None, 60],
}
# A valid plain transfer (the first value of each list) with up to three fields changed.
_REQUESTS = st.dictionaries(
    st.sampled_from(sorted(_VALUES)), st.integers(min_value=0, max_value=9), max_size=3
).map(
    lambda changes: TransferRequest(
        **{name: values[changes.get(name, 0) % len(values)] for name, values in _VALUES.items()}
    )
)


@settings(max_examples=400, deadline=None)
@given(request=_REQUESTS)
def test_plain_lane_agrees_with_the_field_by_field_check(request: TransferRequest) -> None:
    allowed = int(TransferFlags.LINKED | TransferFlags.PENDING)
    allowed |= int(TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING)
    fast = validation._plain(request)
    try:
        checked = validation._validate(request, None, allowed)
    except ValidationFailed:
        assert fast is None
        return
    assert fast is None or fast == checked
    if fast is None:
        return
    PLAIN_ACCEPTED.append(1)


PLAIN_ACCEPTED: list[int] = []


def test_plain_lane_is_exercised() -> None:
    """The property above saw accepted plain transfers too, not only refusals."""
    test_plain_lane_agrees_with_the_field_by_field_check()
    assert PLAIN_ACCEPTED

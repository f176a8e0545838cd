from __future__ import annotations

import pytest

from adunion import ledger
from adunion.kernel.db import Database
from adunion.kernel.errors import Conflict, NotFound, ValidationFailed
from tests.ledger.helpers import CUSTOMER


def test_get_or_create_returns_the_same_account(database: Database) -> None:
    with database.transaction() as session:
        first = ledger.get_or_create_account(
            session, owner_id="u1", currency="USD", code="customer_available", flags=CUSTOMER
        )
        again = ledger.get_or_create_account(
            session, owner_id="u1", currency="USD", code="customer_available", flags=CUSTOMER
        )
        other_currency = ledger.get_or_create_account(
            session, owner_id="u1", currency="EUR", code="customer_available", flags=CUSTOMER
        )
        platform = ledger.get_or_create_account(
            session, owner_id=None, currency="USD", code="platform_cash"
        )
        platform_again = ledger.get_or_create_account(
            session, owner_id=None, currency="USD", code="platform_cash"
        )
    assert first.id == again.id
    assert other_currency.id != first.id
    assert platform.id == platform_again.id
    assert platform.owner_id is None
    assert first.flags == CUSTOMER
    assert first.balance == ledger.Balance(0, 0, 0, 0)


def test_account_rules_never_change(database: Database) -> None:
    with database.transaction() as session:
        ledger.get_or_create_account(
            session, owner_id="u1", currency="USD", code="customer_available", flags=CUSTOMER
        )
    with pytest.raises(Conflict) as caught, database.transaction() as session:
        ledger.get_or_create_account(
            session, owner_id="u1", currency="USD", code="customer_available"
        )
    assert caught.value.fields[0].field == "flags"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"owner_id": "", "currency": "USD", "code": "c"}, "owner_id"),
        ({"owner_id": "x" * 37, "currency": "USD", "code": "c"}, "owner_id"),
        ({"owner_id": None, "currency": "usd", "code": "c"}, "currency"),
        ({"owner_id": None, "currency": "USDT", "code": "c"}, "currency"),
        ({"owner_id": None, "currency": "USD", "code": ""}, "code"),
        ({"owner_id": None, "currency": "USD", "code": "has space"}, "code"),
        (
            {
                "owner_id": None,
                "currency": "USD",
                "code": "c",
                "flags": ledger.AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
                | ledger.AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
            },
            "flags",
        ),
    ],
)
def test_bad_account_input_is_refused(
    database: Database, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught, database.transaction() as session:
        ledger.get_or_create_account(session, **kwargs)  # type: ignore[arg-type]
    assert caught.value.fields[0].field == field


def test_unknown_account_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound), database.transaction(write=False) as session:
        ledger.balance(session, "no-such-account")

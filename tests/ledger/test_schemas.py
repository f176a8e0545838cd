"""The hot-path constructors build exactly what the dataclass constructors build."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from adunion.ledger.schemas import (
    ResultCode,
    Transfer,
    TransferFlags,
    TransferResult,
    new_transfer,
    new_transfer_result,
)

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
VALUES = ("t1", "a", "b", 5, "USD", "spend", "ref", {"k": 1}, TransferFlags.PENDING, None, 60)


def test_new_transfer_equals_the_dataclass_constructor() -> None:
    built = new_transfer(*VALUES, NOW, NOW)
    expected = Transfer(*VALUES, NOW, NOW)
    assert built == expected and hash(built.id) == hash(expected.id)
    assert type(built) is Transfer
    assert [getattr(built, f.name) for f in dataclasses.fields(Transfer)] == [*VALUES, NOW, NOW]


def test_new_transfer_result_equals_the_dataclass_constructor() -> None:
    transfer = Transfer(*VALUES, NOW, NOW)
    built = new_transfer_result(3, "t1", ResultCode.OK, transfer, None)
    assert built == TransferResult(3, "t1", ResultCode.OK, transfer, None)
    assert built.ok


def test_built_objects_stay_frozen() -> None:
    built = new_transfer(*VALUES, NOW, NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.amount = 6  # type: ignore[misc]


def test_every_field_is_required() -> None:
    with pytest.raises(TypeError):
        new_transfer_result(0, "t1", ResultCode.OK)

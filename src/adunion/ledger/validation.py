"""Stateless checks on requests: run on the whole batch before the database is touched, so bad
input raises :class:`ValidationFailed` naming the field and writes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adunion.kernel.errors import ValidationFailed
from adunion.ledger.schemas import MAX_AMOUNT, TransferFlags, TransferRequest

TRANSFER_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
CURRENCY_RE = re.compile(r"[A-Z]{3}")
TRANSFER_CODE_RE = re.compile(r"[A-Za-z0-9._:-]{0,64}")
ACCOUNT_CODE_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ACCOUNT_ID_MAX = 36
REFERENCE_MAX = 255
METADATA_MAX_BYTES = 4096
# Integer column; ten years is far beyond any hold we mean to keep.
TIMEOUT_MAX_SECONDS = 10 * 366 * 86400
_RESOLVING = TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING
_RESOLVING_INT = int(_RESOLVING)
_CLIENT_FLAGS = TransferFlags.LINKED | TransferFlags.PENDING | _RESOLVING


@dataclass(slots=True)
class Req:
    """A request that passed validation, with its metadata in canonical JSON form.

    Internal to the ledger (not frozen: frozen dataclasses are slow to build, and this is on the
    per-transfer hot path)."""

    id: str
    debit_account_id: str | None
    credit_account_id: str | None
    amount: int | None
    currency: str | None
    code: str
    reference: str
    metadata: dict[str, Any] | None
    flags: int  # TransferFlags as a plain int (int & int is much cheaper than IntFlag ops)
    pending_id: str | None
    timeout_seconds: int | None

    @property
    def resolves(self) -> bool:
        return bool(self.flags & _RESOLVING_INT)


def is_int(value: object) -> bool:
    # bool is an int subclass; True is not an amount.
    return type(value) is int


def validate_transfers(requests: Sequence[TransferRequest], *, internal: bool = False) -> list[Req]:
    many = len(requests) > 1
    allowed = _INTERNAL_FLAGS if internal else _CLIENT_FLAGS_INT
    checked = [
        _plain(request) or _validate(request, index if many else None, allowed)
        for index, request in enumerate(requests)
    ]
    if checked and checked[-1].flags & _LINKED_INT:
        field = f"transfers[{len(checked) - 1}].flags" if many else "flags"
        raise ValidationFailed.on(field, "the last transfer of a batch cannot be linked")
    return checked


def validate_now(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValidationFailed.on("now", "must be an aware datetime")


_LINKED_INT = int(TransferFlags.LINKED)
_PENDING_INT = int(TransferFlags.PENDING)
_CLIENT_FLAGS_INT = int(_CLIENT_FLAGS)
_INTERNAL_FLAGS = int(_CLIENT_FLAGS | TransferFlags.EXPIRED)
_KIND_MASK = int(TransferFlags.PENDING | _RESOLVING)
_ONE_KIND = frozenset(
    int(kind)
    for kind in (
        TransferFlags.NONE,
        TransferFlags.PENDING,
        TransferFlags.POST_PENDING,
        TransferFlags.VOID_PENDING,
    )
)


# Currency codes already seen to be valid (at most 26**3 of them), to skip the regex.
_CURRENCIES: set[str] = set()
_TRANSFER_FLAGS = TransferFlags


def _plain(request: TransferRequest) -> Req | None:
    """The common case -- a plain transfer whose every field is plainly valid -- checked in one
    pass; ``None`` for anything else, which :func:`_validate` then checks field by field (and
    accepts or refuses naming the field). Accepts only what ``_validate`` accepts."""
    if type(request) is not TransferRequest:
        return None
    id_, flags, debit, credit = (
        request.id,
        request.flags,
        request.debit_account_id,
        request.credit_account_id,
    )
    amount, currency, code, reference = (
        request.amount,
        request.currency,
        request.code,
        request.reference,
    )
    if not (
        (type(flags) is _TRANSFER_FLAGS or type(flags) is int)
        and flags == 0
        and type(debit) is str
        and type(credit) is str
        and 0 < len(debit) <= ACCOUNT_ID_MAX
        and 0 < len(credit) <= ACCOUNT_ID_MAX
        and debit != credit
        and "\x00" not in debit
        and "\x00" not in credit
        and type(amount) is int
        and 1 <= amount <= MAX_AMOUNT
        and type(code) is str
        and (code == "" or TRANSFER_CODE_RE.fullmatch(code))
        and type(reference) is str
        and len(reference) <= REFERENCE_MAX
        and "\x00" not in reference
        and request.pending_id is None
        and request.timeout_seconds is None
        and type(id_) is str
        and TRANSFER_ID_RE.fullmatch(id_)
        and type(currency) is str
    ):
        return None
    if currency not in _CURRENCIES:
        if not CURRENCY_RE.fullmatch(currency):
            return None
        _CURRENCIES.add(currency)
    metadata = request.metadata
    if metadata is not None:
        if type(metadata) is not dict or not metadata:
            return None  # the general path canonicalises (and checks) it
        metadata = _canonical_metadata(metadata, None)
        if metadata is None:
            return None
    return Req(id_, debit, credit, amount, currency, code, reference, metadata, 0, None, None)


def _validate(request: TransferRequest, index: int | None, allowed: int) -> Req:
    def fail(field: str, message: str) -> ValidationFailed:
        prefix = "" if index is None else f"transfers[{index}]."
        return ValidationFailed.on(prefix + field, message)

    internal = allowed == _INTERNAL_FLAGS
    if not isinstance(request, TransferRequest):
        raise fail("transfer", "must be a TransferRequest")
    id_ = request.id
    if not isinstance(id_, str) or not (internal or TRANSFER_ID_RE.fullmatch(id_)):
        raise fail("id", "must be 1-64 characters of A-Z a-z 0-9 . _ : -")

    raw_flags = request.flags
    if not isinstance(raw_flags, int) or isinstance(raw_flags, bool):
        raise fail("flags", "must be TransferFlags")
    # Plain int arithmetic: ~ on an IntFlag only complements the *defined* members.
    flags = int(raw_flags)
    if flags < 0 or flags & ~allowed:
        raise fail("flags", "unknown flag")
    kinds = flags & _KIND_MASK
    if kinds not in _ONE_KIND:
        raise fail("flags", "at most one of pending, post_pending, void_pending")
    resolves = bool(kinds & _RESOLVING_INT)

    debit, credit = request.debit_account_id, request.credit_account_id
    for name, value in (("debit_account_id", debit), ("credit_account_id", credit)):
        if value is None:
            if not resolves:
                raise fail(name, "is required")
        elif not isinstance(value, str) or not 1 <= len(value) <= ACCOUNT_ID_MAX or "\x00" in value:
            raise fail(name, f"must be an account id (1-{ACCOUNT_ID_MAX} characters, no NUL)")
    if debit is not None and debit == credit:
        raise fail("credit_account_id", "must differ from debit_account_id")

    amount = request.amount
    if amount is None:
        if not resolves:
            raise fail("amount", "is required")
    elif not is_int(amount):
        raise fail("amount", "must be an integer number of micros")
    elif not 1 <= amount <= MAX_AMOUNT:
        raise fail("amount", f"must be between 1 and {MAX_AMOUNT}")

    currency = request.currency
    if currency is None:
        if not resolves:
            raise fail("currency", "is required")
    elif not isinstance(currency, str) or not CURRENCY_RE.fullmatch(currency):
        raise fail("currency", "must be a 3-letter upper-case currency code")

    code = request.code
    if not isinstance(code, str) or not (code == "" or TRANSFER_CODE_RE.fullmatch(code)):
        raise fail("code", "must be 0-64 characters of A-Z a-z 0-9 . _ : -")
    reference = request.reference
    # NUL: PostgreSQL text cannot hold it, and libpq reads text parameters up to the first one.
    if not isinstance(reference, str) or len(reference) > REFERENCE_MAX or "\x00" in reference:
        raise fail(
            "reference", f"must be a string of at most {REFERENCE_MAX} characters, without NUL"
        )

    metadata = None if request.metadata is None else _canonical_metadata(request.metadata, fail)

    pending_id = request.pending_id
    if resolves:
        if not isinstance(pending_id, str) or not TRANSFER_ID_RE.fullmatch(pending_id):
            raise fail("pending_id", "must name the pending transfer to post or void")
        if pending_id == id_:
            raise fail("pending_id", "must differ from id")
    elif pending_id is not None:
        raise fail("pending_id", "only post_pending and void_pending transfers take one")

    timeout = request.timeout_seconds
    if timeout is not None:
        if not flags & _PENDING_INT:
            raise fail("timeout_seconds", "only pending transfers take a timeout")
        if not is_int(timeout) or not 1 <= timeout <= TIMEOUT_MAX_SECONDS:
            raise fail("timeout_seconds", f"must be an integer between 1 and {TIMEOUT_MAX_SECONDS}")

    return Req(
        id_, debit, credit, amount, currency, code, reference, metadata, flags, pending_id, timeout
    )


def _canonical_metadata(value: object, fail: Any) -> dict[str, Any] | None:
    """The metadata as stored (through canonical JSON). ``fail=None``: return ``None`` for
    anything invalid instead of raising (the caller then checks it the slow way)."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        if fail is None:
            return None
        raise fail("metadata", "must be an object with string keys")
    try:
        encoded = json.dumps(dict(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        if fail is None:
            return None
        raise fail("metadata", "must be JSON-serialisable") from exc
    if len(encoded.encode()) > METADATA_MAX_BYTES:
        if fail is None:
            return None
        raise fail("metadata", f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded

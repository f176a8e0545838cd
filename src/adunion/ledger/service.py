"""The ledger's operations: creating transfers (single, batched, linked, two-phase), expiring
holds, and reading transfers and holds.

Every call validates all its requests first (no database access; bad input raises and writes
nothing), then :class:`~adunion.ledger.decisions.Decider` locks, decides and writes. Services
never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from adunion.kernel.clock import utcnow
from adunion.ledger.decisions import Decider
from adunion.ledger.errors import TransferRefused
from adunion.ledger.models import TRANSFERS
from adunion.ledger.repository import Repository
from adunion.ledger.schemas import (
    HoldStatus,
    ResultCode,
    Transfer,
    TransferFlags,
    TransferRequest,
    TransferResult,
    status_of,
    to_transfer,
)
from adunion.ledger.validation import validate_now, validate_transfers

EXPIRY_ID_PREFIX = "~expired/"  # "~" is not allowed in client ids, so these never collide

_select_transfers = select(TRANSFERS).where(TRANSFERS.c.id.in_(bindparam("ids", expanding=True)))
_select_resolutions = select(TRANSFERS.c.pending_id, TRANSFERS.c.flags).where(
    TRANSFERS.c.pending_id.in_(bindparam("ids", expanding=True))
)


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
    return Decider(Repository.of(session.connection()), when).run(checked)


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
    results = Decider(Repository.of(connection), when).run(checked)
    return sum(1 for result in results if result.code is ResultCode.OK)


def get_transfer(session: Session, transfer_id: str) -> Transfer | None:
    row = session.connection().execute(_select_transfers, {"ids": [transfer_id]}).first()
    return None if row is None else to_transfer(row._mapping)


def hold_status(session: Session, pending_id: str) -> HoldStatus | None:
    """The state of a hold, or None when ``pending_id`` is not a pending transfer."""
    connection = session.connection()
    found = connection.execute(_select_transfers, {"ids": [pending_id]}).first()
    if found is None or not found.flags & TransferFlags.PENDING:
        return None
    resolved = connection.execute(_select_resolutions, {"ids": [pending_id]}).first()
    return HoldStatus.PENDING if resolved is None else status_of(resolved.flags)


def _one(session: Session, request: TransferRequest, now: datetime | None) -> Transfer:
    [result] = create_transfers(session, [request], now=now)
    if not result.ok or result.transfer is None:
        raise TransferRefused.from_result(result)
    return result.transfer

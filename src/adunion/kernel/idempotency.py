"""HTTP idempotency keys: the same key and body answer the first result; another body is a 409.

The key, a hash of the request and the stored answer are written in the same transaction as the
operation itself, so either both happened or neither did.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from adunion.kernel.errors import Conflict, FieldError, ValidationFailed
from adunion.kernel.models import Base, created_at_column, id_column

KEY_MAX = 100
HEADER = "Idempotency-Key"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner_id", "key"),)

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(String(KEY_MAX), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise ValidationFailed.on(
            HEADER, "this operation moves money: send an Idempotency-Key header"
        )
    key = key.strip()
    if len(key) > KEY_MAX or not key.isprintable():
        raise ValidationFailed.on(HEADER, f"must be 1-{KEY_MAX} printable characters")
    return key


def run_once(
    session: Session,
    *,
    owner_id: str,
    key: str | None,
    fingerprint: str,
    operation: Callable[[], Answer],
) -> Answer:
    """Run ``operation`` unless this key already ran; store its answer in this transaction."""
    checked = check_key(key)
    previous = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.owner_id == owner_id, IdempotencyRecord.key == checked
        )
    ).one_or_none()
    if previous is not None:
        if previous.request_hash != fingerprint:
            raise Conflict(
                "this Idempotency-Key was used with a different request",
                [FieldError(HEADER, "reused with a different request")],
            )
        return Answer(previous.status_code, previous.response, replayed=True)
    answer = operation()
    session.add(
        IdempotencyRecord(
            owner_id=owner_id,
            key=checked,
            request_hash=fingerprint,
            status_code=answer.status_code,
            response=answer.body,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:  # the same key committed concurrently: nothing here applies
        raise Conflict(
            "a request with this Idempotency-Key is in progress; retry to get its answer",
            [FieldError(HEADER, "in use by a concurrent request")],
        ) from exc
    return answer

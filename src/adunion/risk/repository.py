"""Site flag queries; the service decides, this only reads and makes the one guarded write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.orm import Session

from adunion.risk.models import FlagStatus, SiteFlag


def flag_by_id(session: Session, flag_id: str) -> SiteFlag | None:
    return session.get(SiteFlag, flag_id)


def flags_query(status: FlagStatus) -> Select[SiteFlag]:
    """Open flags newest window first; resolved ones most recently resolved first."""
    query = select(SiteFlag).where(SiteFlag.status == status.value)
    if status is FlagStatus.OPEN:
        return query.order_by(SiteFlag.window_end.desc(), SiteFlag.site_id, SiteFlag.id)
    return query.order_by(SiteFlag.resolved_at.desc(), SiteFlag.id)


def resolved_flags_query() -> Select[SiteFlag]:
    """Dismissed and confirmed flags together, most recently resolved first."""
    return (
        select(SiteFlag)
        .where(SiteFlag.status != FlagStatus.OPEN.value)
        .order_by(SiteFlag.resolved_at.desc(), SiteFlag.id)
    )


def close_if_open(
    session: Session,
    flag_id: str,
    *,
    status: FlagStatus,
    resolved_by: str,
    resolved_at: datetime,
    note: str,
) -> bool:
    """Resolve the flag only while it is still open; False when someone resolved it first.

    One conditional UPDATE, so two reviewers racing on the same flag cannot both win.
    """
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(SiteFlag)
        .where(SiteFlag.id == flag_id, SiteFlag.status == FlagStatus.OPEN.value)
        .values(
            status=status.value,
            resolved_by=resolved_by,
            resolved_at=resolved_at,
            resolution_note=note,
        )
        .execution_options(synchronize_session=False)
    )
    updated: int = result.rowcount
    return updated == 1

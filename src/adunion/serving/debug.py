"""Who may read a slot's recent decisions (its owner and the operators)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from adunion.inventory.models import AdSlot
from adunion.kernel.errors import NotFound
from adunion.kernel.principal import Role
from adunion.kernel.tenancy import get_owned

# Who may read any slot's decisions: the operators who review traffic.
OPERATORS = (Role.ADMIN, Role.RISK)


def readable_slot(session: Session, slot_id: str, user_id: str, is_operator: bool) -> AdSlot:
    """The slot whose decisions this user may read: their own, or any for an operator; else
    :class:`NotFound`. Read from the table, so a slot not served yet is still its owner's."""
    if not is_operator:
        return get_owned(session, AdSlot, slot_id, user_id)
    slot = session.get(AdSlot, slot_id)
    if slot is None:
        raise NotFound("slot not found")
    return slot

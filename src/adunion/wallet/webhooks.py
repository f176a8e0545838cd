"""Signed payment-provider webhooks: verified, validated, applied once per event id."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from adunion.config import Settings
from adunion.kernel.errors import FieldError, NotFound, ValidationFailed
from adunion.kernel.money import parse_amount
from adunion.wallet import repository, service
from adunion.wallet.models import DepositStatus, WebhookEvent
from adunion.wallet.providers import SignedWebhook, verify_signature

PROVIDER = SignedWebhook.name


class PaymentData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    reference: str = Field(min_length=1, max_length=64)
    amount: str = Field(min_length=1, max_length=40)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class PaymentEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=100)
    type: Literal["payment.succeeded", "payment.failed"]
    data: PaymentData


def parse_event(body: bytes) -> PaymentEvent:
    try:
        return PaymentEvent.model_validate(json.loads(body))
    except RecursionError:  # deep nesting: the JSON decoder's own limit, not a ValueError
        fields = [FieldError("body", "nests too deep")]
        raise ValidationFailed("invalid webhook payload", fields) from None
    except (ValueError, ValidationError) as exc:
        fields = (
            [FieldError(".".join(str(p) for p in e["loc"]), str(e["msg"])) for e in exc.errors()]
            if isinstance(exc, ValidationError)
            else [FieldError("body", "is not JSON")]
        )
        raise ValidationFailed("invalid webhook payload", fields) from None


def handle(
    session: Session, settings: Settings, body: bytes, signature: str | None
) -> tuple[str, str]:
    """Apply one provider event; returns (event id, outcome). Replays answer ``duplicate``."""
    verify_signature(settings.payment_webhook_secret.get_secret_value(), body, signature)
    event = parse_event(body)
    seen = session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.provider == PROVIDER, WebhookEvent.event_id == event.id
        )
    ).one_or_none()
    if seen is not None:
        return event.id, "duplicate"
    deposit = repository.deposit_by_reference(session, event.data.reference)
    if deposit is None or deposit.provider != PROVIDER:
        raise NotFound("no deposit with that reference")
    if event.data.currency != deposit.currency:
        raise ValidationFailed.on("data.currency", f"deposit is in {deposit.currency}")
    amount = parse_amount(event.data.amount, field="data.amount")
    if deposit.status is not DepositStatus.PENDING:
        outcome = f"already_{deposit.status.value}"
    elif event.type == "payment.succeeded":
        service.complete_deposit(session, deposit, received=amount, confirmed_by=None)
        outcome = "credited"
    else:
        service.cancel_deposit(session, deposit)
        outcome = "cancelled"
    session.add(
        WebhookEvent(provider=PROVIDER, event_id=event.id, deposit_id=deposit.id, outcome=outcome)
    )
    session.flush()
    return event.id, outcome

"""REST endpoints for the wallet, finance operations, the books and payment webhooks.

Every call that moves money needs an ``Idempotency-Key`` header: the same key and body answer
the first result, another body is a 409.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from adunion.accounts.auth import api_requires
from adunion.accounts.repository import user_by_id
from adunion.http.deps import Context, DbSession
from adunion.http.paging import Paging, paged
from adunion.kernel.errors import ValidationFailed
from adunion.kernel.idempotency import Answer, request_hash, run_once
from adunion.kernel.money import format_plain, parse_amount
from adunion.kernel.paging import fetch_page
from adunion.kernel.principal import Principal, Role
from adunion.wallet import books, interest, repository, service, webhooks
from adunion.wallet.models import DepositStatus, WithdrawalStatus
from adunion.wallet.providers import SIGNATURE_HEADER
from adunion.wallet.schemas import (
    AccrueIn,
    BalanceOut,
    BooksOut,
    ConfirmDepositIn,
    DepositIn,
    DepositOut,
    PromotionIn,
    RejectIn,
    StatementOut,
    WebhookOut,
    WithdrawalIn,
    WithdrawalOut,
)

router = APIRouter(prefix="/api/v1", tags=["wallet"])

CanRead = Annotated[Principal, Depends(api_requires("wallet:read"))]
CanWrite = Annotated[Principal, Depends(api_requires("wallet:write"))]
Finance = Annotated[Principal, Depends(api_requires("finance", Role.FINANCE, Role.ADMIN))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _once(
    session: DbSession,
    request: Request,
    principal: Principal,
    key: str | None,
    body: Any,
    operation: Any,
    created: int = status.HTTP_201_CREATED,
) -> JSONResponse:
    fingerprint = request_hash(request.method, request.url.path, body)

    def run() -> Answer:
        return Answer(created, operation().model_dump(mode="json"))

    answer = run_once(
        session, owner_id=principal.user_id, key=key, fingerprint=fingerprint, operation=run
    )
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


def day_range(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """[from 00:00 UTC, day after ``to`` 00:00 UTC); default: the last 30 days."""
    last = end or datetime.now(UTC).date()
    if last >= date.max:
        raise ValidationFailed.on("to", "must be before 9999-12-31")
    if start is None and last < date.min + timedelta(days=29):
        raise ValidationFailed.on("to", "is too early without a from date")
    first = start or last - timedelta(days=29)
    if last < first:
        raise ValidationFailed.on("to", "must not be before from")
    return (
        datetime.combine(first, time(0), tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
    )


@router.get("/wallet", operation_id="get_wallet")
def get_wallet(session: DbSession, ctx: Context, principal: CanRead) -> list[BalanceOut]:
    """Balances per currency: available, held (escrow, withdrawals), pending earnings."""
    return [BalanceOut.of(b) for b in service.balances(session, ctx.settings, principal.user_id)]


@router.get("/wallet/statement", operation_id="get_statement")
def get_statement(
    session: DbSession,
    ctx: Context,
    principal: CanRead,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> StatementOut:
    first, last = day_range(start, end)
    chosen = service.check_currency(ctx.settings, currency or ctx.settings.currency)
    return StatementOut.of(service.statement(session, principal.user_id, chosen, first, last))


@router.get("/wallet/statement.csv", operation_id="export_statement", response_class=Response)
def export_statement(
    session: DbSession,
    ctx: Context,
    principal: CanRead,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    first, last = day_range(start, end)
    chosen = service.check_currency(ctx.settings, currency or ctx.settings.currency)
    result = service.statement(session, principal.user_id, chosen, first, last)
    return Response(
        statement_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="statement-{chosen}-{first.date()}.csv"'
        },
    )


def statement_csv(result: service.Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["timestamp", "transfer_id", "code", "reference", "credit", "debit", "balance", "currency"]
    )
    writer.writerow(
        [
            result.start.isoformat(),
            "",
            "opening",
            "",
            "",
            "",
            format_plain(result.opening),
            result.currency,
        ]
    )
    for line in result.lines:
        writer.writerow(
            [
                line.timestamp.isoformat(),
                line.transfer_id,
                line.code,
                line.reference,
                format_plain(line.credit),
                format_plain(line.debit),
                format_plain(line.balance),
                result.currency,
            ]
        )
    return out.getvalue()


@router.post(
    "/wallet/deposits", status_code=201, operation_id="create_deposit", response_model=DepositOut
)
def create_deposit(
    body: DepositIn,
    request: Request,
    session: DbSession,
    ctx: Context,
    principal: CanWrite,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a top-up; the answer carries the payment reference and instructions."""

    def operation() -> DepositOut:
        amount = parse_amount(body.amount)
        deposit, instructions = service.request_deposit(
            session,
            ctx.settings,
            owner_id=principal.user_id,
            amount=amount,
            currency=body.currency,
            provider=body.provider,
        )
        return DepositOut.of(deposit, instructions)

    return _once(session, request, principal, key, body.model_dump(), operation)


@router.get("/wallet/deposits", operation_id="list_deposits")
def list_deposits(
    session: DbSession, ctx: Context, principal: CanRead, page: Paging, response: Response
) -> list[DepositOut]:
    """Your deposits, newest first, a page at a time (``X-Total-Count``: how many in all)."""
    query = repository.owned_deposits_query(principal.user_id)
    return [
        DepositOut.of(d, service.deposit_instructions(ctx.settings, d))
        for d in paged(response, fetch_page(session, query, page))
    ]


@router.get("/wallet/deposits/{deposit_id}", operation_id="get_deposit")
def get_deposit(
    deposit_id: str, session: DbSession, ctx: Context, principal: CanRead
) -> DepositOut:
    deposit = service.own_deposit(session, principal.user_id, deposit_id)
    return DepositOut.of(deposit, service.deposit_instructions(ctx.settings, deposit))


@router.post(
    "/wallet/withdrawals",
    status_code=201,
    operation_id="create_withdrawal",
    response_model=WithdrawalOut,
)
def create_withdrawal(
    body: WithdrawalIn,
    request: Request,
    session: DbSession,
    ctx: Context,
    principal: CanWrite,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Request a payout: the amount is held at once; finance pays it or releases it."""

    def operation() -> WithdrawalOut:
        withdrawal = service.request_withdrawal(
            session,
            ctx.settings,
            owner_id=principal.user_id,
            amount=parse_amount(body.amount),
            currency=body.currency,
            destination=body.destination,
        )
        return WithdrawalOut.of(withdrawal)

    return _once(session, request, principal, key, body.model_dump(), operation)


@router.get("/wallet/withdrawals", operation_id="list_withdrawals")
def list_withdrawals(
    session: DbSession, principal: CanRead, page: Paging, response: Response
) -> list[WithdrawalOut]:
    """Your withdrawals, newest first, a page at a time (``X-Total-Count``)."""
    query = repository.owned_withdrawals_query(principal.user_id)
    return [WithdrawalOut.of(w) for w in paged(response, fetch_page(session, query, page))]


@router.get("/wallet/withdrawals/{withdrawal_id}", operation_id="get_withdrawal")
def get_withdrawal(withdrawal_id: str, session: DbSession, principal: CanRead) -> WithdrawalOut:
    return WithdrawalOut.of(service.own_withdrawal(session, principal.user_id, withdrawal_id))


# --- finance ----------------------------------------------------------------------------------


@router.get("/finance/deposits", operation_id="finance_list_deposits", tags=["finance"])
def finance_list_deposits(
    session: DbSession,
    ctx: Context,
    _staff: Finance,
    page: Paging,
    response: Response,
    state: DepositStatus = DepositStatus.PENDING,
) -> list[DepositOut]:
    """Deposits in one state (default: awaiting confirmation), the oldest first, paged."""
    query = repository.deposits_with_status_query(state)
    return [
        DepositOut.of(d, service.deposit_instructions(ctx.settings, d))
        for d in paged(response, fetch_page(session, query, page))
    ]


@router.post(
    "/finance/deposits/{deposit_id}/confirm",
    operation_id="confirm_deposit",
    tags=["finance"],
    response_model=DepositOut,
)
def confirm_deposit(
    deposit_id: str,
    body: ConfirmDepositIn,
    request: Request,
    session: DbSession,
    ctx: Context,
    staff: Finance,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Confirm the amount a bank transfer actually brought; credits the customer once."""

    def operation() -> DepositOut:
        received = parse_amount(body.received_amount, field="received_amount")
        deposit = service.confirm_bank_deposit(
            session, deposit_id, received=received, staff_id=staff.user_id
        )
        return DepositOut.of(deposit, service.deposit_instructions(ctx.settings, deposit))

    return _once(session, request, staff, key, body.model_dump(), operation, created=200)


@router.get("/finance/withdrawals", operation_id="finance_list_withdrawals", tags=["finance"])
def finance_list_withdrawals(
    session: DbSession,
    _staff: Finance,
    page: Paging,
    response: Response,
    state: WithdrawalStatus = WithdrawalStatus.REQUESTED,
) -> list[WithdrawalOut]:
    """Withdrawals in one state (default: requested), the oldest first, paged."""
    query = repository.withdrawals_with_status_query(state)
    return [WithdrawalOut.of(w) for w in paged(response, fetch_page(session, query, page))]


@router.post(
    "/finance/withdrawals/{withdrawal_id}/approve",
    operation_id="approve_withdrawal",
    tags=["finance"],
    response_model=WithdrawalOut,
)
def approve_withdrawal(
    withdrawal_id: str,
    request: Request,
    session: DbSession,
    staff: Finance,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Mark the payout as sent: the holds are posted."""

    def operation() -> WithdrawalOut:
        return WithdrawalOut.of(
            service.approve_withdrawal(session, withdrawal_id, staff_id=staff.user_id)
        )

    return _once(session, request, staff, key, {}, operation, created=200)


@router.post(
    "/finance/withdrawals/{withdrawal_id}/reject",
    operation_id="reject_withdrawal",
    tags=["finance"],
    response_model=WithdrawalOut,
)
def reject_withdrawal(
    withdrawal_id: str,
    body: RejectIn,
    request: Request,
    session: DbSession,
    staff: Finance,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Refuse the payout: the holds are voided and the money is available again."""

    def operation() -> WithdrawalOut:
        return WithdrawalOut.of(
            service.reject_withdrawal(
                session, withdrawal_id, staff_id=staff.user_id, reason=body.reason
            )
        )

    return _once(session, request, staff, key, body.model_dump(), operation, created=200)


@router.post(
    "/finance/promotions", status_code=201, operation_id="grant_promotion", tags=["finance"]
)
def grant_promotion(
    body: PromotionIn,
    request: Request,
    session: DbSession,
    ctx: Context,
    staff: Finance,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Credit a customer (sign-up bonus, promotion), booked as promotion expense."""

    def operation() -> BalanceOut:
        if user_by_id(session, body.user_id) is None:
            raise ValidationFailed.on("user_id", "no such user")
        service.grant_promotion(
            session,
            ctx.settings,
            user_id=body.user_id,
            amount=parse_amount(body.amount),
            currency=body.currency,
            reason=body.reason,
            granted_by=staff.user_id,
        )
        balance = next(
            b
            for b in service.balances(session, ctx.settings, body.user_id)
            if b.currency == body.currency
        )
        return BalanceOut.of(balance)

    return _once(session, request, staff, key, body.model_dump(), operation)


@router.get("/finance/books", operation_id="get_books", tags=["finance"])
def get_books(
    session: DbSession,
    ctx: Context,
    _staff: Finance,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> BooksOut:
    """Income statement for [from, to] and balance sheet at the end of ``to`` (UTC days)."""
    first, last = day_range(start, end)
    chosen = service.check_currency(ctx.settings, currency or ctx.settings.currency)
    return BooksOut.of(
        books.income_statement(session, chosen, first, last),
        books.balance_sheet(session, chosen, last),
    )


@router.post("/finance/interest/accrue", operation_id="accrue_interest", tags=["finance"])
def accrue_interest(
    body: AccrueIn, session: DbSession, ctx: Context, _staff: Finance
) -> dict[str, Any]:
    """Accrue float interest for one finished UTC day (re-running a day posts nothing)."""
    chosen = service.check_currency(ctx.settings, body.currency or ctx.settings.currency)
    outcome = interest.accrue_day(session, ctx.settings, body.date, chosen)
    return {
        "currency": chosen,
        "date": outcome.day.isoformat(),
        "float": {"micros": outcome.float_micros, "amount": format_plain(outcome.float_micros)},
        "interest": {
            "micros": outcome.interest_micros,
            "amount": format_plain(outcome.interest_micros),
        },
        "carry_micros": str(outcome.carry),
        "created": outcome.created,
    }


# --- payment provider webhooks ---------------------------------------------------------------


@router.post("/payments/webhooks/webhook", operation_id="payment_webhook", tags=["payments"])
async def payment_webhook(request: Request, ctx: Context) -> WebhookOut:
    """Signed notifications from the external payment provider; each event applies once."""
    body = await request.body()
    signature = request.headers.get(SIGNATURE_HEADER)

    def apply() -> tuple[str, str]:
        with ctx.database.transaction() as session:
            return webhooks.handle(session, ctx.settings, body, signature)

    event_id, outcome = await run_in_threadpool(apply)  # keep the event loop free of DB work
    return WebhookOut(event_id=event_id, outcome=outcome)

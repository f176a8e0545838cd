"""Wallet pages for customers and the finance queue for operators.

Forms that move money carry a one-time ``idempotency_key`` rendered into the page, so a double
click or a re-submitted form applies once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Select
from sqlalchemy.orm import Session

from adunion.accounts import repository as accounts_repository
from adunion.accounts.auth import Viewer, web_requires
from adunion.http.deps import Context, DbSession
from adunion.kernel.errors import AppError, ValidationFailed
from adunion.kernel.idempotency import Answer, request_hash, run_once
from adunion.kernel.ids import new_id
from adunion.kernel.money import format_amount, format_plain, parse_amount
from adunion.kernel.principal import Principal, Role
from adunion.wallet import books, interest, repository, service
from adunion.wallet.endpoints import day_range, statement_csv
from adunion.wallet.models import Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from adunion.web.csrf import verify_csrf
from adunion.web.forms import FormFields, parse_day
from adunion.web.paging import Pager, paged_list
from adunion.web.render import render

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
FinanceStaff = Annotated[Principal, Depends(web_requires(Role.FINANCE, Role.ADMIN))]


def _once(
    session: Session, request: Request, viewer: Principal, data: dict[str, str], action: Any
) -> None:
    """Apply a money form once per rendered form (its hidden idempotency key)."""
    key = data.get("idempotency_key")
    payload = {k: v for k, v in data.items() if k != "idempotency_key"}

    def run() -> Answer:
        action()
        return Answer(303, {})

    run_once(
        session,
        owner_id=viewer.user_id,
        key=key,
        fingerprint=request_hash("POST", request.url.path, payload),
        operation=run,
    )


@dataclass(frozen=True, slots=True)
class _TransferLists:
    """A page's deposits and withdrawals, each list paged on its own parameter."""

    deposits: list[Deposit]
    deposits_pager: Pager
    withdrawals: list[Withdrawal]
    withdrawals_pager: Pager

    def context(self) -> dict[str, Any]:
        """The template's names are the fields' names."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _transfer_lists(
    request: Request,
    session: Session,
    deposits: Select[Deposit],
    withdrawals: Select[Withdrawal],
    *,
    path: str,
) -> _TransferLists:
    """The pagers link to ``path``, the page's GET address (a failed form re-renders the page)."""
    deposit_rows, deposits_pager = paged_list(
        request, session, deposits, param="deposits_page", path=path
    )
    withdrawal_rows, withdrawals_pager = paged_list(
        request, session, withdrawals, param="withdrawals_page", path=path
    )
    return _TransferLists(deposit_rows, deposits_pager, withdrawal_rows, withdrawals_pager)


def _wallet_page(
    request: Request,
    session: Session,
    ctx: Context,
    viewer: Principal,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    first, last = day_range(start, end)
    settings = ctx.settings
    statements = [
        service.statement(session, viewer.user_id, currency, first, last)
        for currency in settings.currencies
    ]
    transfers = _transfer_lists(
        request,
        session,
        repository.owned_deposits_query(viewer.user_id),
        repository.owned_withdrawals_query(viewer.user_id),
        path="/wallet",
    )
    return render(
        request,
        "wallet/wallet.html",
        {
            "balances": service.balances(session, settings, viewer.user_id),
            **transfers.context(),
            "statements": statements,
            "instructions": {
                d.id: service.deposit_instructions(settings, d) for d in transfers.deposits
            },
            "currencies": settings.currencies,
            "minimum": settings.withdrawal_minimum,
            "fee": settings.withdrawal_fee,
            "money": format_amount,
            "errors": errors or {},
            "notice": notice,
            "key": new_id(),
            "start": first.date(),
            "end": (last - timedelta(days=1)).date(),
        },
        principal=viewer,
        status_code=status_code,
    )


@router.get("/wallet")
def wallet_page(request: Request, session: DbSession, ctx: Context, viewer: Viewer) -> Response:
    query = request.query_params
    return _wallet_page(
        request,
        session,
        ctx,
        viewer,
        start=parse_day(query.get("from"), "from"),
        end=parse_day(query.get("to"), "to"),
    )


@router.get("/wallet/statement.csv")
def wallet_statement_csv(
    request: Request, session: DbSession, ctx: Context, viewer: Viewer
) -> Response:
    query = request.query_params
    first, last = day_range(parse_day(query.get("from"), "from"), parse_day(query.get("to"), "to"))
    currency = service.check_currency(ctx.settings, query.get("currency") or ctx.settings.currency)
    result = service.statement(session, viewer.user_id, currency, first, last)
    return Response(
        statement_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="statement-{currency}-{first.date()}.csv"'
        },
    )


class _Page(Protocol):
    def __call__(
        self,
        request: Request,
        session: Session,
        ctx: Context,
        viewer: Principal,
        /,
        *,
        errors: dict[str, str] | None = None,
        notice: str | None = None,
        status_code: int = 200,
    ) -> Response: ...


def _submit(
    page: _Page,
    request: Request,
    session: Session,
    ctx: Context,
    viewer: Principal,
    data: dict[str, str],
    action: Callable[[], object],
    notice: str,
) -> Response:
    """Run a money form once; re-render its page with the outcome (errors name the field)."""
    try:
        with session.begin_nested():
            _once(session, request, viewer, data, action)
    except AppError as exc:
        errors = {f.field: f.message for f in exc.fields} or {"form": exc.message}
        return page(request, session, ctx, viewer, errors=errors, status_code=exc.status_code)
    return page(request, session, ctx, viewer, notice=notice)


@router.post("/wallet/deposits", dependencies=[Csrf])
def wallet_deposit(
    request: Request, session: DbSession, ctx: Context, viewer: Viewer, data: FormFields
) -> Response:
    def action() -> None:
        service.request_deposit(
            session,
            ctx.settings,
            owner_id=viewer.user_id,
            amount=parse_amount(data.get("amount", "")),
            currency=data.get("currency", ""),
            provider=data.get("provider", "bank_transfer"),
        )

    return _submit(
        _wallet_page,
        request,
        session,
        ctx,
        viewer,
        data,
        action,
        "Deposit opened: see the payment instructions below.",
    )


@router.post("/wallet/withdrawals", dependencies=[Csrf])
def wallet_withdraw(
    request: Request, session: DbSession, ctx: Context, viewer: Viewer, data: FormFields
) -> Response:
    def action() -> None:
        service.request_withdrawal(
            session,
            ctx.settings,
            owner_id=viewer.user_id,
            amount=parse_amount(data.get("amount", "")),
            currency=data.get("currency", ""),
            destination=data.get("destination", ""),
        )

    return _submit(
        _wallet_page,
        request,
        session,
        ctx,
        viewer,
        data,
        action,
        "Withdrawal requested: the amount is held until finance pays it.",
    )


# --- finance ----------------------------------------------------------------------------------


def _finance_page(
    request: Request,
    session: Session,
    ctx: Context,
    staff: Principal,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = ctx.settings
    end = datetime.now(UTC)
    start = end - timedelta(days=30)
    currency = settings.currency
    transfers = _transfer_lists(
        request,
        session,
        repository.deposits_with_status_query(DepositStatus.PENDING),
        repository.withdrawals_with_status_query(WithdrawalStatus.REQUESTED),
        path="/finance",
    )
    owner_ids = [d.owner_id for d in transfers.deposits]
    owner_ids += [w.owner_id for w in transfers.withdrawals]
    owners = accounts_repository.emails_by_id(session, owner_ids)
    return render(
        request,
        "wallet/finance.html",
        {
            **transfers.context(),
            "income": books.income_statement(session, currency, start, end),
            "sheet": books.balance_sheet(session, currency, end),
            "accruals": interest.history(session, currency, limit=30),
            "owners": owners,
            "currencies": settings.currencies,
            "currency": currency,
            "money": format_amount,
            "plain": format_plain,
            "errors": errors or {},
            "notice": notice,
            "key": new_id(),
        },
        principal=staff,
        status_code=status_code,
    )


@router.get("/finance")
def finance_page(
    request: Request, session: DbSession, ctx: Context, staff: FinanceStaff
) -> Response:
    return _finance_page(request, session, ctx, staff)


@router.post("/finance/deposits/{deposit_id}/confirm", dependencies=[Csrf])
def finance_confirm(
    deposit_id: str,
    request: Request,
    session: DbSession,
    ctx: Context,
    staff: FinanceStaff,
    data: FormFields,
) -> Response:
    def action() -> None:
        received = parse_amount(data.get("received_amount", ""), field="received_amount")
        service.confirm_bank_deposit(session, deposit_id, received=received, staff_id=staff.user_id)

    return _submit(
        _finance_page, request, session, ctx, staff, data, action, "Deposit confirmed and credited."
    )


@router.post("/finance/withdrawals/{withdrawal_id}/approve", dependencies=[Csrf])
def finance_approve(
    withdrawal_id: str,
    request: Request,
    session: DbSession,
    ctx: Context,
    staff: FinanceStaff,
    data: FormFields,
) -> Response:
    def action() -> None:
        service.approve_withdrawal(session, withdrawal_id, staff_id=staff.user_id)

    return _submit(_finance_page, request, session, ctx, staff, data, action, "Withdrawal paid.")


@router.post("/finance/withdrawals/{withdrawal_id}/reject", dependencies=[Csrf])
def finance_reject(
    withdrawal_id: str,
    request: Request,
    session: DbSession,
    ctx: Context,
    staff: FinanceStaff,
    data: FormFields,
) -> Response:
    def action() -> None:
        service.reject_withdrawal(
            session, withdrawal_id, staff_id=staff.user_id, reason=data.get("reason", "")
        )

    return _submit(
        _finance_page,
        request,
        session,
        ctx,
        staff,
        data,
        action,
        "Withdrawal rejected; the hold is released.",
    )


@router.post("/finance/promotions", dependencies=[Csrf])
def finance_promotion(
    request: Request, session: DbSession, ctx: Context, staff: FinanceStaff, data: FormFields
) -> Response:
    def action() -> None:
        user = accounts_repository.user_by_email(session, data.get("email", "").strip().lower())
        if user is None:
            raise ValidationFailed.on("email", "no user with this e-mail")
        service.grant_promotion(
            session,
            ctx.settings,
            user_id=user.id,
            amount=parse_amount(data.get("amount", "")),
            currency=data.get("currency", ""),
            reason=data.get("reason", ""),
            granted_by=staff.user_id,
        )

    return _submit(
        _finance_page, request, session, ctx, staff, data, action, "Promotion credit granted."
    )

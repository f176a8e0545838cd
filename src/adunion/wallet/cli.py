"""CLI for money: ``adunion ledger verify``, ``adunion interest accrue``, ``adunion books``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import typer

from adunion import ledger
from adunion.clikit import cli_day, cli_errors, cli_settings, fail, open_database
from adunion.kernel.money import format_amount
from adunion.wallet import books, interest, service

ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
interest_app = typer.Typer(help="Interest on the float.", no_args_is_help=True)


@ledger_app.command("verify")
def verify() -> None:
    """Recompute every balance from the journal; exit 1 on any difference."""
    settings = cli_settings()
    with (
        cli_errors(),
        open_database(settings) as database,
        database.transaction(write=False) as session,
    ):
        found = ledger.verify(session)
    for discrepancy in found:
        where = discrepancy.account_id or discrepancy.transfer_id or "-"
        typer.echo(f"{discrepancy.check}: {where}: {discrepancy.message}", err=True)
    if found:
        typer.echo(
            f"error: {len(found)} discrepancy(ies) between the journal and the balances", err=True
        )
        raise typer.Exit(1)
    typer.echo("ledger verified: balances equal the journal, debits equal credits")


@interest_app.command("accrue")
def accrue(
    day: Annotated[str | None, typer.Option("--date", help="One UTC day, YYYY-MM-DD.")] = None,
    first: Annotated[str | None, typer.Option("--from", help="Back-fill from this day.")] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Back-fill to this day (inclusive).")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="Currency (default: all wallet currencies).")
    ] = None,
) -> None:
    """Accrue interest for a finished day, or a range of days; re-running posts nothing twice."""
    if day and (first or last):
        fail("give --date or --from/--to, not both")
    if not day and not (first and last):
        fail("give --date D, or --from D1 --to D2")
    days = (
        [cli_day(day, "--date")]
        if day
        else interest.days_between(cli_day(first or "", "--from"), cli_day(last or "", "--to"))
    )
    settings = cli_settings()
    with cli_errors(), open_database(settings) as database:
        currencies = (
            [service.check_currency(settings, currency)] if currency else list(settings.currencies)
        )
        for one_day in days:
            for code in currencies:
                with database.transaction() as session:
                    outcome = interest.accrue_day(session, settings, one_day, code)
                state = "posted" if outcome.created else "already accrued"
                typer.echo(
                    f"{one_day} {code}: float {format_amount(outcome.float_micros, code)}, "
                    f"interest {outcome.interest_micros} micros ({state})"
                )


def books_command(
    first: Annotated[
        str | None, typer.Option("--from", help="First UTC day (default: 30 days ago).")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last UTC day (default: today).")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency (default: the main one).")] = None,
) -> None:
    """Income statement for the period and balance sheet at its end, from the journal."""
    end_day = cli_day(last, "--to") if last else datetime.now(UTC).date()
    start_day = cli_day(first, "--from") if first else end_day - timedelta(days=29)
    if end_day < start_day:
        fail("--to must not be before --from")
    start = datetime.combine(start_day, time(0), tzinfo=UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=UTC)
    settings = cli_settings()
    with (
        cli_errors(),
        open_database(settings) as database,
        database.transaction(write=False) as session,
    ):
        code = service.check_currency(settings, currency or settings.currency)
        income = books.income_statement(session, code, start, end)
        sheet = books.balance_sheet(session, code, end)

    def line(label: str, micros: int) -> None:
        typer.echo(f"  {label:<34}{format_amount(micros, code):>24}")

    typer.echo(f"Income statement {start_day} .. {end_day} ({code})")
    for name, micros in income.revenue.items():
        line(name, micros)
    for name, micros in income.expenses.items():
        line(f"less {name}", -micros)
    line("net income", income.net_income)
    typer.echo(f"Balance sheet at the end of {end_day}")
    for name, micros in sheet.assets.items():
        line(name, micros)
    line("total assets", sheet.total_assets)
    for name, micros in {**sheet.liabilities, **sheet.equity}.items():
        line(name, micros)
    line("total liabilities and equity", sheet.total_liabilities_and_equity)
    for name, micros in sheet.unclassified.items():
        line(f"unclassified {name}", micros)
    if not sheet.balanced:
        fail("the balance sheet does not balance")
    typer.echo("balanced")

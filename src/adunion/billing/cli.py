"""``adunion billing run``: bill every queued event now (a job does it continuously in serve)."""

from __future__ import annotations

from typing import Annotated

import typer

from adunion.billing.runner import bill_until_empty, lag_seconds
from adunion.clikit import cli_day, cli_errors, cli_settings, fail, open_database
from adunion.kernel.money import format_amount

billing_app = typer.Typer(help="Billing of served ads.", no_args_is_help=True)


@billing_app.command("run")
def run(
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Events per transaction.")
    ] = 2000,
) -> None:
    """Bill every queued valid event once; prints what was charged."""
    settings = cli_settings()
    with cli_errors(), open_database(settings) as database:
        totals = bill_until_empty(database, settings, batch_size=batch_size)
        lag = lag_seconds(database)
    typer.echo(
        f"billed {totals.events} events in {totals.batches} batches: "
        f"{format_amount(totals.billed_micros, settings.currency)} charged, "
        f"{format_amount(totals.shortfall_micros, settings.currency)} not chargeable (no funds); "
        f"lag now {lag:.1f} s"
    )


@billing_app.command("reconcile")
def reconcile(
    day: Annotated[
        str | None,
        typer.Option("--date", help="Network day (ADUNION_TIMEZONE), YYYY-MM-DD (default: today)."),
    ] = None,
) -> None:
    """Check serving spend = billed + shortfall, and billed = per-site records = ledger, per
    campaign; exit 1 on a difference."""
    from adunion.billing.service import reconcile_day
    from adunion.kernel.clock import utcnow
    from adunion.kernel.days import NetworkDays

    settings = cli_settings()
    chosen = cli_day(day, "--date") if day else NetworkDays(settings.timezone).of(utcnow())
    with (
        cli_errors(),
        open_database(settings) as database,
        database.transaction(write=False) as session,
    ):
        mismatches = reconcile_day(session, chosen)
    for m in mismatches:
        typer.echo(f"{m.campaign_id}: {m.what}: expected {m.expected}, found {m.actual}", err=True)
    if mismatches:
        fail(f"{len(mismatches)} difference(s) on {chosen}")
    typer.echo(f"{chosen}: serving, billing and the ledger agree")

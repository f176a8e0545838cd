"""CLI: ``adunion report rollup --from D1 --to D2`` re-runs whole days from raw events."""

from __future__ import annotations

from typing import Annotated

import typer

from adunion.clikit import cli_day, cli_errors, cli_settings, open_database
from adunion.reporting import rollup, service

report_app = typer.Typer(help="Reports: rollups and pipeline health.", no_args_is_help=True)


@report_app.command("rollup")
def rollup_command(
    first: Annotated[str, typer.Option("--from", help="First UTC day, YYYY-MM-DD.")],
    last: Annotated[
        str | None, typer.Option("--to", help="Last UTC day, inclusive (default: --from).")
    ] = None,
) -> None:
    """Rewrite the hourly and daily rollups of these days from raw events (idempotent)."""
    start = cli_day(first, "--from")
    end = cli_day(last, "--to") if last else start
    settings = cli_settings()
    with cli_errors(), open_database(settings) as database:
        for day, events in rollup.rollup_days(database, settings, start, end):
            typer.echo(f"{day}: {events} events rolled up")


@report_app.command("health")
def health_command() -> None:
    """How far rollups and billing lag behind the newest event; exit 1 when stale."""
    settings = cli_settings()
    with (
        cli_errors(),
        open_database(settings) as database,
        database.transaction(write=False) as session,
    ):
        found = service.health(session)
    typer.echo(f"newest event: {found.newest_event_at or 'none'}")
    typer.echo(f"rollups cover until: {found.rolled_up_until or 'never'}")
    typer.echo(f"rollup lag: {found.rollup_lag_seconds:.0f} s")
    typer.echo(f"billing lag: {found.billing_lag_seconds:.0f} s")
    for warning in found.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if found.stale:
        raise typer.Exit(1)

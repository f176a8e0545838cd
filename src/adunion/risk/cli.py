"""``adunion fraud scan``: flag sites whose CTR is far above the network's, for risk review."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from adunion.clikit import cli_day, cli_errors, cli_settings, open_database
from adunion.risk import service

fraud_app = typer.Typer(help="Invalid-traffic review.", no_args_is_help=True)


@fraud_app.command("scan")
def scan(
    day: Annotated[
        str | None, typer.Option("--date", help="Last UTC day of the window (default: today).")
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=90, help="Days in the window (ADUNION_FRAUD_CTR_WINDOW_DAYS, 7)."),
    ] = None,
) -> None:
    """Flag each site whose CTR over the window exceeds ADUNION_FRAUD_CTR_RATIO x the network's."""
    settings = cli_settings()
    window_end = cli_day(day, "--date") if day else datetime.now(UTC).date()
    with cli_errors(), open_database(settings) as database, database.transaction() as session:
        result = service.scan(
            session,
            window_end=window_end,
            days=days or settings.fraud_ctr_window_days,
            ratio=settings.fraud_ctr_ratio,
            min_impressions=settings.fraud_ctr_min_impressions,
        )
        lines = [
            f"{f.site_id}: CTR {f.site_ctr_ppm / 10_000:.2f}% over {f.impressions} impressions"
            for f in result.new_flags
        ]
    typer.echo(
        f"{result.window_start}..{result.window_end}: network CTR "
        f"{result.network_ctr_ppm / 10_000:.2f}%, {result.sites_checked} sites checked, "
        f"{len(lines)} new flags"
    )
    for line in lines:
        typer.echo(line)

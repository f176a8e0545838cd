"""``adunion demo`` (create the demo network once) and ``adunion simulate`` (send it traffic)."""

from __future__ import annotations

import json
import threading
import time
from typing import Annotated

import httpx2 as httpx
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from adunion import migrate
from adunion.clikit import cli_errors, cli_settings, fail, open_database
from adunion.config import Settings
from adunion.kernel.logging import get_logger
from adunion.simulate.traffic import Simulator, TrafficConfig, TrafficReport, load_slots
from adunion.simulate.world import DEMO_PASSWORD, build_demo

log = get_logger("adunion.simulate")


def demo(
    reset: Annotated[
        bool, typer.Option("--reset", help="Drop everything and build the demo again.")
    ] = False,
    webmasters: Annotated[int, typer.Option(min=1, max=500, help="How many webmasters.")] = 30,
) -> None:
    """Create the demo network (once): webmasters, sites, slots, funded advertisers, operators."""
    settings = cli_settings()
    with cli_errors(), open_database(settings) as database:
        if reset:
            migrate.downgrade(database, "base")
        migrate.upgrade(database)
        typer.echo("building the demo network (first run only; about a minute)…")
        with database.transaction() as session:
            summary = build_demo(session, settings, webmasters=webmasters)
    state = "created" if summary.created else "already there"
    typer.echo(f"demo network {state}: {settings.base_url}")
    if summary.created:
        typer.echo(
            f"  {summary.webmasters} webmasters, {summary.sites} sites, {summary.slots} slots; "
            f"{summary.advertisers} advertisers, {summary.campaigns} campaigns, "
            f"{summary.creatives} creatives"
        )
    typer.echo(f"  sign in with any of these (password: {DEMO_PASSWORD}):")
    for role, email in summary.logins:
        typer.echo(f"    {role:<11}{email}")


def _simulator(settings: Settings, config: TrafficConfig) -> Simulator:
    with open_database(settings) as database, database.transaction(write=False) as session:
        slots = load_slots(session)
    if not slots:
        fail("no active auction slots: run `adunion demo` first")
    return Simulator(config, slots)


def simulate(
    url: Annotated[
        str | None, typer.Option(help="Base URL of the network (default: ADUNION_BASE_URL).")
    ] = None,
    rate: Annotated[float, typer.Option(min=0.1, max=5000, help="Slot views per second.")] = 20.0,
    views: Annotated[int, typer.Option(min=1, help="Stop after this many slot views.")] = 1000,
    bots: Annotated[float, typer.Option(min=0, max=1, help="Share of bot traffic.")] = 0.05,
    fraud: Annotated[float, typer.Option(min=0, max=1, help="Share of fraudulent clicks.")] = 0.02,
    viewable: Annotated[
        float, typer.Option(min=0, max=1, help="Share of ads shown that visitors actually see.")
    ] = 0.6,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 11,
) -> None:
    """Send simulated visitors to the network's real serving and tracking endpoints."""
    settings = cli_settings()
    config = TrafficConfig(
        base_url=url or settings.base_url,
        views_per_second=rate,
        max_views=views,
        bot_share=bots,
        fraud_click_share=fraud,
        viewable_share=viewable,
        seed=seed,
    )
    with cli_errors():
        simulator = _simulator(settings, config)
        if not simulator.wait_until_serving():
            fail(f"{config.base_url} does not serve decisions; is `adunion serve` running?")
        with Progress(
            TextColumn("slot views"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        ) as progress:
            task = progress.add_task("views", total=views)
            report = simulator.run(on_view=lambda r: progress.update(task, completed=r.decisions))
    typer.echo(json.dumps(report.as_dict()))


def start_background_traffic(settings: Settings, rate: float) -> threading.Thread:
    """For ``adunion serve --simulate``: live traffic against this very server, forever."""

    def run() -> None:
        base = f"http://127.0.0.1:{settings.port}"
        for _ in range(120):  # wait for the server to answer
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        simulator = _simulator(settings, TrafficConfig(base_url=base, views_per_second=rate))
        simulator.wait_until_serving(timeout=120.0)
        last = [time.monotonic()]

        def every_minute(report: TrafficReport) -> None:
            if time.monotonic() - last[0] >= 60:
                last[0] = time.monotonic()
                log.info("simulated_traffic", **report.as_dict())

        simulator.run(on_view=every_minute)

    thread = threading.Thread(target=run, name="simulated-traffic", daemon=True)
    thread.start()
    return thread

"""``adunion site …``: list sites, run a verification check, set a site's status by hand."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from adunion.clikit import cli_errors, cli_settings, fail, open_database
from adunion.inventory import repository, service
from adunion.inventory.domains import normalise_domain
from adunion.inventory.models import Site, SiteStatus

site_app = typer.Typer(help="Webmasters' sites.", no_args_is_help=True)


def _site(session: Session, domain: str) -> Site:
    site = repository.site_by_domain(session, normalise_domain(domain))
    if site is None:
        fail(f"no site with domain {domain}")
        raise AssertionError("unreachable")
    return site


@site_app.command("list")
def list_sites(
    status: Annotated[str | None, typer.Option(help="pending, verified or suspended.")] = None,
) -> None:
    """List sites with their status and owner."""
    wanted = None
    if status is not None:
        if status not in {s.value for s in SiteStatus}:
            fail(f"--status: {status!r} is not one of pending, verified, suspended")
        wanted = SiteStatus(status)
    settings = cli_settings()
    with (
        cli_errors(),
        open_database(settings) as database,
        database.transaction(write=False) as session,
    ):
        for site in session.scalars(repository.all_sites_query(wanted)):
            typer.echo(
                f"{site.domain}  {site.status.value}  {site.category}  owner={site.owner_id}"
            )


@site_app.command("check")
def check(domain: Annotated[str, typer.Argument(help="The site's domain.")]) -> None:
    """Fetch the site's ads.txt / home page now and verify ownership if the line or tag is there."""
    settings = cli_settings()
    with cli_errors(), open_database(settings) as database:
        with database.transaction(write=False) as session:
            site = _site(session, domain)
        outcome = service.run_check(settings, site)  # network: outside any transaction
        with database.transaction() as session:
            stored = service.record_check(session, _site(session, domain), outcome)
            typer.echo(f"{stored.domain}: {stored.status.value} — {outcome.message}")
    if outcome.method is None:
        raise typer.Exit(1)


@site_app.command("set-status")
def set_status(
    domain: Annotated[str, typer.Argument(help="The site's domain.")],
    status: Annotated[str, typer.Argument(help="verified, suspended or pending.")],
    note: Annotated[str, typer.Option(help="Why (kept with the site).")] = "",
) -> None:
    """Operators: verify by hand, suspend, or send back to pending."""
    if status not in {s.value for s in SiteStatus}:
        fail(f"status: {status!r} is not one of pending, verified, suspended")
    settings = cli_settings()
    with cli_errors(), open_database(settings) as database, database.transaction() as session:
        site = service.set_site_status(session, _site(session, domain).id, SiteStatus(status), note)
        typer.echo(f"{site.domain}: {site.status.value}")

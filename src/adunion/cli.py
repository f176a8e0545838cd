"""The ``adunion`` command line. Errors print one line to stderr and exit non-zero."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from adunion.clikit import cli_errors, cli_settings, fail, open_database

app = typer.Typer(help="adunion: an ad marketplace with a built-in wallet.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema: upgrade, check.", no_args_is_help=True)
user_app = typer.Typer(help="Users and operator accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (ADUNION_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (ADUNION_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
    simulate: Annotated[
        float, typer.Option(min=0, help="Also send this many simulated slot views per second.")
    ] = 0.0,
) -> None:
    """Run the web app and API (migrating the database first)."""
    import uvicorn

    # The workers read their settings from the environment: --host and --port are ADUNION_HOST
    # and ADUNION_PORT, so the default ADUNION_BASE_URL (the tracking links' base) follows them.
    if host:
        os.environ["ADUNION_HOST"] = host
    if port:
        os.environ["ADUNION_PORT"] = str(port)
    settings = cli_settings()
    if migrate_first:
        from adunion import migrate

        with cli_errors(), open_database(settings) as database:
            migrate.upgrade(database)
    if simulate:
        from adunion.simulate.cli import start_background_traffic

        start_background_traffic(settings, simulate)
    uvicorn.run(
        "adunion.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        access_log=False,
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from adunion import migrate

    settings = cli_settings()
    with cli_errors(), open_database(settings) as database:
        migrate.upgrade(database, revision)
        typer.echo(f"database at {migrate.current_revision(database)}")


@db_app.command("check")
def db_check() -> None:
    """Exit 1 if the models and the migrated schema differ (a migration is missing)."""
    from adunion import migrate

    settings = cli_settings()
    with cli_errors(), open_database(settings) as database:
        if migrate.current_revision(database) != migrate.head_revision(database):
            fail("database is not at the head revision; run: adunion db upgrade")
        differences = migrate.drift(database)
    if differences:
        for difference in differences:
            typer.echo(f"drift: {difference}", err=True)
        fail(f"{len(differences)} difference(s) between models and migrations")
    typer.echo("models and migrations agree")


def _read_password(password: str | None) -> str:
    if password:
        return password
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if line:
            return line
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user_app.command("create-admin")
def user_create_admin(
    email: Annotated[str, typer.Option(help="E-mail to sign in with.")],
    password: Annotated[
        str | None,
        typer.Option(help="Password (omit to be prompted or to read one line from stdin)."),
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "Administrator",
    role: Annotated[
        list[str] | None, typer.Option(help="Operator role(s): admin, finance, risk.")
    ] = None,
) -> None:
    """Create an operator account (role admin unless --role says otherwise)."""
    _create_user(email, password, name, role or ["admin"], operator=True)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="E-mail to sign in with.")],
    password: Annotated[str | None, typer.Option(help="Password (else prompted/stdin).")] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[list[str] | None, typer.Option(help="webmaster and/or advertiser.")] = None,
) -> None:
    """Create a customer account."""
    _create_user(
        email, password, name or email.split("@")[0], role or ["webmaster"], operator=False
    )


def _create_user(
    email: str, password: str | None, name: str, roles: list[str], *, operator: bool
) -> None:
    from adunion.accounts import passwords
    from adunion.accounts.schemas import SignUpIn
    from adunion.kernel.principal import CUSTOMER_ROLES, OPERATOR_ROLES, Role

    allowed = OPERATOR_ROLES if operator else CUSTOMER_ROLES
    names = sorted(r.value for r in allowed)
    for value in roles:
        if value not in names:
            fail(f"--role: {value!r} is not one of {', '.join(names)}")
    settings = cli_settings()
    with cli_errors():
        checked = SignUpIn(
            email=email, password=_read_password(password), display_name=name, roles=["webmaster"]
        )
        with open_database(settings) as database:
            user = passwords.sign_up(
                database,
                email=checked.email,
                password=checked.password,
                display_name=checked.display_name,
                roles=[Role(r) for r in roles],
                then=lambda _session, user: user,
            )
            typer.echo(f"created {user.email} ({', '.join(sorted(roles))}) id={user.id}")


@user_app.command("list")
def user_list() -> None:
    """List users with their roles."""
    from adunion.accounts import repository

    settings = cli_settings()
    with (
        cli_errors(),
        open_database(settings) as database,
        database.transaction(write=False) as session,
    ):
        for user in session.scalars(repository.all_users_query()):  # every one, streamed
            roles = ",".join(sorted(r.value for r in user.roles))
            typer.echo(f"{user.id}  {user.email}  {roles}")


@user_app.command("set-roles")
def user_set_roles(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    role: Annotated[list[str], typer.Option(help="Every role the user should have.")],
) -> None:
    """Replace a user's roles."""
    from adunion.accounts import repository, service
    from adunion.kernel.principal import Role

    valid = {r.value for r in Role}
    for value in role:
        if value not in valid:
            fail(f"--role: {value!r} is not one of {', '.join(sorted(valid))}")
    settings = cli_settings()
    with cli_errors(), open_database(settings) as database, database.transaction() as session:
        user = repository.user_by_email(session, email.lower())
        if user is None:
            fail(f"no user with e-mail {email}")
            return
        service.set_roles(session, user, [Role(r) for r in role])
        typer.echo(f"{user.email}: {', '.join(sorted(role))}")


@app.command()
def worker() -> None:
    """Run the background jobs (billing, hold expiry, interest) without serving HTTP."""
    from adunion.background import job_runner
    from adunion.context import build_context
    from adunion.kernel.logging import configure_logging

    settings = cli_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    ctx = build_context(settings)
    try:
        job_runner(ctx).run_forever()
    finally:
        ctx.close()


def _register_domains() -> None:
    from adunion.billing.cli import billing_app
    from adunion.inventory.cli import site_app
    from adunion.reporting.cli import report_app
    from adunion.risk.cli import fraud_app
    from adunion.simulate.cli import demo, simulate
    from adunion.wallet.cli import books_command, interest_app, ledger_app

    app.add_typer(billing_app, name="billing")
    app.add_typer(fraud_app, name="fraud")
    app.add_typer(site_app, name="site")
    app.command("demo")(demo)
    app.command("simulate")(simulate)
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(report_app, name="report")
    app.add_typer(interest_app, name="interest")
    app.command("books")(books_command)


_register_domains()


def main() -> None:
    app()

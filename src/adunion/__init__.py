"""adunion: a self-hostable advertising marketplace with a built-in wallet."""

__version__ = "0.1.0"


def main() -> None:
    """The ``adunion`` command. The CLI (and the app behind it) is imported only when the
    command runs: ``adunion serve --workers N`` spawns worker processes that re-run this entry
    script before they can answer uvicorn's health checks, and importing the CLI there took
    seconds (far longer on a loaded host) — past the check's 5 s, so workers were killed
    before they ever started."""
    from adunion.cli import main as run

    run()

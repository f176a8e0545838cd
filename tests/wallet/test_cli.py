from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from adunion.cli import app
from adunion.config import Settings
from adunion.kernel.db import Database
from tests.factories import funded_user

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ADUNION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADUNION_DATABASE_URL", database_url)
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


def test_ledger_verify_passes_then_catches_tampering(env: Settings, database: Database) -> None:
    funded_user(database, env, 5_000_000)
    ok = runner.invoke(app, ["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE code = 'customer_available'"
            )
        )
    broken = runner.invoke(app, ["ledger", "verify"])
    assert broken.exit_code == 1
    assert "discrepancy" in broken.output


def test_books_balance_after_a_deposit(env: Settings, database: Database) -> None:
    funded_user(database, env, 12_340_000)
    result = runner.invoke(app, ["books"])
    assert result.exit_code == 0, result.output
    assert "customer_balances" in result.output and "12.34 USD" in result.output
    assert result.output.strip().endswith("balanced")


def test_interest_accrue_and_rerun(env: Settings, database: Database) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    first = runner.invoke(app, ["interest", "accrue", "--date", yesterday])
    assert first.exit_code == 0, first.output
    assert "(posted)" in first.output
    again = runner.invoke(app, ["interest", "accrue", "--date", yesterday])
    assert "(already accrued)" in again.output
    back_fill = runner.invoke(
        app, ["interest", "accrue", "--from", "2026-01-01", "--to", "2026-01-03"]
    )
    assert back_fill.exit_code == 0
    assert back_fill.output.count("USD:") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["interest", "accrue", "--date", "2026-13-01"], "--date"),
        (["interest", "accrue"], "give --date"),
        (["interest", "accrue", "--date", "2999-01-01"], "not over yet"),
        (["interest", "accrue", "--date", "2026-01-01", "--currency", "XXX"], "currency"),
        (["books", "--from", "2026-02-01", "--to", "2026-01-01"], "--to"),
    ],
)
def test_clear_errors(env: Settings, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.output.startswith("error:") and message in result.output

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from adunion.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("ADUNION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADUNION_DATABASE_URL", database_url)
    return {}


def test_help_everywhere() -> None:
    for args in ([], ["db"], ["user"], ["serve"], ["user", "create-admin"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, args
        assert "Usage" in result.output


def test_db_upgrade_and_check(env: dict[str, str]) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    checked = runner.invoke(app, ["db", "check"])
    assert checked.exit_code == 0, checked.output
    assert "agree" in checked.output


def test_create_admin_then_list(env: dict[str, str]) -> None:
    created = runner.invoke(
        app,
        [
            "user",
            "create-admin",
            "--email",
            "Boss@Example.org",
            "--password",
            "a long password",
            "--role",
            "admin",
            "--role",
            "finance",
        ],
    )
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["user", "list"])
    assert "boss@example.org  admin,finance" in listed.output


def test_create_admin_reads_password_from_stdin(env: dict[str, str]) -> None:
    created = runner.invoke(
        app, ["user", "create-admin", "--email", "a@example.org"], input="a long password\n"
    )
    assert created.exit_code == 0, created.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "create-admin", "--email", "nope", "--password", "a long password"], "email"),
        (["user", "create-admin", "--email", "a@example.org", "--password", "short"], "password"),
        (
            [
                "user",
                "create-admin",
                "--email",
                "a@example.org",
                "--password",
                "a long password",
                "--role",
                "webmaster",
            ],
            "--role",
        ),
        (["user", "set-roles", "ghost@example.org", "--role", "risk"], "no user"),
    ],
)
def test_clear_one_line_errors(env: dict[str, str], args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_duplicate_admin_is_an_error(env: dict[str, str]) -> None:
    args = ["user", "create-admin", "--email", "a@example.org", "--password", "a long password"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "already registered" in again.output


def test_bad_setting_is_one_line(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADUNION_CURRENCY", "dollars")
    result = runner.invoke(app, ["user", "list"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ADUNION_CURRENCY")

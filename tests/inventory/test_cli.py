from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adunion.cli import app
from adunion.config import load_settings
from adunion.inventory import repository, service
from adunion.inventory.schemas import SiteIn
from adunion.inventory.verification import ads_txt_line
from adunion.kernel.db import Database
from tests.factories import make_user
from tests.inventory.conftest import SiteServer

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADUNION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADUNION_DATABASE_URL", database_url)


def add_site(database: Database, domain: str) -> str:
    with database.transaction() as session:
        user = make_user(session)
        site = service.create_site(session, user.id, SiteIn(domain=domain, category="IAB8"))
        return site.id


def test_list_and_set_status(env: None, database: Database) -> None:
    add_site(database, "bakery.example")
    listed = runner.invoke(app, ["site", "list"])
    assert listed.exit_code == 0, listed.output
    assert "bakery.example  pending  IAB8" in listed.output
    verified = runner.invoke(
        app, ["site", "set-status", "Bakery.Example", "verified", "--note", "called them"]
    )
    assert verified.exit_code == 0, verified.output
    assert runner.invoke(app, ["site", "list", "--status", "verified"]).output.startswith(
        "bakery.example"
    )
    assert runner.invoke(app, ["site", "list", "--status", "pending"]).output == ""


def test_check_fetches_the_site(
    env: None, database: Database, site_server: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADUNION_FETCH_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("ADUNION_FETCH_PORT", str(site_server.port))
    monkeypatch.setenv("ADUNION_FETCH_RESOLVE", json.dumps({"bakery.example": "127.0.0.1"}))
    add_site(database, "bakery.example")
    missing = runner.invoke(app, ["site", "check", "bakery.example"])
    assert missing.exit_code == 1
    assert "pending" in missing.output
    page = runner.invoke(app, ["site", "list"])
    assert "pending" in page.output
    with database.transaction(write=False) as session:
        site = repository.site_by_domain(session, "bakery.example")
        assert site is not None
        line = ads_txt_line(load_settings(), service.seller_id_of(site.owner_id))
    site_server.routes["/ads.txt"] = (200, {"Content-Type": "text/plain"}, f"{line}\n".encode())
    found = runner.invoke(app, ["site", "check", "bakery.example"])
    assert found.exit_code == 0, found.output
    assert "bakery.example: verified" in found.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["site", "check", "nowhere.example"], "no site"),
        (["site", "set-status", "bakery.example", "famous"], "status"),
        (["site", "list", "--status", "odd"], "--status"),
        (["site", "check", "not a domain"], "domain"),
    ],
)
def test_clear_errors(env: None, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.output.startswith("error:") and message in result.output

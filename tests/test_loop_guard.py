"""The event loop guard (tests/loop_guard.py) sees what an ``async def`` route runs on the loop,
and lets a plain ``def`` route or an explicit hand-off run the same calls in a worker thread."""

from __future__ import annotations

import io

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from starlette.concurrency import run_in_threadpool

from adunion.accounts import security
from adunion.app import create_app
from adunion.campaigns.images import check_image
from adunion.config import Settings
from adunion.inventory.formats import SlotFormat
from adunion.kernel.db import Database
from tests.loop_guard import LoopGuard
from tests.tracking.helpers import run


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 250), "white").save(out, "PNG")
    return out.getvalue()


def _blocking_work(database: Database, png: bytes) -> None:
    """A query, an argon2 verify and a Pillow decode: what must never run on the loop."""
    database.ping()
    security.verify_password(None, "a password")
    check_image(png, "image/png", SlotFormat.MEDIUM_RECTANGLE)


def _app_with_routes(settings: Settings, database: Database, png: bytes) -> FastAPI:
    app = create_app(settings, database=database)

    async def on_the_loop() -> dict[str, bool]:
        _blocking_work(database, png)
        return {"done": True}

    def in_the_pool() -> dict[str, bool]:
        _blocking_work(database, png)
        return {"done": True}

    async def handed_off() -> dict[str, bool]:
        await run_in_threadpool(_blocking_work, database, png)
        return {"done": True}

    app.add_api_route("/test/on-the-loop", on_the_loop)
    app.add_api_route("/test/in-the-pool", in_the_pool)
    app.add_api_route("/test/handed-off", handed_off)
    return app


def test_the_guard_notes_blocking_calls_on_the_loop_only(
    settings: Settings, database: Database, loop_guard: LoopGuard
) -> None:
    app = _app_with_routes(settings, database, _png())
    with TestClient(app) as client:
        assert client.get("/test/in-the-pool").status_code == 200
        assert client.get("/test/handed-off").status_code == 200
        assert loop_guard.notes == []
        assert client.get("/test/on-the-loop").status_code == 200
    kinds = [note.split(" ran on", 1)[0] for note in loop_guard.notes]
    assert kinds[0] == "a database connection checkout"
    assert kinds[1].startswith("SQL ")  # BEGIN on SQLite, SELECT on PostgreSQL
    assert kinds[-2:] == ["argon2 verify", "Pillow Image.open"]
    assert "test_loop_guard.py" not in loop_guard.notes[0]  # names the product's frames
    loop_guard.notes.clear()  # seen: this test's own blocking route must not fail it


def test_a_tests_own_coroutine_is_not_the_app(database: Database, loop_guard: LoopGuard) -> None:
    """Only the app is checked: a test may query from its own coroutine (checking a table)."""

    async def check_the_table() -> None:
        database.ping()

    run(check_the_table())  # asyncio.run on a thread of its own (Playwright may hold this one)
    assert loop_guard.notes == []

"""The event loop guard: nothing blocking runs on the app's event loop.

The web app serves on one event loop per process; a SQL statement (or taking a connection from
the pool, which a raw driver cursor needs too), an argon2 hash or verify, or a Pillow decode run
there stalls every decision and beacon meanwhile. :class:`LoopGuard` notes each of them that the
app runs on a thread with a running event loop: the app's loop under TestClient or uvicorn. FastAPI's thread pool and ``asyncio.to_thread`` workers run no loop, so what a plain
``def`` handler or an explicit hand-off does there is fine. "The app's" is a context variable set
around every call of the ASGI app (requests, and the lifespan with the tasks it starts): a test's
own code is not checked, even on a thread where Playwright's sync API leaves a loop "running".

The guard wraps the real calls, which still run: the check is whether, not how long, so it cannot
pass or fail by timing. ``tests/conftest.py`` installs it around every test and fails the test
during which a note was taken.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from PIL import Image
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from starlette.types import Receive, Scope, Send

import adunion
from adunion.fastpath import AdunionApp

IN_APP: ContextVar[bool] = ContextVar("adunion_test_in_app", default=False)
PRODUCT = str(Path(adunion.__file__).parent) + os.sep


def on_event_loop() -> bool:
    """Whether this thread runs an asyncio event loop right now."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _product_frames() -> str:
    """Where in adunion's code it happened, innermost last (the libraries' frames say little)."""
    frames = [f for f in traceback.extract_stack()[:-3] if f.filename.startswith(PRODUCT)]
    return "".join(traceback.format_list(frames[-8:]))


class LoopGuard:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def check(self, what: str) -> None:
        if IN_APP.get() and on_event_loop():
            self.notes.append(f"{what} ran on the event loop's thread, from:\n{_product_frames()}")

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.check(f"SQL {statement.split(None, 1)[0] if statement else ''!r}")

    def _checkout(self, *_args: Any) -> None:
        # Also a raw driver connection's (tracking's batch writer executes on the driver's cursor).
        self.check("a database connection checkout")

    def _wrap(self, what: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.check(what)
            return real(*args, **kwargs)

        return guarded

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every engine's statements and pool checkouts, argon2's hash and verify, Pillow's
        ``Image.open``, and the app's calls; the patches end with the test (``monkeypatch``), the
        listeners with :meth:`uninstall`."""
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Pool, "checkout", self._checkout)
        for name in ("hash", "verify"):
            real = getattr(PasswordHasher, name)
            monkeypatch.setattr(PasswordHasher, name, self._wrap(f"argon2 {name}", real))
        monkeypatch.setattr(Image, "open", self._wrap("Pillow Image.open", Image.open))
        real_call = AdunionApp.__call__

        async def app_call(app: AdunionApp, scope: Scope, receive: Receive, send: Send) -> None:
            marked = IN_APP.set(True)
            try:
                await real_call(app, scope, receive, send)
            finally:
                IN_APP.reset(marked)

        monkeypatch.setattr(AdunionApp, "__call__", app_call)

    def uninstall(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._statement)
        event.remove(Pool, "checkout", self._checkout)

    def report(self) -> str:
        first = self.notes[0]
        return f"{len(self.notes)} blocking call(s) on the app's event loop; the first:\n{first}"

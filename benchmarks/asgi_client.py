"""Requests straight into an ASGI app, no HTTP: what the in-process benchmarks send.

``running`` starts and stops the app as a server does (its lifespan: the index refresh, the event
journal's drain, the background threads); ``count_answered`` counts the responses with the
expected status, ``concurrency`` requests in flight on the running event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def status_of(app: Any, method: str, target: str, headers: list[tuple[bytes, bytes]]) -> int:
    """One request for ``target`` (path and optional ``?query``); the status the app answered."""
    path, _, query = target.partition("?")
    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, _receive, send)
    return status


async def count_answered(
    app: Any,
    method: str,
    targets: list[str],
    headers: list[tuple[bytes, bytes]],
    concurrency: int,
    expected: int,
) -> int:
    """Send every target, ``concurrency`` in flight; how many were answered ``expected``."""
    count = 0
    queue = iter(targets)

    async def worker() -> None:
        nonlocal count
        for target in queue:
            # Awaited first: `count += await ...` would read count before the await and lose the
            # other workers' increments made meanwhile.
            status = await status_of(app, method, target, headers)
            count += status == expected

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[None]:
    """The app between its lifespan's startup and shutdown, as uvicorn runs it."""
    async with app.router.lifespan_context(app):
        yield

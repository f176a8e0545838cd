"""The serving hot path without the framework: decision GET and view beacons, as plain ASGI.

The decision and the view beacon are most of the network's traffic, and each does a few
microseconds of work of its own; FastAPI's per-request telemetry check, its middleware stack,
routing over every route, dependency solving and the per-request log line would cost several
times that. :class:`AdunionApp` asks this fast path first, before any of it; it answers
exactly those requests — by calling the same functions the FastAPI endpoints call, so answers
cannot differ — and leaves everything else to FastAPI. The FastAPI routes stay (the OpenAPI
description, and any request this does not take). Requests it answers are counted in the
request metrics but not logged one line each (at thousands per second that log would be the
bottleneck); an unexpected error is logged and answered 500 in the API's error shape.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from adunion.context import AppContext
from adunion.http.deps import forwarded_client
from adunion.kernel.errors import error_body
from adunion.kernel.logging import get_logger
from adunion.serving import endpoints as serving
from adunion.tracking import endpoints as tracking
from adunion.tracking.intake import VIEW, Hit

DECISION_PATH = "/api/v1/decision"
VIEW_PREFIX = "/t/v/"
_JSON_HEADERS = [(b"content-type", b"application/json")] + [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in serving.CORS.items()
]

log = get_logger("adunion.serving.fastpath")


def query_params(raw: bytes) -> dict[str, str]:
    """``dict(parse_qsl(...))`` of a query string (the last of a repeated name wins, blank
    values kept, as Starlette's QueryParams reads them into a dict); a plain ``name=value&...``
    string, the usual decision request, is split directly (a tenth of parse_qsl's time)."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    params: dict[str, str] = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            params[name] = value
    return params


def _json(body: Any) -> bytes:
    # Compact UTF-8 JSON, as Starlette's JSONResponse renders, in a twentieth of json.dumps's
    # time (0.3 against 6.3 us for a filled decision).
    return orjson.dumps(body)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode("latin-1")), *_JSON_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _internal_error(send: Send, path: str, method: str, exc: Exception) -> None:
    """As the app's handler for unexpected errors answers (http/errors.py)."""
    log.error("unhandled_error", path=path, method=method, exc_info=exc)
    await _send_json(
        send, 500, _json(error_body("internal_error", "internal error; it has been logged"))
    )


class ServingFastPath:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._decisions = ctx.metrics.requests.labels("GET", DECISION_PATH, "200")
        self._views = ctx.metrics.requests.labels("POST", "/t/v/{token}", "204")
        self._trusted = ctx.settings.trusted_proxy_set
        # Rendered once from the endpoint's own responses (no body: 204, or 503 with length 0).
        self._beacon_answers = {
            recorded: (answer.status_code, tuple(answer.raw_headers))
            for recorded, answer in (
                (True, tracking.view_beacon_response(True)),
                (False, tracking.view_beacon_response(False)),
            )
        }

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is a decision or a view beacon; False leaves it to FastAPI."""
        if scope["type"] != "http":
            return False
        path: str = scope["path"]
        method: str = scope["method"]
        if path == DECISION_PATH and method == "GET":
            try:
                status, payload = self._decision(scope)
            except Exception as exc:  # noqa: BLE001 - logged and answered 500, as the app does
                await _internal_error(send, path, method, exc)
                return True
            if status == 200:
                self._decisions.inc()
            await _send_json(send, status, payload)
            return True
        if method == "POST" and path.startswith(VIEW_PREFIX) and "/" not in path[5:]:
            try:
                await self._view_beacon(scope, send, path[len(VIEW_PREFIX) :])
            except Exception as exc:  # noqa: BLE001 - logged and answered 500, as the app does
                await _internal_error(send, path, method, exc)
            return True
        return False

    def _decision(self, scope: Scope) -> tuple[int, bytes]:
        """``GET /api/v1/decision``: the endpoint's own answer, read from the raw scope."""
        params = query_params(scope["query_string"])
        user_agent = cookie = host = referer = ""
        for name, value in scope["headers"]:
            # The first of each, as Starlette's Headers.get reads them.
            if name == b"user-agent":
                user_agent = user_agent or value.decode("latin-1")
            elif name == b"host":
                host = host or value.decode("latin-1")
            elif name == b"cookie":
                cookie = cookie or value.decode("latin-1")
            elif name == b"referer":
                referer = referer or value.decode("latin-1")
        status, body = serving.view_answer(
            self.ctx.serving,
            serving.scope_base_url(scope, host),
            params.get("slot", ""),
            params,
            user_agent=user_agent,
            cookie_header=cookie,
            referer=referer,
        )
        return status, _json(body)

    async def _view_beacon(self, scope: Scope, send: Send, token: str) -> None:
        """``POST /t/v/{token}``: the endpoint's own record and answer, read from the raw scope."""
        recorded = await tracking.record_hit(self.ctx.serving, VIEW, self._hit(scope, token))
        if recorded:
            self._views.inc()
        status, headers = self._beacon_answers[recorded]
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b""})

    def _hit(self, scope: Scope, token: str) -> Hit:
        """What ``tracking.endpoints._hit`` builds from a Request, without building one."""
        user_agent = forwarded_for = None
        for name, value in scope["headers"]:
            if name == b"user-agent" and user_agent is None:
                user_agent = value.decode("latin-1")
            elif name == b"x-forwarded-for" and forwarded_for is None:
                forwarded_for = value.decode("latin-1")
        client = scope.get("client")
        peer: str = client[0] if client else "unknown"
        if peer in self._trusted:
            peer = forwarded_client(peer, forwarded_for or "", self._trusted)
        return Hit(token, peer, user_agent or "", time.time())


class AdunionApp(FastAPI):
    """FastAPI, with the serving fast path asked before anything else."""

    fast_path: ServingFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None:
            scope["app"] = self  # as Starlette sets it: request.app reaches the context
            if await self.fast_path.handle(scope, receive, send):
                return
        await super().__call__(scope, receive, send)

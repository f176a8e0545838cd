"""The serving hot path without the framework: decision GET and view beacons, as plain ASGI.

The decision and the view beacon are most of the network's traffic, and each does a few
microseconds of work of its own; FastAPI's per-request telemetry check, its middleware stack,
routing over every route, dependency solving and the per-request log line would cost several
times that. :class:`AdunionApp` asks this fast path first, before any of it; it answers exactly
those requests by calling the functions the FastAPI endpoints call, on the same ASGI scope
(``serving.endpoints.view_answer``, ``tracking.endpoints.scope_hit`` and ``record_hit``), so the
answers cannot differ, and leaves everything else to FastAPI, whose routes stay (the OpenAPI
description, and any request this does not take). Requests it answers are counted in the request
metrics but not logged one line each (at thousands per second that log would be the bottleneck);
an unexpected error is logged and answered 500 in the API's error shape.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from adunion.context import AppContext
from adunion.kernel.errors import error_body
from adunion.kernel.logging import get_logger
from adunion.serving import endpoints as serving
from adunion.serving.runtime import ServingRuntime
from adunion.tracking import endpoints as tracking
from adunion.tracking.service import VIEW, Intake

DECISION_PATH = "/api/v1/decision"
VIEW_PREFIX = "/t/v/"
_JSON_HEADERS = [(b"content-type", b"application/json")] + [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in serving.CORS.items()
]

log = get_logger("adunion.fastpath")


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
    def __init__(self, ctx: AppContext, serving_runtime: ServingRuntime, intake: Intake) -> None:
        self.serving = serving_runtime
        self.intake = intake
        self._decisions = ctx.metrics.requests.labels("GET", DECISION_PATH, "200")
        self._views = ctx.metrics.requests.labels("POST", "/t/v/{token}", "204")
        self._trusted = ctx.settings.trusted_proxy_set
        self._own_origin = tracking.own_origin(ctx.settings.base_url)
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
                params = serving.query_params(scope["query_string"])
                status, body = serving.view_answer(
                    self.serving, scope, params.get("slot", ""), params
                )
                payload = _json(body)
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

    async def _view_beacon(self, scope: Scope, send: Send, token: str) -> None:
        """``POST /t/v/{token}``: the endpoint's own record and answer, on the raw scope."""
        hit = tracking.scope_hit(scope, token, self._trusted, self._own_origin)
        recorded = await tracking.record_hit(self.intake, VIEW, hit)
        if recorded:
            self._views.inc()
        status, headers = self._beacon_answers[recorded]
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b""})


class AdunionApp(FastAPI):
    """FastAPI, with the serving fast path asked before anything else."""

    fast_path: ServingFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None:
            scope["app"] = self  # as Starlette sets it: request.app reaches the app's state
            if await self.fast_path.handle(scope, receive, send):
                return
        await super().__call__(scope, receive, send)

"""The serving hot path without the framework: decision GET and view beacons, as plain ASGI.

The decision and the view beacon are most of the network's traffic, and each does a few
microseconds of work of its own; FastAPI's routing over every route, dependency solving and the
per-request log line would cost several times that. This middleware answers exactly those
requests itself — by calling the same functions the FastAPI endpoints call, so answers cannot
differ — and passes everything else on. The FastAPI routes stay (the OpenAPI description, and
any request this does not take). Requests it answers are counted in the request metrics but not
logged one line each (at thousands per second that log would be the bottleneck).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from adunion.context import AppContext
from adunion.serving import endpoints as serving
from adunion.tracking import endpoints as tracking

DECISION_PATH = "/api/v1/decision"
VIEW_PREFIX = "/t/v/"


class ServingFastPath:
    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx
        self._decisions = ctx.metrics.requests.labels("GET", DECISION_PATH, "200")
        self._views = ctx.metrics.requests.labels("POST", "/t/v/{token}", "204")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            method: str = scope["method"]
            if path == DECISION_PATH and method == "GET":
                request = Request(scope, receive)
                response = serving._answer(
                    request, request.query_params.get("slot", ""), dict(request.query_params)
                )
                if response.status_code == 200:
                    self._decisions.inc()
                await response(scope, receive, send)
                return
            if method == "POST" and path.startswith(VIEW_PREFIX) and "/" not in path[5:]:
                request = Request(scope, receive)
                beacon = await tracking.track_view(request, path[len(VIEW_PREFIX) :])
                if beacon.status_code == 204:
                    self._views.inc()
                await beacon(scope, receive, send)
                return
        await self.app(scope, receive, send)

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

import time

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from adunion.context import AppContext
from adunion.http.deps import forwarded_client
from adunion.serving import endpoints as serving
from adunion.tracking import endpoints as tracking
from adunion.tracking.intake import VIEW, Hit

DECISION_PATH = "/api/v1/decision"
VIEW_PREFIX = "/t/v/"


class ServingFastPath:
    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
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
                await self._view_beacon(scope, send, path[len(VIEW_PREFIX) :])
                return
        await self.app(scope, receive, send)

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
        return Hit(token=token, ip=peer, user_agent=user_agent or "", now=time.time())

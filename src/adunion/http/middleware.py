"""Request logging and metrics: one structured line per request, labelled by route template."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adunion.context import AppContext
from adunion.kernel.ids import new_id
from adunion.kernel.logging import get_logger

log = get_logger("adunion.request")


class RequestLogMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so it costs little on the serving hot path."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = new_id()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            request = Request(scope)
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.ctx.metrics.requests.labels(request.method, template, str(status)).inc()
            self.ctx.metrics.request_seconds.labels(request.method, template).observe(elapsed)
            log.info(
                "request",
                request_id=request_id,
                method=request.method,
                path=request.url.path,
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                client=request.client.host if request.client else None,
            )

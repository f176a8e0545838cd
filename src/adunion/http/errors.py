"""Every error answers in one JSON shape with the right status, never a stack trace.

Web pages get the same status with an HTML page instead (and a redirect to sign-in for 401).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from adunion.kernel.errors import AppError, FieldError, TooManyRequests, error_body
from adunion.kernel.logging import get_logger
from adunion.web.render import render_error

log = get_logger("adunion.http")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path in ("/healthz", "/metrics", "/openapi.json"):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


def _respond(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str]
) -> Response:
    if wants_html(request):
        if status == 401:
            target = quote(request.url.path)
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return render_error(request, status, body["error"]["message"], headers)
    return JSONResponse(body, status_code=status, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(part) for part in location)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        headers = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        return _respond(
            request, exc.status_code, error_body(exc.code, exc.message, exc.fields), headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [FieldError(_field_name(tuple(e["loc"])), str(e["msg"])) for e in exc.errors()]
        message = "; ".join(f"{f.field}: {f.message}" for f in fields) or "invalid request"
        return _respond(request, 422, error_body("validation_failed", message, fields), {})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        return _respond(
            request, exc.status_code, error_body(code, message), dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled_error", path=request.url.path, method=request.method, exc_info=exc)
        body = error_body("internal_error", "internal error; it has been logged")
        if wants_html(request):
            try:
                return _respond(request, 500, body, {})  # a browser gets the error page
            except Exception:  # noqa: BLE001 - the page itself failed to render: plain JSON
                log.error("error_page_failed", path=request.url.path)
        return JSONResponse(body, status_code=500)

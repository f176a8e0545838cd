"""Security headers on the platform's own pages and API, in one place.

Pages (and the API's answers) may not be framed by another site (clickjacking: the wallet,
withdrawal and token pages), run only this origin's scripts and styles, are not MIME-sniffed, and
send no address to other sites. Over HTTPS, browsers are told to keep to HTTPS (HSTS).

What publishers' pages embed keeps its own rules, untouched: the decision API, ``/tag.js``, the
iframe fallback ``/serve/{slot}/frame``, the tracking beacons and redirects under ``/t/``, and
creatives under ``/creatives/`` (which set their own sandboxing policy). The busiest of those
(the decision GET and the view beacon) are answered by ``fastpath`` before any middleware.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adunion.config import Settings

# Only this origin's files: no inline script or style (the templates have none), images also as
# data: URIs (Swagger UI's icons), frames only of this origin (HTML creatives' previews).
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000"
_PAGE_HEADERS = (
    (b"content-security-policy", PAGE_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_EMBEDDED_PATHS = frozenset({"/api/v1/decision", "/tag.js"})
_EMBEDDED_PREFIXES = ("/t/", "/creatives/")
_EMBEDDED_SLOT_ENDINGS = ("/frame", "/decision.json")


def is_embedded(path: str) -> bool:
    """What publishers' pages load or frame from another origin."""
    if path in _EMBEDDED_PATHS or path.startswith(_EMBEDDED_PREFIXES):
        return True
    return path.startswith("/serve/") and path.endswith(_EMBEDDED_SLOT_ENDINGS)


def served_over_https(scope: Scope, settings: Settings) -> bool:
    """As the session cookie's ``Secure`` flag decides (``ADUNION_COOKIE_SECURE``)."""
    if settings.cookie_secure == "auto":
        return bool(scope.get("scheme") == "https")
    return settings.cookie_secure == "always"


class SecurityHeadersMiddleware:
    """Pure ASGI: adds the headers a response does not set itself."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_embedded(scope["path"]):
            await self.app(scope, receive, send)
            return
        extra = list(_PAGE_HEADERS)
        if served_over_https(scope, self.settings):
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

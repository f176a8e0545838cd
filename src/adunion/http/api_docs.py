"""The interactive API reference at ``/docs``, served from this platform's own files.

FastAPI's default page loads Swagger UI from a public CDN: on a self-hosted network without an
outside connection the page stays blank, and with one every reader's visit is announced to the
CDN. The same Swagger UI files come with the ``fastapi-offline`` package; they are mounted under
``/static/api-docs`` and the page points at them. The page starts Swagger UI from a file of its
own (``/static/swagger-init.js``), not an inline script, so it runs under the pages'
Content-Security-Policy (``http/security.py``), which allows no inline script.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/static/api-docs"
ASSETS_DIR = files("fastapi_offline") / "static"
INIT_SCRIPT_URL = "/static/swagger-init.js"  # in web/static

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{root}/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{root}{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{root}{assets}/swagger-ui-bundle.js"></script>
<script src="{root}{init}"></script>
</body>
</html>
"""


def install_api_docs(app: FastAPI) -> None:
    """``/docs``, with the Swagger UI assets mounted locally.

    The app must be created with ``docs_url=None`` (FastAPI's own page would be found first)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS_DIR)), name="api-docs")

    @app.get(DOCS_URL, include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        root = escape(request.scope.get("root_path", ""))
        return HTMLResponse(
            _PAGE.format(
                title=escape(f"{app.title} - API reference"),
                root=root,
                assets=ASSETS_URL,
                init=INIT_SCRIPT_URL,
                openapi_url=f"{root}{escape(openapi_url)}",
            )
        )

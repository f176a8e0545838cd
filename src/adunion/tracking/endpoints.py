"""Tracking endpoints: impression beacon, click redirect, conversion postback.

Each answers once its event is in the event journal (``tracking.journal``: it survives a crash of
the process; the drain commits it within ``ADUNION_TRACKING_DRAIN_SECONDS``), or 503 when the
journal cannot take it. The click redirect goes only to the creative's own landing URL (from the
index, else the database) — never to a URL taken from the request.
"""

from __future__ import annotations

import asyncio
import base64
import time
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.types import Scope

from adunion.accounts import service as accounts
from adunion.accounts.auth import SESSION_COOKIE
from adunion.http.deps import get_context, scope_client_address
from adunion.kernel.db import Database
from adunion.kernel.hosts import origin_of, page_host
from adunion.kernel.money import MAX_MICROS
from adunion.tracking.journal import WriterClosed
from adunion.tracking.service import CLICK, CONVERSION, VIEW, VIEWABLE, Hit, Intake

router = APIRouter(tags=["tracking"])
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}


def tracking_intake(request: Request) -> Intake:
    """The app's intake (set on ``app.state`` by the app factory)."""
    intake: Intake = request.app.state.intake
    return intake


def scope_hit(
    scope: Scope, token: str, trusted: frozenset[str], own_origin: str, user_id: str | None = None
) -> Hit:
    """The hit a request makes, from its ASGI scope: every beacon's, whichever way it came.
    ``own_origin`` is the platform's (``kernel.hosts.origin_of(ADUNION_BASE_URL)``)."""
    user_agent = origin = referer = ""
    for name, value in scope["headers"]:  # one pass for the three headers the intake reads
        if name == b"user-agent":
            user_agent = user_agent or value.decode("latin-1")
        elif name == b"origin":
            origin = origin or value.decode("latin-1")
        elif name == b"referer":
            referer = referer or value.decode("latin-1")
    return Hit(
        token,
        scope_client_address(scope, trusted),
        user_agent,
        time.time(),
        user_id,
        None,
        request_page_host(origin, referer, own_origin),
    )


def request_page_host(origin: str, referer: str, own_origin: str) -> str:
    """The host of the page an event's request came from: its ``Origin`` (a beacon's), else its
    ``Referer`` (a pixel's or a click's), as the browser's referrer policy lets them through.
    A page of the platform itself — the iframe fallback, whose pixel and links are on our own
    origin — says nothing of the publisher's page: "" (the offer token's page decides)."""
    page = origin if origin and origin != "null" else referer
    if not page or (page.lower().startswith(own_origin) and page[len(own_origin) :][:1] in "/"):
        return ""
    return page_host(page)


def _hit(request: Request, token: str, user_id: str | None = None) -> Hit:
    settings = get_context(request).settings
    return scope_hit(
        request.scope, token, settings.trusted_proxy_set, own_origin(settings.base_url), user_id
    )


@lru_cache(maxsize=8)
def own_origin(base_url: str) -> str:
    """The platform's origin, from its configured base URL."""
    return origin_of(base_url)


def _unavailable() -> Response:
    return Response(status_code=503, headers={**NO_STORE, "Retry-After": "1"})


async def _record(request: Request, kind: str, hit: Hit) -> Response | None:
    if await record_hit(tracking_intake(request), kind, hit):
        return None
    return _unavailable()


async def record_hit(intake: Intake, kind: str, hit: Hit) -> bool:
    """Record the event; False when the journal cannot take it now (shutting down, disk error):
    the caller answers 503 with Retry-After and the client may send it again."""
    try:
        await intake.record(kind, hit)
    except (WriterClosed, OSError):
        return False
    return True


def view_beacon_response(recorded: bool) -> Response:
    """The answer to ``POST /t/v/{token}``: 204 once durable, else 503."""
    return Response(status_code=204, headers=NO_STORE) if recorded else _unavailable()


@router.get("/t/v/{token}", name="track_view_pixel", include_in_schema=False)
async def track_view_pixel(request: Request, token: str) -> Response:
    """1x1 GIF impression beacon (an ``<img>``)."""
    failed = await _record(request, VIEW, _hit(request, token))
    return failed or Response(GIF, media_type="image/gif", headers=NO_STORE)


@router.post("/t/v/{token}", name="track_view", status_code=204)
async def track_view(request: Request, token: str) -> Response:
    """Impression beacon for ``navigator.sendBeacon``: 204 once the event is durable."""
    return view_beacon_response(
        await record_hit(tracking_intake(request), VIEW, _hit(request, token))
    )


async def _session_user(request: Request) -> str | None:
    """The signed-in platform user, if any: a webmaster clicking their own ad is invalid."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None  # most clicks: no platform session, nothing to look up
    return await asyncio.to_thread(_user_of_session, get_context(request).database, secret)


def _user_of_session(database: Database, secret: str) -> str | None:
    """A query: in a worker thread, never on the event loop."""
    with database.transaction(write=False) as session:
        user = accounts.user_for_web_session(session, secret)
        return user.id if user is not None else None


@router.get("/t/c/{token}", name="track_click", include_in_schema=False)
async def track_click(request: Request, token: str) -> Response:
    """Click: record, then 302 to the creative's own landing URL."""
    hit = _hit(request, token, await _session_user(request))
    try:
        outcome = await tracking_intake(request).record(CLICK, hit)
    except (WriterClosed, OSError):
        return _unavailable()
    if outcome.landing_url is None:
        return Response("This ad link is not valid.", 400, media_type="text/plain")
    return RedirectResponse(outcome.landing_url, 302, headers={"Cache-Control": "no-store"})


@router.post("/t/vv/{token}", name="track_viewable", status_code=204)
async def track_viewable(request: Request, token: str) -> Response:
    """Viewable impression beacon: the tag saw half the ad in view for one continuous second."""
    failed = await _record(request, VIEWABLE, _hit(request, token))
    return failed or Response(status_code=204, headers=NO_STORE)


# A conversion's value must fit the events table's 64-bit column; a larger one is refused (422)
# before it can reach a batch, where it would fail every event written with it.
ValueMicros = Annotated[int | None, Query(le=MAX_MICROS)]


async def _conversion(request: Request, token: str, value_micros: int | None) -> Response | None:
    hit = _hit(request, token)
    if value_micros is not None and value_micros >= 0:
        hit = hit._replace(value_micros=value_micros)
    return await _record(request, CONVERSION, hit)


@router.post("/t/conv/{token}", name="track_conversion", status_code=204)
async def track_conversion(
    request: Request, token: str, value_micros: ValueMicros = None
) -> Response:
    """Conversion postback (server to server): 204 once durable; ``value_micros`` optional."""
    failed = await _conversion(request, token, value_micros)
    return failed or Response(status_code=204, headers=NO_STORE)


@router.get("/t/conv/{token}", name="track_conversion_pixel", include_in_schema=False)
async def track_conversion_pixel(
    request: Request, token: str, value_micros: ValueMicros = None
) -> Response:
    """Conversion pixel (an ``<img>`` on the thank-you page)."""
    failed = await _conversion(request, token, value_micros)
    return failed or Response(GIF, media_type="image/gif", headers=NO_STORE)

"""Serving interfaces: JSON decision API, JS tag, iframe fallback, the slot owner's debug view.

Public endpoints (no auth, CORS open: any page may embed a slot). Handlers are async and build
their JSON by hand: the decision is CPU-only and must not pay for a thread hop or a model layer.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NamedTuple
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.requests import cookie_parser
from starlette.types import Scope

from adunion.accounts.auth import ApiPrincipal
from adunion.http.deps import DbSession
from adunion.kernel.hosts import page_host
from adunion.serving.repository import OPERATORS, readable_slot
from adunion.serving.runtime import ServingRuntime, serving_runtime
from adunion.serving.service import Served, parse_keywords, serve
from adunion.serving.snapshots import CreativeSnapshot

router = APIRouter(tags=["serving"])
TAG_JS = (Path(__file__).parent / "static" / "tag.js").read_text()
CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
VISITOR_COOKIE = "adunion_vid"
Serving = Annotated[ServingRuntime, Depends(serving_runtime)]


class ViewHeaders(NamedTuple):
    """The request headers a slot view reads (the first of each, as Starlette reads them)."""

    user_agent: str = ""
    cookie: str = ""
    referer: str = ""
    origin: str = ""


_VIEW_HEADERS = {b"user-agent": 0, b"cookie": 1, b"referer": 2, b"origin": 3}


def view_headers(scope: Scope) -> ViewHeaders:
    found = ["", "", "", ""]
    for name, value in scope["headers"]:
        place = _VIEW_HEADERS.get(name)
        if place is not None and not found[place]:
            found[place] = value.decode("latin-1")
    return ViewHeaders(*found)


def query_params(raw: bytes) -> dict[str, str]:
    """The query string as a dict (the last of a repeated name wins, blank values kept, as
    Starlette's QueryParams reads it into a dict); a plain ``name=value&...`` string, the usual
    decision request, is split directly (a tenth of parse_qsl's time)."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    params: dict[str, str] = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            params[name] = value
    return params


_creative_bodies: dict[tuple[str, str], tuple[CreativeSnapshot, dict[str, Any]]] = {}


def creative_body(base: str, creative: CreativeSnapshot) -> dict[str, Any]:
    """The creative's part of a filled answer; worked out once per creative snapshot (it is
    the same for every view of the ad)."""
    key = (base, creative.id)
    cached = _creative_bodies.get(key)
    if cached is not None and cached[0] is creative:
        return cached[1]
    body = {
        "id": creative.id,
        "kind": creative.kind,
        "format": creative.format,
        "width": creative.width,
        "height": creative.height,
        "title": creative.title,
        "body": creative.body,
        # Uploaded images are served by this platform: an absolute URL, as the ad renders on
        # the publisher's page.
        "image_url": base + creative.image_url
        if creative.image_url.startswith("/")
        else creative.image_url,
        "html": creative.html,
    }
    if len(_creative_bodies) >= 100_000:  # creatives come and go: keep it bounded
        _creative_bodies.clear()
    _creative_bodies[key] = (creative, body)
    return body


def decision_body(base: str, slot_id: str, served: Served) -> dict[str, Any]:
    decision = served.decision
    if decision.creative is None or served.token is None:
        return {"slot": slot_id, "filled": False, "reason": decision.reason}
    token = served.token
    return {
        "slot": slot_id,
        "filled": True,
        "offer": served.offer_id,
        "view_url": f"{base}/t/v/{token}",
        "click_url": f"{base}/t/c/{token}",
        "viewable_url": f"{base}/t/vv/{token}",
        "creative": creative_body(base, decision.creative),
    }


def serve_view(
    runtime: ServingRuntime, slot_id: str, params: Mapping[str, Any], headers: ViewHeaders
) -> Served:
    """One slot view from a request's parts: the query (or JSON body) parameters and its
    headers. The visitor is the ``visitor`` parameter, else the visitor cookie. The page is the
    ``url`` parameter (the tag sends the page's address), else the Referer; its host, signed into
    the offer, is the ``Origin`` a browser puts on the tag's request when there is one (the
    page's own, which its script cannot change), else the page's."""
    visitor = params.get("visitor") or (
        cookie_parser(headers.cookie).get(VISITOR_COOKIE) if headers.cookie else None
    )
    country = params.get("country")
    keywords = params.get("keywords")
    page_url = str(params.get("url") or headers.referer)
    return serve(
        runtime,
        slot_id=slot_id,
        visitor_id=str(visitor or ""),
        user_agent=headers.user_agent,
        keywords=parse_keywords(str(keywords)) if keywords else frozenset(),
        country=str(country).upper()[:2] if country else None,
        page_url=page_url[:2000],
        page_host=page_host(headers.origin) or page_host(page_url),
    )


def view_answer(
    runtime: ServingRuntime, scope: Scope, slot_id: str, params: Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    """The decision API's status and JSON body for one slot view: what every way of asking for
    a decision answers (these endpoints, and the serving fast path on the same scope)."""
    headers = view_headers(scope)
    served = serve_view(runtime, slot_id, params, headers)
    status = 404 if served.decision.reason == "unknown_slot" else 200
    return status, decision_body(runtime.base_url, slot_id, served)


def _answer(request: Request, slot_id: str, params: Mapping[str, Any]) -> JSONResponse:
    status, body = view_answer(serving_runtime(request), request.scope, slot_id, params)
    return JSONResponse(body, status, headers=CORS)


@router.get("/api/v1/decision", name="decision")
async def decision_get(request: Request, slot: str = "") -> JSONResponse:
    """The ad for one slot view. Query: slot, visitor, keywords (comma-separated), url, country."""
    return _answer(request, slot, query_params(request.scope["query_string"]))


@router.post("/api/v1/decision", name="decision_post")
async def decision_post(request: Request) -> JSONResponse:
    """The same as GET, with a JSON body: {"slot", "visitor", "keywords", "url", "country"}."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse(
            {"error": {"code": "bad_request", "message": "send a JSON object", "fields": []}},
            400,
            headers=CORS,
        )
    return _answer(request, str(body.get("slot", "")), body)


@router.options("/api/v1/decision", include_in_schema=False)
async def decision_preflight() -> Response:
    return Response(
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


@router.get("/serve/{slot_id}/decision.json", name="slot_decision")
async def slot_decision(request: Request, slot_id: str) -> JSONResponse:
    return _answer(request, slot_id, query_params(request.scope["query_string"]))


@router.get("/tag.js", name="tag_js", include_in_schema=False)
async def tag_js() -> Response:
    return Response(
        TAG_JS,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


def creative_html(request: Request, served: Served) -> str:
    """The ad as a small HTML document (iframe fallback). HTML creatives go in a sandboxed
    iframe of their own: no same-origin access, no top navigation except by user click."""
    slot_id = served.decision.slot.id if served.decision.slot else ""
    body = decision_body(serving_runtime(request).base_url, slot_id, served)
    if not body["filled"]:
        return '<!doctype html><html><body style="margin:0"></body></html>'
    c = body["creative"]
    click = html.escape(body["click_url"])
    pixel = (
        f'<img src="{html.escape(body["view_url"])}" width="1" height="1" alt="" '
        'style="position:absolute">'
    )
    if c["kind"] == "html":
        inner = html.escape(c["html"].replace("%%CLICK_URL%%", body["click_url"]))
        ad = (
            f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="{inner}" '
            f'style="border:0;width:100%;height:100%"></iframe>'
        )
    elif c["kind"] == "image":
        ad = (
            f'<a href="{click}" target="_blank" rel="noopener sponsored">'
            f'<img src="{html.escape(c["image_url"])}" alt="{html.escape(c["title"])}" '
            'style="max-width:100%;height:auto;border:0"></a>'
        )
    else:
        ad = (
            f'<a href="{click}" target="_blank" rel="noopener sponsored" '
            'style="font:14px sans-serif;color:#1a0dab;text-decoration:none">'
            f"<strong>{html.escape(c['title'])}</strong><br>{html.escape(c['body'])}</a>"
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width"></head>'
        f'<body style="margin:0;overflow:hidden">{ad}{pixel}</body></html>'
    )


@router.get("/serve/{slot_id}/frame", name="slot_frame", response_class=HTMLResponse)
async def slot_frame(request: Request, slot_id: str) -> HTMLResponse:
    """The iframe/noscript fallback: the ad rendered server-side, with its view pixel."""
    params = query_params(request.scope["query_string"])
    served = serve_view(serving_runtime(request), slot_id, params, view_headers(request.scope))
    status = 404 if served.decision.reason == "unknown_slot" else 200
    return HTMLResponse(
        creative_html(request, served), status, headers={"Cache-Control": "no-store"}
    )


def _notes(runtime: ServingRuntime, slot_id: str) -> list[dict[str, Any]]:
    return [
        {
            "at": n.at.isoformat(),
            "filled": n.filled,
            "reason": n.reason,
            "campaign_id": n.campaign_id,
            "creative_id": n.creative_id,
            "pricing": n.pricing,
            "price_micros": n.price_micros,
            "ecpm_micros": n.ecpm_micros,
            "considered": n.considered,
            "failures": dict(n.failures),
            "device": n.device,
            "country": n.country,
        }
        for n in runtime.decisions.recent(slot_id)
    ]


@router.get("/api/v1/slots/{slot_id}/decisions", name="slot_recent_decisions")
def slot_recent_decisions(
    slot_id: str, runtime: Serving, session: DbSession, principal: ApiPrincipal
) -> dict[str, Any]:
    """The slot's last decisions, with no-fill reasons (its owner, risk and admin; 404 for anyone
    else): this process's, or with Redis every serving process's. A slot not served yet has
    none; ``served`` says whether the serving index holds it."""
    readable_slot(session, slot_id, principal.user_id, principal.has_role(*OPERATORS))
    return {
        "slot": slot_id,
        "served": slot_id in runtime.holder.current.slots,
        "decisions": _notes(runtime, slot_id),
    }

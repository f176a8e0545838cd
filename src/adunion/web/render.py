"""Rendering pages: Jinja2 with autoescaping, the CSRF token, and navigation by role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from adunion.kernel.principal import Principal, Role
from adunion.web.csrf import CSRF_COOKIE, form_token, new_csrf_cookie

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str


def navigation(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return [NavItem("Sign in", "/login"), NavItem("Sign up", "/signup")]
    items = [NavItem("Overview", "/")]
    if principal.has_role(Role.WEBMASTER):
        items.append(NavItem("Sites", "/sites"))
    if principal.has_role(Role.ADVERTISER):
        items.append(NavItem("Campaigns", "/campaigns"))
        items.append(NavItem("Find slots", "/inventory/search"))
    if principal.has_role(Role.WEBMASTER, Role.ADVERTISER):
        items.append(NavItem("Wallet", "/wallet"))
    if principal.has_role(*Role):
        items.append(NavItem("Reports", "/reports"))
    if principal.has_role(Role.FINANCE, Role.ADMIN):
        items.append(NavItem("Finance", "/finance"))
    if principal.has_role(Role.RISK, Role.ADMIN):
        items.append(NavItem("Moderation", "/moderation"))
        items.append(NavItem("Risk flags", "/risk/flags"))
        items.append(NavItem("Site review", "/admin/sites"))
    if principal.has_role(Role.ADMIN):
        items.append(NavItem("Users", "/admin/users"))
    items.append(NavItem("Settings", "/settings"))
    return items


def current_section(items: list[NavItem], path: str) -> str | None:
    """The nav entry a page belongs to: its own address, else the longest one it lies under
    (``/campaigns/42``, or ``/wallet/deposits`` when a failed form re-renders the wallet)."""
    if any(item.href == path for item in items):
        return path
    under = [i.href for i in items if i.href != "/" and path.startswith(i.href.rstrip("/") + "/")]
    return max(under, key=len, default=None)


def cookie_secure(request: Request) -> bool:
    mode: str = request.app.state.ctx.settings.cookie_secure
    if mode == "auto":
        return request.url.scheme == "https"
    return mode == "always"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    csrf_cookie = request.cookies.get(CSRF_COOKIE)
    fresh_cookie = csrf_cookie is None
    if csrf_cookie is None:
        csrf_cookie = new_csrf_cookie()
    nav = navigation(principal)
    values: dict[str, Any] = {
        "principal": principal,
        "nav": nav,
        "nav_current": current_section(nav, request.url.path),
        "csrf_token": form_token(request.app.state.ctx.secret_key, csrf_cookie),
        "path": request.url.path,
        **(context or {}),
    }
    response: HTMLResponse = templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )
    response.headers["Cache-Control"] = "no-store"
    if fresh_cookie:
        set_csrf_cookie(request, response, csrf_cookie)
    return response


def set_csrf_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, value, httponly=True, samesite="lax", secure=cookie_secure(request), path="/"
    )


def render_error(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    principal = getattr(request.state, "principal", None)
    return render(
        request,
        "error.html",
        {"status_code": status_code, "message": message},
        status_code=status_code,
        principal=principal,
        headers=headers,
    )

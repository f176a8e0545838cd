"""Who calls: the API caller from its bearer token, the browser from its session cookie, and the
role and scope checks every domain's endpoints and pages declare as dependencies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from adunion.accounts import service
from adunion.http.deps import Context
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Forbidden, Unauthorized
from adunion.kernel.principal import Principal, Role
from adunion.web.render import cookie_secure


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def api_principal(request: Request, ctx: Context) -> Principal:
    """The API caller, from ``Authorization: Bearer <token>``; 401 when absent or invalid."""
    plaintext = _bearer(request)
    if plaintext is None:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    with ctx.database.transaction(write=False) as session:
        found = service.resolve_api_token(session, plaintext)
        if found is None:
            raise Unauthorized("the API token is invalid or revoked")
        user, token = found
        principal = service.principal_for(user, token)
        touch = service.token_needs_touch(token, utcnow())
    if touch:
        with ctx.database.transaction() as session:
            fresh = service.resolve_api_token(session, plaintext)
            if fresh is not None:
                fresh[1].last_used_at = utcnow()
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def api_requires(scope: str, *roles: Role) -> Callable[[Principal], Principal]:
    """A dependency: the API caller must hold ``scope`` and, if given, one of ``roles``."""

    def check(principal: ApiPrincipal) -> Principal:
        if roles and not principal.has_role(*roles):
            raise Forbidden(f"needs one of the roles: {', '.join(sorted(r.value for r in roles))}")
        if not principal.allows(scope):
            raise Forbidden(f"this token lacks the scope {scope}")
        return principal

    return check


# --- browser sessions -----------------------------------------------------------------------

SESSION_COOKIE = "adunion_session"


def optional_web_principal(request: Request, ctx: Context) -> Principal | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    with ctx.database.transaction(write=False) as session:
        user = service.user_for_web_session(session, secret)
        principal = service.principal_for(user) if user is not None else None
    request.state.principal = principal
    return principal


MaybeViewer = Annotated[Principal | None, Depends(optional_web_principal)]


def optional_caller(request: Request, ctx: Context) -> Principal | None:
    """Whoever calls, if anyone says so: an API token (401 when it is invalid), else a browser
    session, else None. For public routes that show more to an object's owner."""
    if _bearer(request) is not None:
        return api_principal(request, ctx)
    return optional_web_principal(request, ctx)


MaybeCaller = Annotated[Principal | None, Depends(optional_caller)]


def web_principal(principal: MaybeViewer) -> Principal:
    """A signed-in browser; anyone else is sent to the sign-in page (see the error handlers)."""
    if principal is None:
        raise Unauthorized("sign in to continue")
    return principal


Viewer = Annotated[Principal, Depends(web_principal)]


def web_requires(*roles: Role) -> Callable[[Principal], Principal]:
    def check(principal: Viewer) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(
                f"this page needs one of the roles: {', '.join(r.value for r in roles)}"
            )
        return principal

    return check


def set_session_cookie(request: Request, response: Response, secret: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")

"""Who is looking at a page: the signed-in browser, from the session cookie."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from adunion.accounts import service
from adunion.accounts.models import Role
from adunion.accounts.principal import Principal
from adunion.http.deps import Context
from adunion.kernel.errors import Forbidden, Unauthorized
from adunion.web.render import cookie_secure

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

"""FastAPI dependencies shared by every domain: the context, the request's unit of work, who calls.

The request owns the transaction: ``DbSession`` opens one (a write transaction for unsafe methods),
commits after the endpoint returns and before the response is sent, and rolls back on any error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from adunion.accounts import service
from adunion.accounts.models import Role
from adunion.accounts.principal import Principal
from adunion.context import AppContext
from adunion.kernel.clock import utcnow
from adunion.kernel.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated[AppContext, Depends(get_context)]


def _unit_of_work(request: Request) -> Iterator[Session]:
    ctx = get_context(request)
    with ctx.database.transaction(write=request.method not in SAFE_METHODS) as session:
        yield session


DbSession = Annotated[Session, Depends(_unit_of_work, scope="function")]


def client_address(request: Request) -> str:
    """The client's address; behind a trusted reverse proxy, the last hop it did not add."""
    peer = request.client.host if request.client else "unknown"
    trusted: frozenset[str] = get_context(request).settings.trusted_proxy_set
    if peer not in trusted:
        return peer
    return forwarded_client(peer, request.headers.get("x-forwarded-for", ""), trusted)


def forwarded_client(peer: str, forwarded_for: str, trusted: frozenset[str]) -> str:
    """The last ``X-Forwarded-For`` hop no trusted proxy added (the peer itself is trusted)."""
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer


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

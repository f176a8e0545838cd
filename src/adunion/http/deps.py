"""FastAPI dependencies shared by every domain: the context, the request's unit of work, the
client's address. Who calls (API tokens, browser sessions) is ``accounts.auth``'s.

The request owns the transaction: ``DbSession`` opens one (a write transaction for unsafe methods),
commits after the endpoint returns and before the response is sent, and rolls back on any error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.types import Scope

from adunion.context import AppContext

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
    return scope_client_address(request.scope, get_context(request).settings.trusted_proxy_set)


def scope_client_address(scope: Scope, trusted: frozenset[str]) -> str:
    """:func:`client_address` from the ASGI scope (the serving fast path has no Request)."""
    client = scope.get("client")
    peer: str = client[0] if client else "unknown"
    if peer not in trusted:
        return peer
    return forwarded_client(peer, forwarded_for(scope), trusted)


def first_header(scope: Scope, name: bytes) -> str:
    """The first value of a (lower-case) header, as Starlette's ``Headers.get`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def forwarded_for(scope: Scope) -> str:
    """Every ``X-Forwarded-For`` line joined in order, as HTTP reads repeated headers: a proxy
    that adds a line of its own (HAProxy does) rather than appending to the client's puts the
    real hop last, and only the first line would be the client's own claim."""
    lines = [value for key, value in scope["headers"] if key == b"x-forwarded-for"]
    return b",".join(lines).decode("latin-1")


def forwarded_client(peer: str, forwarded_for: str, trusted: frozenset[str]) -> str:
    """The right-most ``X-Forwarded-For`` hop that no trusted proxy added (the peer itself is
    trusted). Hops left of it are whatever the client sent, so they are never read; when every
    hop is a trusted proxy, the peer is the answer."""
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer

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

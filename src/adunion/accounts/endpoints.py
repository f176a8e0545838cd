"""REST endpoints for accounts: sign-up, token login, profile, API tokens, operator role admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy.orm import Session

from adunion.accounts import passwords, repository, service
from adunion.accounts.auth import api_requires
from adunion.accounts.models import ApiToken, User
from adunion.accounts.schemas import (
    LoginIn,
    ProfileIn,
    RolesIn,
    SignUpIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    UserOut,
)
from adunion.http.deps import Context, DbSession, client_address
from adunion.http.paging import Paging, paged
from adunion.kernel.errors import NotFound, Unauthorized
from adunion.kernel.paging import fetch_page
from adunion.kernel.principal import Principal, Role
from adunion.kernel.tenancy import get_owned

router = APIRouter(prefix="/api/v1", tags=["accounts"])

CanReadAccount = Annotated[Principal, Depends(api_requires("account:read"))]
CanWriteAccount = Annotated[Principal, Depends(api_requires("account:write"))]
IsUserAdmin = Annotated[Principal, Depends(api_requires("users:admin", Role.ADMIN))]


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=sorted(role.value for role in user.roles),
        is_active=user.is_active,
        created_at=user.created_at,
    )


def token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scopes=sorted(token.scope_set),
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


def _current_user(session: DbSession, principal: Principal) -> User:
    user = repository.user_by_id(session, principal.user_id)
    if user is None:
        raise Unauthorized("the account no longer exists")
    return user


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, operation_id="sign_up")
def sign_up(body: SignUpIn, ctx: Context) -> UserOut:
    """Create an account as webmaster and/or advertiser."""
    return passwords.sign_up(
        ctx.database,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        roles=[Role(r) for r in body.roles],
        then=lambda _session, user: user_out(user),
    )


@router.post("/auth/login", status_code=status.HTTP_201_CREATED, operation_id="log_in")
def log_in(body: LoginIn, request: Request, ctx: Context) -> TokenCreatedOut:
    """Exchange e-mail and password for a new scoped API token (rate-limited per address and
    per account)."""

    def new_token(session: Session, user: User) -> TokenCreatedOut:
        token, plaintext = service.create_api_token(
            session, user, name=body.token_name, scopes=body.scopes
        )
        return TokenCreatedOut(**token_out(token).model_dump(), token=plaintext)

    return passwords.sign_in(
        ctx,
        address=client_address(request),
        email=body.email,
        password=body.password,
        then=new_token,
    )


@router.get("/me", operation_id="get_me")
def get_me(session: DbSession, principal: CanReadAccount) -> UserOut:
    return user_out(_current_user(session, principal))


@router.patch("/me", operation_id="update_me")
def update_me(body: ProfileIn, session: DbSession, principal: CanWriteAccount) -> UserOut:
    user = _current_user(session, principal)
    service.update_profile(user, display_name=body.display_name)
    return user_out(user)


@router.get("/tokens", operation_id="list_tokens")
def list_tokens(session: DbSession, principal: CanReadAccount) -> list[TokenOut]:
    return [token_out(t) for t in service.list_api_tokens(session, principal.user_id)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, operation_id="create_token")
def create_token(
    body: TokenCreateIn, session: DbSession, principal: CanWriteAccount
) -> TokenCreatedOut:
    """Create a scoped token. The secret is in this answer only; it is stored hashed."""
    user = _current_user(session, principal)
    token, plaintext = service.create_api_token(session, user, name=body.name, scopes=body.scopes)
    return TokenCreatedOut(**token_out(token).model_dump(), token=plaintext)


@router.get("/tokens/{token_id}", operation_id="get_token")
def get_token(token_id: str, session: DbSession, principal: CanReadAccount) -> TokenOut:
    return token_out(get_owned(session, ApiToken, token_id, principal.user_id))


@router.delete("/tokens/{token_id}", operation_id="revoke_token")
def revoke_token(token_id: str, session: DbSession, principal: CanWriteAccount) -> TokenOut:
    return token_out(service.revoke_api_token(session, principal.user_id, token_id))


@router.get("/admin/users", operation_id="list_users", tags=["operators"])
def list_users(
    session: DbSession, _admin: IsUserAdmin, page: Paging, response: Response
) -> list[UserOut]:
    """Every account, the oldest first, a page at a time (``X-Total-Count``: how many in all)."""
    query = repository.all_users_query()
    return [user_out(u) for u in paged(response, fetch_page(session, query, page))]


@router.put("/admin/users/{user_id}/roles", operation_id="set_user_roles", tags=["operators"])
def set_user_roles(user_id: str, body: RolesIn, session: DbSession, _admin: IsUserAdmin) -> UserOut:
    user = repository.user_by_id(session, user_id)
    if user is None:
        raise NotFound("user not found")
    return user_out(service.set_roles(session, user, [Role(r) for r in body.roles]))

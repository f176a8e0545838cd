"""Account pages: sign-up, sign-in, sign-out, settings with API tokens, user admin.

Pages call the same services as the API; every POST is CSRF-checked before it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from adunion.accounts import passwords, repository, service
from adunion.accounts.auth import (
    SESSION_COOKIE,
    MaybeViewer,
    Viewer,
    clear_session_cookie,
    set_session_cookie,
    web_requires,
)
from adunion.accounts.models import User
from adunion.accounts.schemas import (
    PasswordChangeIn,
    ProfileIn,
    RolesIn,
    SignUpIn,
    TokenCreateIn,
)
from adunion.accounts.scopes import SCOPES
from adunion.http.deps import Context, DbSession, client_address
from adunion.kernel.errors import AppError, NotFound, Unauthorized, ValidationFailed
from adunion.kernel.principal import Principal, Role
from adunion.web.csrf import new_csrf_cookie, verify_csrf
from adunion.web.forms import validate_form
from adunion.web.paging import paged_list
from adunion.web.render import render, set_csrf_cookie

router = APIRouter(include_in_schema=False, dependencies=[])
Csrf = Depends(verify_csrf)
Admin = Annotated[Principal, Depends(web_requires(Role.ADMIN))]


async def _form(request: Request) -> dict[str, Any]:
    """The posted fields: awaited here, on the event loop, so the handlers can be plain ``def``
    (run in the thread pool: they query the database or hash passwords)."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        data[key] = values if key in ("roles", "scopes") else (values[0] if values else "")
    data.pop("csrf_token", None)
    return data


FormData = Annotated[dict[str, Any], Depends(_form)]


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so ?next= cannot become an open redirect."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/signup")
def signup_page(request: Request, viewer: MaybeViewer) -> Response:
    if viewer is not None:
        return _see_other("/")
    return render(request, "signup.html", {"values": {"roles": ["webmaster"]}, "errors": {}})


@router.post("/signup", dependencies=[Csrf])
def signup_submit(request: Request, ctx: Context, data: FormData) -> Response:
    data.setdefault("roles", [])
    body, errors = validate_form(SignUpIn, data)
    if body is None:
        values = {k: v for k, v in data.items() if k != "password"}
        return render(request, "signup.html", {"values": values, "errors": errors}, status_code=422)
    try:
        secret = passwords.sign_up(
            ctx.database,
            email=body.email,
            password=body.password,
            display_name=body.display_name,
            roles=[Role(r) for r in body.roles],
            then=_web_session(request, ctx),
        )
    except AppError as exc:
        errors = {f.field: f.message for f in exc.fields} or {"form": exc.message}
        values = {k: v for k, v in data.items() if k != "password"}
        return render(
            request,
            "signup.html",
            {"values": values, "errors": errors},
            status_code=exc.status_code,
        )
    response = _see_other("/")
    _start_signed_in(request, response, secret, ctx.settings.session_max_age_seconds)
    return response


def _web_session(request: Request, ctx: Context) -> Callable[[Session, User], str]:
    """Opens the browser session (in the sign-up's or sign-in's write transaction)."""

    def open_session(session: Session, user: User) -> str:
        return service.open_web_session(
            session,
            user,
            max_age_seconds=ctx.settings.session_max_age_seconds,
            user_agent=request.headers.get("user-agent", ""),
        )

    return open_session


def _start_signed_in(request: Request, response: Response, secret: str, max_age: int) -> None:
    set_session_cookie(request, response, secret, max_age)
    # A new CSRF secret at sign-in, so a token planted before sign-in is worthless after it.
    set_csrf_cookie(request, response, new_csrf_cookie())


@router.get("/login")
def login_page(request: Request, viewer: MaybeViewer, next: str = "/") -> Response:
    if viewer is not None:
        return _see_other(_safe_next(next))
    return render(request, "login.html", {"values": {}, "errors": {}, "next": _safe_next(next)})


@router.post("/login", dependencies=[Csrf])
def login_submit(request: Request, ctx: Context, data: FormData) -> Response:
    next_url = _safe_next(str(data.get("next") or "/"))
    email = str(data.get("email", "")).strip().lower()
    password = str(data.get("password", ""))
    try:
        secret = passwords.sign_in(
            ctx,
            address=client_address(request),
            email=email,
            password=password,
            then=_web_session(request, ctx),
        )
    except Unauthorized as exc:
        return render(
            request,
            "login.html",
            {"values": {"email": email}, "errors": {"form": exc.message}, "next": next_url},
            status_code=401,
        )
    response = _see_other(next_url)
    _start_signed_in(request, response, secret, ctx.settings.session_max_age_seconds)
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, session: DbSession) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        service.close_web_session(session, secret)
    response = _see_other("/login")
    clear_session_cookie(response)
    return response


def _settings_page(
    request: Request,
    session: DbSession,
    viewer: Principal,
    *,
    new_token: str | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    user = repository.user_by_id(session, viewer.user_id)
    return render(
        request,
        "settings.html",
        {
            "user": user,
            "tokens": service.list_api_tokens(session, viewer.user_id),
            "scopes": SCOPES,
            "new_token": new_token,
            "errors": errors or {},
            "notice": notice,
        },
        principal=viewer,
        status_code=status_code,
    )


@router.get("/settings")
def settings_page(request: Request, session: DbSession, viewer: Viewer) -> Response:
    return _settings_page(request, session, viewer)


@router.post("/settings/profile", dependencies=[Csrf])
def settings_profile(
    request: Request, session: DbSession, viewer: Viewer, data: FormData
) -> Response:
    body, errors = validate_form(ProfileIn, data)
    if body is None:
        return _settings_page(request, session, viewer, errors=errors, status_code=422)
    user = repository.user_by_id(session, viewer.user_id)
    assert user is not None
    service.update_profile(user, display_name=body.display_name)
    return _settings_page(request, session, viewer, notice="Profile saved.")


@router.post("/settings/password", dependencies=[Csrf])
def settings_password(request: Request, ctx: Context, viewer: Viewer, data: FormData) -> Response:
    """No transaction is open while argon2 runs (see ``accounts.passwords``)."""
    body, errors = validate_form(PasswordChangeIn, data)
    notice = None
    status_code = 422
    if body is not None:
        try:
            passwords.change_password(
                ctx.database, viewer.user_id, current=body.current_password, new=body.new_password
            )
            notice, status_code = "Password changed.", 200
        except AppError as exc:
            errors, status_code = {f.field: f.message for f in exc.fields}, exc.status_code
    with ctx.database.transaction(write=False) as session:
        return _settings_page(
            request, session, viewer, errors=errors, notice=notice, status_code=status_code
        )


@router.post("/settings/tokens", dependencies=[Csrf])
def settings_create_token(
    request: Request, session: DbSession, viewer: Viewer, data: FormData
) -> Response:
    data.setdefault("scopes", [])
    body, errors = validate_form(TokenCreateIn, data)
    user = repository.user_by_id(session, viewer.user_id)
    assert user is not None
    if body is None:
        return _settings_page(request, session, viewer, errors=errors, status_code=422)
    try:
        _token, plaintext = service.create_api_token(
            session, user, name=body.name, scopes=body.scopes
        )
    except AppError as exc:
        errors = {f.field: f.message for f in exc.fields}
        return _settings_page(request, session, viewer, errors=errors, status_code=exc.status_code)
    return _settings_page(request, session, viewer, new_token=plaintext)


@router.post("/settings/tokens/{token_id}/revoke", dependencies=[Csrf])
def settings_revoke_token(
    token_id: str, request: Request, session: DbSession, viewer: Viewer
) -> Response:
    service.revoke_api_token(session, viewer.user_id, token_id)
    return _see_other("/settings#tokens")


@router.get("/admin/users")
def admin_users(request: Request, session: DbSession, admin: Admin) -> Response:
    users, pager = paged_list(request, session, repository.all_users_query())
    return render(
        request,
        "admin_users.html",
        {"users": users, "pager": pager, "roles": [r.value for r in Role]},
        principal=admin,
    )


@router.post("/admin/users/{user_id}/roles", dependencies=[Csrf])
def admin_set_roles(user_id: str, session: DbSession, admin: Admin, data: FormData) -> Response:
    body, errors = validate_form(RolesIn, {"roles": data.get("roles", [])})
    if body is None:
        raise ValidationFailed.on("roles", errors.get("roles", "invalid role"))
    user = repository.user_by_id(session, user_id)
    if user is None:
        raise NotFound("user not found")
    service.set_roles(session, user, [Role(r) for r in body.roles])
    return _see_other("/admin/users")

"""CSRF protection for forms: a signed double-submit token.

Every visitor gets a random ``adunion_csrf`` cookie. Forms carry ``csrf_token`` = that value plus
an HMAC of it under the secret key, so an attacker who can plant a cookie still cannot mint a
matching form token. A POST without a matching pair is refused with 403 before anything runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from adunion.kernel.errors import Forbidden

CSRF_COOKIE = "adunion_csrf"
CSRF_FIELD = "csrf_token"


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def form_token(secret_key: str, cookie_value: str) -> str:
    mac = hmac.new(secret_key.encode(), f"csrf:{cookie_value}".encode(), hashlib.sha256)
    return f"{cookie_value}.{mac.hexdigest()}"


def token_matches(secret_key: str, cookie_value: str | None, submitted: str | None) -> bool:
    if not cookie_value or not submitted:
        return False
    return hmac.compare_digest(form_token(secret_key, cookie_value), submitted)


async def verify_csrf(request: Request) -> None:
    """A dependency for every form POST."""
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    secret_key: str = request.app.state.ctx.secret_key
    if not token_matches(
        secret_key,
        request.cookies.get(CSRF_COOKIE),
        submitted if isinstance(submitted, str) else None,
    ):
        raise Forbidden("the form's CSRF token is missing or invalid; reload the page and retry")
